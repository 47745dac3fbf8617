"""DR plans as data: one file per service in `backup/dr/` (beside the backup policy,
which the house plan gives DR plans too).

    plan:
      service: core records
      databases:                    # each pair: the primary site's server, the DR site's
        - {primary: core-pg-01, standby: dr-pg-01, mode: synchronous}
      replication: {account: mzops_replication, credentials: "vault:...#password"}
      steps:                        # priority groups 1-5, in order; `after` within them
        - {name: preflight, kind: preflight, group: 1}
        - {name: fence, kind: fence, group: 1, after: [preflight], confirm: "Stop the primary?"}
        - {name: promote, kind: promote, group: 2, timeout: 60}

A step's own keys (beyond name, kind, group, after, timeout, confirm) are its kind's
parameters, checked by that kind (mzops/dr/steps/KIND.py). Validated like the inventory:
the first problem as `FILE:LINE: key: what is wrong`, exit 2, nothing run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mzops import yamlfile
from mzops.backup.policy import NAME, folder_of, size
from mzops.dr import steps as step_kinds
from mzops.errors import InputError
from mzops.inventory.model import CREDENTIAL_REF, Estate

FOLDER = "dr"
COMMON = ("name", "kind", "group", "after", "timeout", "confirm")
# The order a failover needs whatever else a plan does: the old primary fenced before
# anything is promoted, and checked before it is fenced.
REQUIRED_ORDER = ("preflight", "fence", "promote")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Pair(_Strict):
    primary: str                 # the database asset at the primary site
    standby: str                 # its replica at the DR site
    mode: Literal["asynchronous", "synchronous"] = "asynchronous"


class Replication(_Strict):
    account: str = Field("mzops_replication", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    credentials: str             # a reference to the account's password (never the password)
    wal_keep: str = "2GB"        # WAL the primary keeps for a standby that falls behind
    max_lag_bytes: int = 16 * 1024 ** 2   # a planned failover refuses a standby further behind (WAL)
    max_lag_transactions: int = Field(1000, ge=0)   # the same for engines counting transactions (GTID)

    @field_validator("credentials")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not CREDENTIAL_REF.match(value):
            raise ValueError("a credential reference (vault:PATH#FIELD, env:NAME, ansible-vault:FILE#KEY), "
                             "never the password")
        return value

    @field_validator("wal_keep")
    @classmethod
    def _keep(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(kB|MB|GB|TB)", value):
            raise ValueError("a size as PostgreSQL writes it: 512MB, 2GB")
        return value

    @field_validator("max_lag_bytes", mode="before")
    @classmethod
    def _lag(cls, value: Any) -> int:
        return size(value)


class StepSpec(_Strict):
    name: str = Field(pattern=NAME)
    kind: str
    group: int = Field(1, ge=1, le=5)
    after: list[str] = []
    timeout: float = Field(300, gt=0, le=86400)   # seconds
    confirm: str | None = None                     # a question a person answers (or --yes)


@dataclass
class Step:
    spec: StepSpec
    params: BaseModel
    module: Any

    @property
    def name(self) -> str:
        return self.spec.name


class PlanSpec(_Strict):
    service: str
    description: str = ""
    databases: list[Pair] = Field(min_length=1)
    replication: Replication
    steps: list[dict] = Field(min_length=1)


@dataclass
class Plan:
    name: str
    path: Path
    spec: PlanSpec
    steps: list[Step]               # in the order they run
    source: yamlfile.Located

    @property
    def pairs(self) -> list[Pair]:
        return self.spec.databases


def folder(inventory: Path) -> Path:
    return folder_of(inventory) / FOLDER


def names(inventory: Path) -> list[str]:
    base = folder(inventory)
    return sorted(p.stem for p in base.glob("*.yml")) if base.is_dir() else []


def load_all(inventory: Path, estate: Estate | None = None) -> dict[str, Plan]:
    return {name: load(inventory, name, estate) for name in names(inventory)}


def load(inventory: Path, name: str, estate: Estate | None = None) -> Plan:
    path = folder(inventory) / f"{name}.yml"
    if not path.is_file():
        known = names(inventory)
        raise InputError(f"no DR plan {name!r} in {folder(inventory)} "
                         f"({'plans: ' + ', '.join(known) if known else 'no plans there'})")
    return _load_file(path, name, estate)


def pair_of(backup_folder: Path, asset: str, estate: Estate) -> tuple[Plan, Pair] | None:
    """The DR plan and pair whose primary is the database ASSET, from the plans of
    BACKUP_FOLDER (the backup policy's folder); None when no plan pairs it."""
    base = backup_folder / FOLDER
    for path in sorted(base.glob("*.yml")) if base.is_dir() else []:
        plan = _load_file(path, path.stem, estate)
        for pair in plan.pairs:
            if pair.primary == asset:
                return plan, pair
    return None


def _load_file(path: Path, name: str, estate: Estate | None) -> Plan:
    if not re.match(NAME, name):
        raise InputError(f"{path}: a plan's file name is letters, digits, '.', '_' and '-'")
    doc = yamlfile.load(path)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict) or set(data) != {"plan"}:
        raise doc.error((), "expected one top-level key, plan")
    try:
        spec = PlanSpec.model_validate(data["plan"])
    except ValidationError as exc:
        err = exc.errors()[0]
        raise doc.error(("plan", *err["loc"]), err["msg"].replace("Value error, ", "")) from None
    steps = _steps(doc, spec)
    if estate is not None:
        _check_estate(doc, spec, estate)
    return Plan(name, path, spec, steps, doc)


