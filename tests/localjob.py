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
