"""Restores and verification, from the catalogue and the volumes.

A restore to time AT takes the chain that ends with the last run before AT (its full
first), mounts each part's volume in turn, checks each part's SHA-256 as it reads, and
extracts level by level with `tar -x --listed-incremental=/dev/null` (tar(1): on
extraction the dumpdirs delete what the level no longer had), so the destination holds
the tree as it was at that run. `--dry-run` names the volumes needed and where they are.
Verification reads every part back and checks each part's and each file's SHA-256
against what was recorded when it was written.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from mzops.backup import archive, crypt, volume
from mzops.backup.catalogue import Catalogue, Run, Verification, display
from mzops.backup.catalogue import Volume as VolumeRow
from mzops.backup.engine import extract_command, snapshot_entries
from mzops.backup.library import Mounter
from mzops.backup.policy import Policy
from mzops.errors import InputError, MzopsError, OperationFailed
from mzops.secrets import Resolver


@dataclass
class Step:
    run: str
    level: int
    finished: str
    parts: list[tuple[str, int, str]]       # (volume, tape file, where the volume is)


def parts_of(run: Run, library: str | None):
    """The parts a restore reads: the copy's when the run has one in LIBRARY, else the
    original's (read wherever its cartridges are now)."""
    copied = [c for c in run.copies if library is not None and c.library == library]
    return copied or run.parts


def plan(policy: Policy, catalogue: Catalogue, job: str, asset: str, at: str | None,
         run: str | None = None, library: str | None = None) -> list[Step]:
    if job not in policy.jobs:
        raise InputError(f"--job: no job {job!r} in {policy.folder}/jobs.yml")
    try:
        chain = catalogue.chain(job, asset, at, run)
    except LookupError as exc:
        raise OperationFailed(str(exc)) from None
    if not chain:
        raise InputError(f"no backup of {asset} by job {job}" + (f" before {at}" if at else "")
                         + (f" with run {run}" if run else ""))
    with catalogue.session() as session:
        where = {v.barcode: v.location or v.library for v in session.query(VolumeRow)}
    return [Step(r.id, r.level, r.finished, [(p.volume, p.tape_file, where.get(p.volume, "unknown"))
                                              for p in parts_of(r, library)]) for r in chain]


def _open_part(mounter: Mounter, run: Run, part, block: int):
    """(drive, block size, records) of PART of RUN, its tape file's header checked to be
    that part of that run. The volume's label says its block size (a copy's pool may
    write another than the job's)."""
    drive = mounter.mount(part.volume)
    size = int(mounter.mounted_label.get("block size", block))
    found, stream = volume.read_part(drive, part.tape_file, size)
    if found.get("run") != run.run_id or found.get("asset") != run.asset or found.get("part") != str(part.number):
        raise OperationFailed(f"volume {part.volume} file {part.tape_file} holds run {found.get('run')} of "
                              f"{found.get('asset')} part {found.get('part')}, not {run.id} part {part.number}")
    return drive, size, stream


def records(mounter: Mounter, run: Run, block: int, parts=None) -> Iterator[bytes]:
    """The run's stream, part after part (PARTS: the copy's), each part's SHA-256 checked
    at its end."""
    for part in parts or run.parts:
        _, _, stream = _open_part(mounter, run, part, block)
        digest, size = hashlib.sha256(), 0
        for record in stream:
            digest.update(record)
            size += len(record)
            yield record
        if digest.hexdigest() != part.sha256 or size != part.bytes:
            raise OperationFailed(f"volume {part.volume} file {part.tape_file}: part {part.number} of {run.id} "
                                  f"does not match its checksum ({size} bytes read, {part.bytes} written)")


def plaintext(records: Iterator[bytes], run: Run, resolver) -> Iterator[bytes]:
    """The run's tar stream: its records, decrypted when the job encrypts."""
    if not run.encryption:
        return records
    identity = (resolver or Resolver()).resolve(run.encryption).reveal()
    return crypt.decrypt(records, identity)