def _steps(doc: yamlfile.Located, spec: PlanSpec) -> list[Step]:
    kinds = step_kinds.known()
    found: dict[str, Step] = {}
    for index, raw in enumerate(spec.steps):
        where = ("plan", "steps", index)
        if not isinstance(raw, dict):
            raise doc.error(where, "a step is a mapping (name, kind, group, ...)")
        common = {k: v for k, v in raw.items() if k in COMMON}
        try:
            step = StepSpec.model_validate(common)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise doc.error((*where, *err["loc"]), err["msg"].replace("Value error, ", "")) from None
        if step.kind not in kinds:
            raise doc.error((*where, "kind"), f"no step kind {step.kind!r} ({', '.join(sorted(kinds))})")
        if step.name in found:
            raise doc.error((*where, "name"), f"a second step named {step.name!r}")
        module = kinds[step.kind]
        try:
            params = module.Params.model_validate({k: v for k, v in raw.items() if k not in COMMON})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise doc.error((*where, *err["loc"]), err["msg"].replace("Value error, ", "")) from None
        found[step.name] = Step(step, params, module)
    for index, step in enumerate(found.values()):
        for before in step.spec.after:
            if before not in found:
                raise doc.error(("plan", "steps", index, "after"), f"no step named {before!r}")
            if found[before].spec.group > step.spec.group:
                raise doc.error(("plan", "steps", index, "after"), f"{before!r} is in a later priority group "
                                f"({found[before].spec.group})")
    ordered = _ordered(doc, list(found.values()))
    kinds_in_order = [s.spec.kind for s in ordered]
    for need in REQUIRED_ORDER:
        if need not in kinds_in_order:
            raise doc.error(("plan", "steps"), f"a plan has a {need} step (every failover checks, fences the "
                                               "old primary, then promotes, in that order)")
    firsts = [kinds_in_order.index(k) for k in REQUIRED_ORDER]
    if firsts != sorted(firsts):
        raise doc.error(("plan", "steps"), "preflight, fence and promote run in that order (priority groups "
                                           "and after); here they do not")
    return ordered


def _ordered(doc: yamlfile.Located, steps: list[Step]) -> list[Step]:
    """By priority group, then dependencies (a step after those it names), then as written."""
    out: list[Step] = []
    for group in range(1, 6):
        left = [s for s in steps if s.spec.group == group]
        while left:
            done = {s.name for s in out}
            ready = [s for s in left if all(b in done for b in s.spec.after)]
            if not ready:
                index = steps.index(left[0])
                raise doc.error(("plan", "steps", index, "after"), "steps that wait for each other: "
                                + ", ".join(s.name for s in left))
            out.append(ready[0])
            left.remove(ready[0])
    return out


def _check_estate(doc: yamlfile.Located, spec: PlanSpec, estate: Estate) -> None:
    from mzops import engines
    seen: set[str] = set()
    for index, pair in enumerate(spec.databases):
        for side in ("primary", "standby"):
            name = getattr(pair, side)
            where = ("plan", "databases", index, side)
            asset = estate.assets.get(name)
            if asset is None or asset.kind != "database":
                raise doc.error(where, f"{name!r} is no database asset of {estate.source}")
            if name in seen:
                raise doc.error(where, f"{name} is in two pairs")
            seen.add(name)
            engine = engines.known().get(asset.db_engine or "")
            if engine is None or engine.replication_facts is None:
                raise doc.error(where, f"{name}: mzops has no replication for database engine "
                                       f"{asset.db_engine!r} yet")
            if not asset.db_server or asset.db_server not in estate.assets:
                raise doc.error(where, f"{name}: no mzops_db_server (the host it runs on): replication is "
                                       "set up and switched there")
            if not asset.address:
                raise doc.error(where, f"{name}: no ansible_host: the other side connects to that address")
        primary, standby = estate.assets[pair.primary], estate.assets[pair.standby]
        if pair.mode == "synchronous" and not engines.get(primary.db_engine).synchronous:
            raise doc.error(("plan", "databases", index, "mode"), f"synchronous replication is not built for "
                                                                  f"{primary.db_engine} yet: asynchronous")
        if primary.db_engine != standby.db_engine:
            raise doc.error(("plan", "databases", index), f"{pair.primary} is {primary.db_engine}, "
                                                          f"{pair.standby} is {standby.db_engine}")
        if primary.site == standby.site:
            raise doc.error(("plan", "databases", index, "standby"), f"{pair.standby} is at the same site as "
                            f"{pair.primary} ({primary.site}): a DR standby is at the other site")
