"""Backup policy as data: the `backup/` folder beside the inventory.

    backup/libraries.yml  libraries: {NAME: {site, kind: mtx|file, changer, drives, spool, ...}}
    backup/pools.yml      pools: {NAME: {library, media, label, block_size, scratch, copy_to}}
    backup/jobs.yml       jobs: {NAME: {kind, assets, paths, exclude, pool, levels, retention, encryption,
                                        drill_host, read_from}}

A job backs up files (`kind: files`, the default: GNU tar on hosts) or databases
(`kind: database`: the engine's own tools on the server's host, a full every
`full_every_days` and the archived logs with every run, for point-in-time restore).

Retention is said the way operators say it: `restorable_days: 35` keeps every volume a
restore to any day within 35 days needs (a chain's full and levels included),
`monthly_fulls_years: 3` keeps the first full of each month that long. Levels:
`full_every_days: 7` forces a full after 7 days; `differential: true` makes the days
between fulls differentials (against the last full) instead of incrementals.

Validated like the inventory: the first problem as `FILE:LINE: key: what is wrong`,
exit 2, nothing run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mzops import yamlfile
from mzops.errors import InputError
from mzops.inventory.model import CREDENTIAL_REF, Estate

FOLDER = "backup"
UNITS = {"": 1, "b": 1, "kib": 1024, "k": 1024, "mib": 1024 ** 2, "m": 1024 ** 2, "gib": 1024 ** 3, "g": 1024 ** 3}
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


def size(value: Any) -> int:
    """Bytes of `262144`, `256KiB`, `1MiB`."""
    found = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", str(value))
    if not found or found.group(2).lower() not in UNITS:
        raise ValueError(f"not a size: {value!r} (bytes, or a number with KiB, MiB, GiB)")
    return int(found.group(1)) * UNITS[found.group(2).lower()]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpoolSpec(_Strict):
    """A folder on the backup server streams are spooled through on their way to tape."""
    directory: str
    segment_size: int = 8 * 1024 ** 3       # written to tape, as one part, when full
    clients: int = Field(4, ge=1, le=64)    # how many clients spool at once

    @field_validator("segment_size", mode="before")
    @classmethod
    def _segment(cls, value: Any) -> int:
        found = size(value)
        if found < 1024 ** 2:
            raise ValueError(f"{value!r}: a spool segment is at least 1MiB")
        return found

    @field_validator("directory")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r}: an absolute path on the backup server")
        return value


class LibrarySpec(_Strict):
    site: str
    kind: Literal["mtx", "file"]
    changer: str | None = None              # mtx: /dev/sg4 or /dev/changer
    drives: list[str] | int                 # mtx: ["/dev/nst0", ...]; file: how many
    path: str | None = None                 # file: the library's folder
    slots: int | None = Field(None, ge=1)   # file: storage slots
    ie: int = Field(0, ge=0)                # file: import/export slots
    spool: SpoolSpec | None = None          # none: streams go straight to the drive

    @property
    def drive_count(self) -> int:
        return len(self.drives) if isinstance(self.drives, list) else self.drives

    @field_validator("drives")
    @classmethod
    def _drives(cls, value: Any) -> Any:
        if isinstance(value, list):
            for device in value:
                if not re.fullmatch(r"/dev/nst\d+", device):
                    raise ValueError(f"{device!r}: give the non-rewinding device (/dev/nstN): a rewinding "
                                     "/dev/stN would rewind after every tape file and the next would overwrite it")
        elif value < 1:
            raise ValueError("at least one drive")
        return value


class PoolSpec(_Strict):
    library: str
    media: str = "LTO-8"
    label: str = Field(pattern=r"^[A-Z0-9]*\{n(:0?\d+d)?\}[A-Z0-9]*$")    # "DAY{n:03d}L8"
    block_size: int = 1024 ** 2
    scratch: str | None = None              # the pool new volumes are taken from
    copy_to: str | None = None              # a pool of another library every run is copied to

    @field_validator("block_size", mode="before")
    @classmethod
    def _block(cls, value: Any) -> int:
        found = size(value)
        if found % 512 or not 32 * 1024 <= found <= 16 * 1024 ** 2:
            raise ValueError(f"{value!r}: a block size is a multiple of 512 from 32KiB to 16MiB")
        return found


class Levels(_Strict):
    full_every_days: int = Field(7, ge=1, le=366)
    differential: bool = False


class Retention(_Strict):
    restorable_days: int = Field(ge=1, le=3660)
    monthly_fulls_years: int = Field(0, ge=0, le=30)


class Encryption(_Strict):
    key: str                                # a credential reference, never the key

    @field_validator("key")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not CREDENTIAL_REF.match(value):
            raise ValueError("a reference to where the key lives (vault:PATH#FIELD, env:NAME), never the key")
        return value


class JobSpec(_Strict):
    kind: Literal["files", "database"] = "files"
    assets: list[str] = Field(min_length=1)     # asset names or inventory groups
    paths: list[str] = []
    exclude: list[str] = []
    pool: str
    levels: Levels = Levels()
    retention: Retention
    encryption: Encryption | None = None
    drill_host: str | None = None               # database jobs: the host `backup drill` restores onto
    # database jobs: where the full and the drills' table checksums are read. standby: the
    # DR plan's standby of the asset when it is current (no load on the primary), else the
    # primary, said in the run's outcome; primary: always the primary. Logs always come
    # from the primary's archive.
    read_from: Literal["standby", "primary"] = "standby"

    @field_validator("paths")
    @classmethod
    def _absolute(cls, value: list[str]) -> list[str]:
        for path in value:
            if not path.startswith("/") or "\n" in path:
                raise ValueError(f"{path!r}: an absolute path on the asset")
        return value

    @model_validator(mode="after")
    def _kind(self) -> "JobSpec":
        if self.kind == "files" and not self.paths:
            raise ValueError("a files job names its paths")
        if self.kind == "files" and "read_from" in self.model_fields_set:
            raise ValueError("read_from is for database jobs: files are read on their asset")
        if self.kind == "database" and (self.paths or self.exclude or self.levels.differential):
            raise ValueError("a database job has no paths, excludes or differentials: the engine backs up the "
                             "whole server, a full and then its archived logs")
        return self


class Policy:
    def __init__(self, folder: Path, libraries: dict[str, LibrarySpec], pools: dict[str, PoolSpec],
                 jobs: dict[str, JobSpec], sources: dict[str, yamlfile.Located]):
        self.folder, self.libraries, self.pools, self.jobs, self.sources = folder, libraries, pools, jobs, sources

    def parallel(self, jobs: list[str]) -> int:
        """How many of JOBS run at once: one per drive of the libraries they write to; with
        a spool, as many clients as it takes (they fill segments while others go to tape)."""
        libraries = {self.pools[self.jobs[name].pool].library for name in jobs}
        return sum(self.libraries[lib].spool.clients if self.libraries[lib].spool else self.libraries[lib].drive_count
                   for lib in libraries)


def folder_of(inventory: Path) -> Path:
    return (inventory if inventory.is_dir() else inventory.parent).parent / FOLDER


def _section(folder: Path, name: str, model: type[BaseModel]) -> tuple[dict, yamlfile.Located | None]:
    path = folder / f"{name}.yml"
    if not path.is_file():
        return {}, None
    doc = yamlfile.load(path)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict) or set(data) - {name}:
        raise doc.error((), f"expected one top-level key, {name}")
    entries = data.get(name) or {}
    if not isinstance(entries, dict):
        raise doc.error((name,), "expected a mapping of names")
    out = {}
    for key, value in entries.items():
        if not re.match(NAME, str(key)):
            raise doc.error((name, key), "a name of letters, digits, '.', '_' and '-'")
        try:
            out[str(key)] = model.model_validate(value)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise doc.error((name, key, *err["loc"]), err["msg"].replace("Value error, ", "")) from None
    return out, doc


def _wrong_asset(estate: Estate, names: list[str], kind: str) -> str | None:
    """Why one of NAMES cannot be backed up by a job of KIND (None: all can)."""
    from mzops import engines
    for name in names:
        asset = estate.assets[name]
        if kind == "files" and asset.kind != "host":
            return f"{name} is a {asset.kind}: file jobs back up hosts (kind: database for a database)"
        if kind == "database":
            if asset.kind != "database":
                return f"{name} is a {asset.kind}: a database job backs up databases"
            engine = engines.known().get(asset.db_engine or "")
            if engine is None or engine.full_backup is None:
                return f"{name}: mzops has no backup for database engine {asset.db_engine!r} yet"
            if not asset.db_server or asset.db_server not in estate.assets:
                return (f"{name}: no mzops_db_server (the inventory host it runs on): its backup runs there, "
                        "with the engine's own tools")
    return None


def load(folder: Path, estate: Estate | None = None) -> Policy:
    """The policy in FOLDER, checked against itself and (when given) the estate."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no backup policy folder (libraries.yml, pools.yml, jobs.yml)")
    libraries, ldoc = _section(folder, "libraries", LibrarySpec)
    pools, pdoc = _section(folder, "pools", PoolSpec)
    jobs, jdoc = _section(folder, "jobs", JobSpec)
    for name, lib in libraries.items():
        if lib.kind == "mtx" and (not lib.changer or not isinstance(lib.drives, list)):
            raise ldoc.error(("libraries", name), "an mtx library names its changer device and its drives "
                                                  "(/dev/nstN)")
        if lib.kind == "file" and (not lib.path or not isinstance(lib.drives, int) or not lib.slots):
            raise ldoc.error(("libraries", name), "a file library has a path, a number of drives and slots")
        if estate is not None and estate.sites and lib.site not in estate.sites:
            raise ldoc.error(("libraries", name, "site"), f"unknown site {lib.site!r} (sites: "
                                                          f"{', '.join(sorted(estate.sites))})")
    for name, pool in pools.items():
        if pool.library not in libraries:
            raise pdoc.error(("pools", name, "library"), f"no library {pool.library!r} in libraries.yml")
        if pool.scratch is not None and pool.scratch not in pools:
            raise pdoc.error(("pools", name, "scratch"), f"no pool {pool.scratch!r}")
        if pool.copy_to is not None:
            if pool.copy_to not in pools:
                raise pdoc.error(("pools", name, "copy_to"), f"no pool {pool.copy_to!r}")
            if pools[pool.copy_to].library == pool.library:
                raise pdoc.error(("pools", name, "copy_to"), f"{pool.copy_to!r} is in {pool.library} too: the "
                                 "copy goes to another library (the DR site's)")
    for name, job in jobs.items():
        if job.pool not in pools:
            raise jdoc.error(("jobs", name, "pool"), f"no pool {job.pool!r} in pools.yml")
        if job.drill_host is not None:
            if job.kind != "database":
                raise jdoc.error(("jobs", name, "drill_host"), "files are drilled on the backup server: "
                                 "drill_host is for database jobs")
            if estate is not None and (job.drill_host not in estate.assets
                                       or estate.assets[job.drill_host].kind != "host"):
                raise jdoc.error(("jobs", name, "drill_host"), f"{job.drill_host!r} is no host of {estate.source}")
        if estate is not None:
            for index, target in enumerate(job.assets):
                found = sorted(estate.expand([target]))
                if not found:
                    raise jdoc.error(("jobs", name, "assets", index), f"{target!r} is no asset or group of "
                                                                      f"{estate.source}")
                wrong = _wrong_asset(estate, found, job.kind)
                if wrong:
                    raise jdoc.error(("jobs", name, "assets", index), wrong)
    return Policy(folder, libraries, pools, jobs, {k: v for k, v in (("libraries", ldoc), ("pools", pdoc),
                                                                      ("jobs", jdoc)) if v is not None})