def restore(policy: Policy, catalogue: Catalogue, job: str, asset: str, destination: Path, at: str | None = None,
            paths: list[str] | None = None, library: str | None = None, run: str | None = None,
            resolver=None, first_byte=None) -> list[Step]:
    """Restore the chain into DESTINATION (FIRST_BYTE: called when the first record is
    read off tape, for a drill's timing)."""
    steps = plan(policy, catalogue, job, asset, at, run, library)
    destination.mkdir(parents=True, exist_ok=True)
    mounter = Mounter(policy, policy.jobs[job].pool, catalogue, library=library)
    block = policy.pools[policy.jobs[job].pool].block_size
    chain = catalogue.chain(job, asset, at, run)
    wanted = _wanted(catalogue, chain, paths or [], asset)
    for step_run in chain:
        members = [p for p in wanted if catalogue.holds(step_run.id, p)] if wanted else []
        if wanted and not members:
            continue                    # an incremental holds only what changed: nothing of the paths here
        # one file of a plain stream: space over the records before it instead of reading the level
        span = (catalogue.member_span(step_run.id, members[0]) if len(members) == 1 and not step_run.encryption
                else None)
        source = (_span(mounter, step_run, parts_of(step_run, library), block, span[0], span[1]) if span else
                  plaintext(records(mounter, step_run, block, parts_of(step_run, library)), step_run, resolver))
        proc = subprocess.Popen(extract_command(str(destination), members), stdin=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            for record in source:
                if first_byte is not None:
                    first_byte()
                    first_byte = None
                proc.stdin.write(record)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        said = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:
            raise OperationFailed(f"tar could not extract level {step_run.level} ({step_run.id}): {said[-300:]}")
        if span:            # read without the part's checksum: the file's own is checked instead
            restored = hashlib.sha256((destination / members[0]).read_bytes()).hexdigest()
            if restored != span[2]:
                raise OperationFailed(f"{members[0]} from {step_run.id} does not match its checksum in the catalogue")
    mounter.drive.close()
    return steps


def _span(mounter: Mounter, run: Run, parts, block: int, start: int, end: int | None) -> Iterator[bytes]:
    """Bytes [START, END) of the run's stream (END None: to its end), found by spacing
    over the records before START (MTFSR); then the two zero blocks that end a tar archive.
    Every record of a part is the volume's block size but its last (the writer's rule)."""
    base = 0
    for part in parts:
        if end is not None and base >= end:
            break
        if base + part.bytes <= start:
            base += part.bytes
            continue
        drive, size, stream = _open_part(mounter, run, part, block)
        skip = max(0, start - base) // size
        drive.forward_records(skip)
        position = base + skip * size
        for record in stream:
            low = max(start - position, 0)
            high = len(record) if end is None else min(len(record), end - position)
            if high > low:
                yield record[low:high]
            position += len(record)
            if end is not None and position >= end:
                break
        base += part.bytes
    yield b"\0" * 1024


def _wanted(catalogue: Catalogue, chain: list[Run], paths: list[str], asset: str) -> list[str]:
    """The paths a partial restore asks for, each checked against the tree as the last
    level found it (its snapshot: a file deleted by then is not restored from an older
    level) and against the chain (a path never backed up is named)."""
    snapshot = catalogue.snapshot_of(chain[-1].id)
    entries = snapshot_entries(snapshot) if snapshot else {}
    out = []
    for path in paths:
        name = path.strip("/")
        parent, _, base = name.rpartition("/")
        if name not in entries and parent in entries and base not in entries[parent]:
            raise InputError(f"--path {path}: not in the tree of {asset} as of {chain[-1].finished} (gone by then)")
        if not any(catalogue.holds(r.id, name) for r in chain):
            raise InputError(f"--path {path}: in no backup of {asset} up to {chain[-1].finished}")
        out.append(name)
    return out


def verify(policy: Policy, catalogue: Catalogue, job: str, asset: str, library: str | None = None,
           resolver=None) -> list[str]:
    """Problems found reading every run of the chain back (empty: all checksums match)."""
    problems = []
    mounter = Mounter(policy, policy.jobs[job].pool, catalogue, library=library)
    block = policy.pools[policy.jobs[job].pool].block_size
    for run in catalogue.chain(job, asset):
        before = len(problems)
        recorded = {f.raw: f.sha256 for f in catalogue.files_of(run.id) if f.kind == "file"}
        try:
            stream = plaintext(records(mounter, run, block, parts_of(run, library)), run, resolver)
            if run.kind != "files" and not recorded:
                for _ in stream:          # an engine's own format (xbstream): each part's checksum only
                    pass
            else:
                for member in archive.members(stream):
                    if member.kind == "file" and recorded.get(member.raw) != member.sha256:
                        problems.append(f"{run.id}: {display(member.raw)}: checksum differs from the catalogue")
        except (MzopsError, archive.StreamError) as exc:
            problems.append(f"{run.id}: {exc}")
        with catalogue.session() as session, session.begin():
            session.add(Verification(run_key=run.id, at=volume.now(), problems="\n".join(problems[before:])))
    mounter.drive.close()
    return problems
