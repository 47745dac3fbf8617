"""The copy job: each run of a pool written again, part by part, on the volumes of the
pool named by its `copy_to` (a pool of the DR site's library), so a restore works there
with the primary library gone. Like Bacula's Copy jobs: the copy is read from the
original volumes, each part's SHA-256 checked as it is read, and written in the same
open format (each tape file's header says it is a copy, and of what); the catalogue
keeps the copy's parts beside the original's, and the copy's volumes carry manifests
of their own, so `catalog rebuild` at the DR site finds the copies too."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mzops.backup import restore, volume
from mzops.backup.catalogue import Catalogue, CopyPart, Run, utcnow
from mzops.backup.catalogue import Volume as VolumeRow
from mzops.backup.engine import EXTRACT
from mzops.backup.library import Drives, Mounter
from mzops.backup.policy import Policy
from mzops.backup.tape import TapeError
from mzops.errors import MzopsError
from mzops import run as runlayer
from mzops.run import Outcome


def pending(policy: Policy, catalogue: Catalogue, runs: list[str] | None = None) -> list[tuple[str, Run]]:
    """(source pool, run) of every run on a pool with `copy_to` that has no copy yet
    (only RUNS, when given), oldest first."""
    pools = {name for name, pool in policy.pools.items() if pool.copy_to}
    with catalogue.session() as session:
        pool_of = {v.barcode: v.pool for v in session.scalars(select(VolumeRow))}
        query = select(Run).options(selectinload(Run.parts), selectinload(Run.copies)).order_by(Run.finished)
        out = []
        for run in session.scalars(query):
            source = {pool_of.get(p.volume) for p in run.parts}
            if runs is not None and run.id not in runs:
                continue
            if len(source) == 1 and source <= pools and not run.copies:
                out.append((source.pop(), run))
        return out


def copy_all(policy: Policy, catalogue: Catalogue, drives: Drives, manifests: dict[str, set[str]],
             runs: list[str] | None = None, events=None) -> list[Outcome]:
    """Every pending copy (of RUNS only, when given), as many at once as the smallest
    target library has drives."""
    todo = pending(policy, catalogue, runs)
    if not todo:
        return []
    at_once = min(policy.libraries[policy.pools[policy.pools[pool].copy_to].library].drive_count for pool, _ in todo)
    if events is not None:
        events.begin("backup copy", [run.id for _, run in todo])
    done = runlayer.each(todo, lambda item: copy_run(policy, catalogue, item[0], item[1], drives, manifests),
                         at_once, events=events, outcome=lambda o: o)
    if events is not None:
        events.end()
    return done


def copy_run(policy: Policy, catalogue: Catalogue, source_pool: str, run: Run, drives: Drives,
             manifests: dict[str, set[str]]) -> Outcome:
    """RUN read from SOURCE_POOL's volumes and written on its copy pool's; catalogued
    only when every part read matched its checksum and the whole stream arrived."""
    started = time.monotonic()
    target = policy.pools[source_pool].copy_to
    source_library, target_library = policy.pools[source_pool].library, policy.pools[target].library
    fields = {"job": run.job, "run": run.run_id, "asset": run.asset, "level": str(run.level),
              "parent run": run.parent or "none (a full)",
              "content": "POSIX tar (GNU tar --format=posix --listed-incremental), "
                         + (f"encrypted with age, the identity kept at {run.encryption}" if run.encryption
                            else "not compressed, not encrypted"),
              "copy of": ", ".join(f"{p.volume} file {p.tape_file}" for p in run.parts)}
    extract = f"age -d -i KEYFILE | {EXTRACT}" if run.encryption else EXTRACT
    try:
        with drives.lend(source_library) as reading, drives.lend(target_library) as writing:
            reader = Mounter(policy, source_pool, catalogue, reading)
            mounter = Mounter(policy, target, catalogue, writing)
            drive, barcode = mounter.writable()
            writer = volume.StreamWriter(drive, barcode, policy.pools[target].block_size, fields, extract,
                                         lambda: mounter.full(writer.volume))
            parts = writer.write(restore.records(reader, run, policy.pools[source_pool].block_size))
            stream_sha256 = writer.sha256()
            reader.drive.close()
    except (TapeError, MzopsError) as exc:
        return Outcome(run.asset, "failed", f"copy of {run.id} to {target}: {exc}",
                       seconds=time.monotonic() - started)
    if stream_sha256 != run.sha256 or writer.bytes != run.bytes:
        return Outcome(run.asset, "failed", f"copy of {run.id} to {target}: {writer.bytes} bytes written do not "
                       f"match the run's {run.bytes} and checksum", seconds=time.monotonic() - started)
    copied = utcnow()
    with catalogue.session() as session, session.begin():
        for p in parts:
            session.add(CopyPart(run_key=run.id, library=target_library, number=p.number, volume=p.volume,
                                 tape_file=p.file, bytes=p.bytes, sha256=p.sha256, copied=copied))
            row = session.get(VolumeRow, p.volume)
            if row is not None:
                row.bytes += p.bytes
    for p in parts:
        manifests.setdefault(p.volume, set()).add(run.id)
    return Outcome(run.asset, "changed", f"{run.job}: copy of {run.id} ({run.bytes} bytes) on "
                   + ", ".join(sorted({p.volume for p in parts})) + f" in {target_library}",
                   seconds=time.monotonic() - started,
                   record={"job": run.job, "copy_of": run.id, "parts": [p.__dict__ for p in parts]})


def copies_on(session, barcode: str) -> list[str]:
    """Keys of the runs with a copied part on volume BARCODE."""
    return sorted({c.run_key for c in session.scalars(select(CopyPart).where(CopyPart.volume == barcode))})

