"""One backup job on this machine for tests: a file-backed library with cartridges, the
policy naming it, a catalogue, and the engine's LocalTarget (real GNU tar, no ssh)."""

from __future__ import annotations

from pathlib import Path

from mzops.backup import engine
from mzops.backup.catalogue import Catalogue
from mzops.backup.policy import JobSpec, LibrarySpec, Policy, PoolSpec
from mzops.backup.tape.filelibrary import FileLibrary


def local_job(work: Path, paths: list[str], cartridges: dict[str, dict] | None = None, slots: int = 4, ie: int = 0,
              drives: int = 1, spool: dict | None = None, **job) -> tuple[Policy, Catalogue, engine.LocalTarget]:
    """Job `j` on asset `h` backing up PATHS to pool `p` of library `lib` under WORK
    (with DRIVES drives, through SPOOL: {directory, segment_size} when given)."""
    lib = FileLibrary.create(work / "lib", drives=drives, slots=slots, ie=ie)
    for slot, (barcode, settings) in enumerate((cartridges or {"P001": {"capacity": 500_000_000}}).items(), 1):
        lib.add_cartridge(slot, barcode, **settings)
    policy = Policy(work, {"lib": LibrarySpec(site="primary", kind="file", path=str(work / "lib"), drives=drives,
                                              slots=slots, ie=ie, spool=spool)},
                    {"p": PoolSpec(library="lib", label="P{n:03d}", block_size=32 * 1024)},
                    {"j": JobSpec(assets=["h"], paths=paths, pool="p",
                                  **{"retention": {"restorable_days": 35}, **job})}, {})
    return policy, Catalogue(f"sqlite:///{work}/catalogue.sqlite"), engine.LocalTarget("h", str(work / "state"))


def database_job(work: Path, engine_name: str, port: int, job: str, capacity: int = 2_000_000_000,
                 block_size: int = 256 * 1024):
    """Database job JOB backing up asset `db` (ENGINE_NAME on PORT, on host `h`) to pool `p`
    of a one-drive library under WORK: (policy, estate, catalogue)."""
    from mzops.inventory.model import Asset, Estate
    lib = FileLibrary.create(work / "lib", drives=1, slots=4)
    lib.add_cartridge(1, "P001", capacity=capacity)
    lib.add_cartridge(2, "P002", capacity=capacity)
    policy = Policy(work, {"lib": LibrarySpec(site="primary", kind="file", path=str(work / "lib"), drives=1,
                                              slots=4)},
                    {"p": PoolSpec(library="lib", label="P{n:03d}", block_size=block_size)},
                    {job: JobSpec(kind="database", assets=["db"], pool="p", retention={"restorable_days": 35})}, {})
    estate = Estate("test", {"db": Asset("db", "database", "core", "primary", db_engine=engine_name, db_port=port,
                                         db_server="h"),
                             "h": Asset("h", "host", "core", "primary")}, {}, {}, {})
    return policy, estate, Catalogue(f"sqlite:///{work}/catalogue.sqlite")
