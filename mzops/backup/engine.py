"""File backups: GNU tar on each asset, over its SSH connection (no agent to install),
streamed to tape in the open format, each file's SHA-256 taken on the way, and the
run catalogued only when its stream is on tape and its snapshot committed.

Levels are GNU tar's `--listed-incremental` (tar(1), "Incremental dumps"): level 0
starts from an empty snapshot file; level N from a copy of level N-1's, so the
snapshot of a failed run is never committed and the next run redoes that level. On
the asset the snapshots live in /var/lib/mzops/backup/JOB/level-N.snar; the catalogue
keeps a copy of each. A full is forced after `full_every_days`; `differential` jobs
run level 1 (against the full) between fulls, others the next level; a level whose
base snapshot is gone on the asset ("unknown level") goes one level down.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import fnmatch
import hashlib
import json
import queue
import shlex
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


from mzops.backup import archive, crypt, volume
from mzops.backup import spool as spool_
from mzops.backup.catalogue import Catalogue, File, Part, Run, utcnow
from mzops.backup.catalogue import Volume as VolumeRow
from mzops.backup.library import Drives, Mounter
from mzops.backup.policy import JobSpec, Policy
from mzops.backup.tape import MediaError, TapeError
from mzops.connect import ssh
from mzops.errors import MzopsError, OperationFailed
from mzops.inventory.model import Estate
from mzops.run import Outcome
from mzops.secrets import Resolver

STATE = "/var/lib/mzops/backup"
UNKNOWN_LEVEL = 3          # the create script's exit when the base snapshot is missing

SNAPSHOT_MARK = "--- mzops: the snapshot tar wrote (gzip, base64) ---"

# After the stream, on stderr after tar's own messages and a marker line, the snapshot
# tar wrote, gzipped (a snapshot names every file: a province's 4 Mbit/s line would take
# minutes over it plain): the check needs no second round trip. Standard output is
# closed first, so the stream ends when tar does.
CREATE = b"""set -eu
state=$1; job=$2; level=$3; mark=$4; shift 4
dir=$state/$job
umask 077
mkdir -p "$dir"
if [ "$level" -eq 0 ]; then
  rm -f "$dir/new.snar"
else
  [ -f "$dir/level-$((level - 1)).snar" ] || { echo "no level-$((level - 1)) snapshot" >&2; exit 3; }
  cp "$dir/level-$((level - 1)).snar" "$dir/new.snar"
fi
rc=0
tar --create --format=posix --listed-incremental="$dir/new.snar" --sparse --one-file-system \\
  --file=- "$@" </dev/null || rc=$?
exec >&-
[ -f "$dir/new.snar" ] || exit $rc
printf '%s\\n' "$mark" >&2
gzip -1 -c "$dir/new.snar" | base64 >&2
exit $rc
"""

# The checked snapshot made the level's; its SHA-256 says it is the one checked.
COMMIT = b"""set -eu
dir=$1/$2; level=$3
mv "$dir/new.snar" "$dir/level-$level.snar"
n=$((level + 1))
while [ -e "$dir/level-$n.snar" ]; do rm -f "$dir/level-$n.snar"; n=$((n + 1)); done
sha256sum < "$dir/level-$level.snar" | cut -c1-64
"""

# The asset's directories with their device and inode, for `missed_directories` and
# `renamed_directories`: taken while tar runs (in incremental mode tar scans every
# directory before it archives a file), so a million-file tree's walk adds no time.
# Listed to a file first: in a pipe, sh would hide find's failure behind gzip's success
# and a walk cut short would check against fewer directories than there are.
DIRECTORIES = b"""set -eu
list=$(mktemp); trap 'rm -f "$list"' EXIT
find "$@" -xdev -type d -printf '%D\\0%i\\0%p\\0' >"$list"
gzip -1 -c "$list" | base64
"""

EXTRACT = "tar -x --listed-incremental=/dev/null -f - -C /restore"


def _gunzip(text: bytes) -> bytes:
    return zlib.decompress(base64.b64decode(text), wbits=31)


def _snapshot_records(snar: bytes) -> Iterator[tuple[str, bytes, bytes, bytes]]:
    """The directory records of a GNU tar snapshot file (format 2, tar's incremen.c and
    the manual's "Snapshot Files"): after the header line and the dump time, per
    directory: nfs flag, mtime seconds and nanoseconds, device, inode, name, then its
    dumpdir entries, each NUL-ended; the dumpdir and the record each end with a NUL.
    Entries are never empty, so two NULs end a dumpdir: the search for them skips a
    directory's million names at C speed. (name, device, inode, dumpdir bytes) each; a
    record cut short is an error, never a shorter list."""
    header, _, body = snar.partition(b"\n")
    if not header.startswith(b"GNU tar-") or not header.endswith(b"-2"):
        raise ValueError(f"not a format 2 GNU tar snapshot: {header[:40]!r}")
    position = 0
    for _ in range(2):                                   # the dump time: seconds, nanoseconds
        position = body.find(b"\0", position) + 1
    while position < len(body):
        fields = []
        for _ in range(6):                               # nfs, mtime s, mtime ns, device, inode, name
            end = body.find(b"\0", position)
            if end < 0:
                raise ValueError(f"a truncated GNU tar snapshot (a directory record cut at byte {position})")
            fields.append(body[position:end])
            position = end + 1
        end = body.find(b"\0\0", position - 1)
        dumpdir = body[position:max(end, position)] if end >= 0 else body[position:]
        yield fields[5].decode("utf-8", "surrogateescape").lstrip("/"), fields[3], fields[4], dumpdir
        position = len(body) if end < 0 else end
        while position < len(body) and body[position] == 0:
            position += 1


def snapshot_directories(snar: bytes) -> dict[str, tuple[bytes, bytes]]:
    """Each directory a snapshot file records, with its device and inode."""
    return {name: (device, inode) for name, device, inode, _ in _snapshot_records(snar)}


def snapshot_entries(snar: bytes) -> dict[str, set[str]]:
    """Each directory of a snapshot file with the names in it when the level was taken
    (its dumpdir: each name after a one-letter flag, Y dumped, N not, D a directory)."""
    return {name: {entry[1:].decode("utf-8", "surrogateescape") for entry in dumpdir.split(b"\0") if entry}
            for name, _, _, dumpdir in _snapshot_records(snar)}


def host_directories(found: bytes) -> dict[str, tuple[bytes, bytes]]:
    """`find -printf '%D\\0%i\\0%p\\0'`: path -> (device, inode)."""
    parts = found.split(b"\0")
    return {parts[i + 2].decode("utf-8", "surrogateescape").lstrip("/"): (parts[i], parts[i + 1])
            for i in range(0, len(parts) - 2, 3)}


def renamed_directories(base: dict[str, tuple[bytes, bytes]], host: dict[str, tuple[bytes, bytes]]) -> list[str]:
    """Directories now under another name than the one the base level's snapshot has
    for their device and inode (BASE: its `snapshot_directories`; HOST: the asset's
    `host_directories`). GNU tar 1.34 does not restore levels after such renames
    reliably (two directories swapped, then swapped back, come back swapped), and its
    own snapshot keeps the old names: the names are compared with the asset's."""
    before = {ident: name for name, ident in base.items()}
    return sorted(f"{before[ident]} -> {path}" for path, ident in host.items()
                  if ident in before and before[ident] != path)


def missed_directories(snar: bytes, host: dict[str, tuple[bytes, bytes]], excludes: list[str]) -> list[str]:
    """Directories on the asset (HOST: its `host_directories`) that the snapshot does not
    record: GNU tar 1.34 loses the contents of a directory created where a renamed one
    stood (a cyclic rename, then the old name made again); its incremental then silently
    lacks them."""
    recorded = snapshot_directories(snar)
    out = []
    for path in host:
        if any(fnmatch.fnmatch(part, pattern) for part in path.split("/") for pattern in excludes):
            continue
        if path not in recorded:
            out.append(path)
    return sorted(out)


def plan_level(catalogue: Catalogue, name: str, job: JobSpec, asset: str, requested: str | None,
               today: dt.datetime | None = None) -> tuple[int, Run | None]:
    """(level, the run it is based on)."""
    if requested == "full":
        return 0, None
    last = catalogue.last(name, asset)
    if last is None:
        return 0, None
    chain = catalogue.chain(name, asset)
    full = chain[0]
    now = today or dt.datetime.now(dt.timezone.utc)
    age = now - dt.datetime.fromisoformat(full.finished)
    if requested is None and age.days >= job.levels.full_every_days:
        return 0, None
    if requested == "differential" or (requested is None and job.levels.differential):
        return 1, full
    return last.level + 1, last


def _index(chunks: "queue.Queue[bytes | None]", out: list[dict], errors: list[str]) -> None:
    """Each member of the tar stream with the SHA-256 of its content (as rows of File)."""
    try:
        for member in archive.members(iter(chunks.get, None)):
            out.append(File.row(member.raw, kind=member.kind, size=member.size, mtime=member.mtime,
                                sha256=member.sha256, offset=member.offset))
    except archive.StreamError as exc:
        errors.append(f"the tar stream could not be indexed: {exc}")


def _drain(chunks: "queue.Queue[bytes | None]", out: list[dict], errors: list[str]) -> None:
    """A stream that is not tar (an engine's own format): no members to index."""
    for _ in iter(chunks.get, None):
        pass


def _stream(proc, tee: "queue.Queue[bytes | None]") -> Iterator[bytes]:
    try:        # a pipe of a chunk's size: the sender fills it in one wake, not sixteen
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass    # above /proc/sys/fs/pipe-max-size: the default pipe works, only slower
    while True:
        chunk = proc.stdout.read(1 << 20)
        if not chunk:
            tee.put(None)
            return
        tee.put(chunk)
        yield chunk


class LocalTarget:
    """This machine as a target (the backup server's own files, and the tests): the same
    scripts run with sh instead of through ssh; STATE is where its snapshots live."""

    key = None

    def __init__(self, name: str, state: str = STATE):
        self.name, self.state = name, state

    def argv(self, remote_command: str, connect_timeout: int = 10, options: tuple[str, ...] = ()) -> list[str]:
        return ["/bin/sh", "-c", remote_command]


def back_up(policy: Policy, name: str, estate: Estate | None, asset: str, catalogue: Catalogue, run_id: str,
            resolver=None, requested: str | None = None, target=None, drives: Drives | None = None,
            manifests: dict[str, set[str]] | None = None) -> Outcome:
    """One job on one asset: its level, the stream to tape, the snapshot committed, the
    run catalogued. Any failure leaves the catalogue and the asset's snapshots as they were.
    DRIVES: the run's drives, shared by the jobs running at once; MANIFESTS: the volumes
    written, for `write_manifests` after every job (without it, written at once)."""
    job = policy.jobs[name]
    started = time.monotonic()
    warnings: list[str] = []
    try:
        target = target or ssh.target_of(estate.assets[asset], resolver)
    except MzopsError as exc:
        return Outcome(asset, "failed", str(exc), seconds=time.monotonic() - started)
    state = getattr(target, "state", STATE)
    to = None
    if job.encryption is not None:
        try:
            to = crypt.recipient((resolver or Resolver()).resolve(job.encryption.key).reveal())
        except MzopsError as exc:
            return Outcome(asset, "failed", f"{name}: {exc}", seconds=time.monotonic() - started)
    content = ("POSIX tar (GNU tar --format=posix --listed-incremental), "
               + (f"encrypted with age to {to}" if to else "not compressed, not encrypted"))
    extract = (f"age -d -i KEYFILE | {EXTRACT}" if to else EXTRACT)
    level, parent = plan_level(catalogue, name, job, asset, requested)
    drives = drives or Drives(policy)
    args = [f"--exclude={pattern}" for pattern in job.exclude] + ["--", *job.paths]
    while True:
        began = utcnow()
        header = {"job": name, "run": run_id, "asset": asset, "level": str(level),
                  "parent run": parent.id if parent else "none (a full)",
                  "paths": " ".join(job.paths), "content": content,
                  **({"key": f"KEYFILE holds the age identity kept at {job.encryption.key}"} if to else {})}
        survey = _Survey(target, job.paths, catalogue, parent) if level > 0 else None
        try:
            streamed = stream_to_tape(policy, job.pool, catalogue, drives, target, CREATE,
                                      [state, name, str(level), SNAPSHOT_MARK, *args], header, extract, to,
                                      f"{run_id}-{asset}-{name}")
        except (TapeError, MzopsError) as exc:
            return Outcome(asset, "failed", f"{name}: {exc}", seconds=time.monotonic() - started)
        surveyed = survey.result() if survey else None
        rc, files, errors, writer = streamed.rc, streamed.files, streamed.errors, streamed.writer
        told, mark, packed = streamed.said.rpartition(SNAPSHOT_MARK)
        said = told.strip() if mark else streamed.said
        warnings += writer.rewritten
        if rc == UNKNOWN_LEVEL and level > 0:
            warnings.append(f"level {level}: {said}; going one level down")
            level -= 1
            parent = _parent_at(catalogue, name, asset, level)
            continue
        if rc == ssh.SSH_ERROR:
            return Outcome(asset, "unreachable", said or "ssh failed", seconds=time.monotonic() - started)
        if rc not in (0, 1):               # tar: 1 is "some files changed while read"
            return Outcome(asset, "failed", f"{name}: tar exit {rc}: {said[-300:]}",
                           seconds=time.monotonic() - started)
        if rc == 1:
            warnings.append(said[-300:])
        if errors:
            break
        try:
            if not mark:
                raise ValueError("it did not arrive after the stream")
            # a gzip cut short is a zlib error; one that is whole but not tar's is caught at commit
            new_gz = base64.b64decode(packed)
            new_snar = zlib.decompress(new_gz, wbits=31)
        except (ValueError, zlib.error) as exc:      # binascii.Error is a ValueError
            return Outcome(asset, "failed", f"{name}: the snapshot could not be read: {exc}",
                           seconds=time.monotonic() - started)
        if level > 0:
            if isinstance(surveyed, str):
                return Outcome(asset, "failed", f"{name}: the snapshot could not be checked: {surveyed}",
                               seconds=time.monotonic() - started)
            host, base = surveyed
            try:
                missed = missed_directories(new_snar, host, job.exclude)
            except ValueError as exc:
                return Outcome(asset, "failed", f"{name}: the snapshot could not be checked: {exc}",
                               seconds=time.monotonic() - started)
            renamed = renamed_directories(base, host) if base is not None else []
            if missed or renamed:
                # the level just written may not restore right: it is never catalogued; a full replaces it
                why = (f"would miss {len(missed)} directories ({missed[0]}...)" if missed else
                       f"follows {len(renamed)} directory renames ({renamed[0]}...)")
                warnings.append(f"level {level} {why}, which GNU tar's incrementals do not restore "
                                       "reliably (a GNU tar incremental defect): a full instead")
                level, parent = 0, None
                continue
        break
    if errors:
        return Outcome(asset, "failed", f"{name}: {errors[0]}", seconds=time.monotonic() - started)
    committed = ssh.run_script(target, COMMIT, [state, name, str(level)], timeout=120)
    if committed.rc != 0:
        return Outcome(asset, "failed", f"{name}: the snapshot could not be committed: {committed.stderr[-300:]}",
                       seconds=time.monotonic() - started)
    if committed.stdout.strip().decode() != hashlib.sha256(new_snar).hexdigest():
        return Outcome(asset, "failed", f"{name}: the committed snapshot is not the one checked",
                       seconds=time.monotonic() - started)
    key = f"{run_id}/{name}/{asset}"          # a run of one job on one asset
    catalogue_run(policy, catalogue, drives, manifests, streamed, Run(
        id=key, run_id=run_id, job=name, asset=asset, level=level, parent=parent.id if parent else None,
        started=began, snapshot_gz=new_gz, encryption=job.encryption.key if to else ""))
    parts = writer.parts
    message = f"{name}: level {level}, {len(files)} entries, {writer.bytes} bytes on " + \
              ", ".join(sorted({p.volume for p in parts}))
    return Outcome(asset, "changed", message + ("; " + "; ".join(warnings) if warnings else ""),
                   seconds=time.monotonic() - started,
                   record={"run": key, "job": name, "level": level, "bytes": writer.bytes, "files": len(files),
                           "parts": [p.__dict__ for p in parts], "warnings": warnings})


class _Survey:
    """What an incremental is checked against, taken while its stream runs: the asset's
    directories (DIRECTORIES) and those of the base level's snapshot from the catalogue.
    `result()`: (host directories, base directories or None), or why they could not be had."""

    def __init__(self, target, paths: list[str], catalogue: Catalogue, parent: Run | None):
        self._found: tuple | str = "the directories were not surveyed"
        self._thread = threading.Thread(target=self._take, args=(target, paths, catalogue, parent), daemon=True)
        self._thread.start()

    def _take(self, target, paths: list[str], catalogue: Catalogue, parent: Run | None) -> None:
        listed = ssh.run_script(target, DIRECTORIES, paths, timeout=600)
        if listed.rc != 0:
            self._found = f"the asset's directories could not be listed: {listed.stderr[-300:]}"
            return
        try:
            host = host_directories(_gunzip(listed.stdout))
            base = catalogue.snapshot_of(parent.id) if parent is not None else None
            self._found = (host, snapshot_directories(base) if base else None)
        except (ValueError, zlib.error) as exc:
            self._found = f"the directories could not be read: {exc}"
        except Exception as exc:        # raised in this thread, it would reach no one: the job fails with it
            self._found = f"the directories could not be surveyed: {type(exc).__name__}: {exc}"

    def result(self) -> tuple | str:
        self._thread.join()
        return self._found


@dataclass
class Streamed:
    """A stream on tape: the script's exit and what it said, the members indexed on the
    way (File rows) or why they could not be, the stream's SHA-256, the writer (parts)."""
    rc: int
    said: str
    files: list[dict]
    errors: list[str]
    sha256: str
    writer: volume.StreamWriter


def stream_to_tape(policy: Policy, pool: str, catalogue: Catalogue, drives: Drives, target, script: bytes,
                   args: list[str], header: dict[str, str], extract: str, to: str | None, stem: str,
                   index: bool = True) -> Streamed:
    """Run SCRIPT on the target and write the stream it prints to the pool's volumes
    (encrypted to TO when given), indexing its members as they pass when it is a tar
    stream (INDEX). HEADER goes in each part's tape-file header, with EXTRACT, the
    command that reads it back."""
    files: list[dict] = []
    errors: list[str] = []
    tee: "queue.Queue[bytes | None]" = queue.Queue(maxsize=64)
    indexer = threading.Thread(target=_index if index else _drain, args=(tee, files, errors), daemon=True)
    writer = volume.StreamWriter(None, "", policy.pools[pool].block_size, header, extract, lambda: None)
    try:
        with ssh.stream(target, script, args) as proc:
            stderr: list[bytes] = []
            drain = threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True)
            drain.start()
            indexer.start()
            plain = _stream(proc, tee)
            source = crypt.encrypt(plain, to) if to else plain
            sha256 = _to_tape(policy, pool, catalogue, drives, writer, source, proc, stem)
            rc = proc.wait()
            drain.join()
            indexer.join()
    except BaseException:
        tee.put(None)
        raise
    return Streamed(rc, b"".join(stderr).decode(errors="replace").strip(), files, errors, sha256, writer)


def catalogue_run(policy: Policy, catalogue: Catalogue, drives: Drives, manifests: dict[str, set[str]] | None,
                  streamed: Streamed, run: Run) -> None:
    """RUN (its identity and kind) catalogued with its stream's parts and files, in one
    transaction; the volumes written noted for their manifests (MANIFESTS: after the
    night's jobs; None: written now)."""
    writer = streamed.writer
    run.finished, run.bytes, run.sha256 = utcnow(), writer.bytes, streamed.sha256
    run.parts = [Part(number=p.number, volume=p.volume, tape_file=p.file, bytes=p.bytes, sha256=p.sha256)
                 for p in writer.parts]
    with catalogue.session() as session, session.begin():
        session.add(run)
        session.flush()
        if streamed.files:
            catalogue.add_files(session, run.id, streamed.files)
        for p in writer.parts:
            row = session.get(VolumeRow, p.volume)
            if row is not None:
                row.bytes += p.bytes
    touched = {p.volume: {run.id} for p in writer.parts}
    if manifests is not None:
        for barcode in touched:
            manifests.setdefault(barcode, set()).add(run.id)
    else:
        write_manifests(policy, catalogue, touched, drives)


def _parent_at(catalogue: Catalogue, name: str, asset: str, level: int) -> Run | None:
    if level == 0:
        return None
    chain = catalogue.chain(name, asset)
    below = [r for r in chain if r.level == level - 1]
    return below[-1] if below else None


def manifest_of(catalogue: Catalogue, barcode: str, runs: set[str] | None = None) -> dict:
    """What the volume holds, as its manifest says it: every run with a part (or a copied
    part) on it, or only RUNS (the night's: earlier manifests on the volume list the others)."""
    from sqlalchemy import select
    from mzops.backup.catalogue import CopyPart
    with catalogue.session() as session:
        keys = {p.run_key for p in session.scalars(select(Part).where(Part.volume == barcode))}
        keys |= {c.run_key for c in session.scalars(select(CopyPart).where(CopyPart.volume == barcode))}
        runs = [session.get(Run, k) for k in sorted(keys) if runs is None or k in runs]
        packed = {r.id: catalogue.snapshot_packed(session, r.id) for r in runs}
        return {"volume": barcode, "written": volume.now(), "runs": [{
            "id": r.id, "run_id": r.run_id, "job": r.job, "asset": r.asset, "level": r.level, "parent": r.parent,
            "started": r.started, "finished": r.finished, "bytes": r.bytes, "sha256": r.sha256,
            "snapshot_gz": base64.b64encode(packed[r.id]).decode(), "encryption": r.encryption,
            "kind": r.kind, "facts": json.loads(r.facts),
            "parts": [{"number": p.number, "volume": p.volume, "file": p.tape_file, "bytes": p.bytes,
                       "sha256": p.sha256} for p in r.parts],
            "copies": [{"library": c.library, "number": c.number, "volume": c.volume, "file": c.tape_file,
                        "bytes": c.bytes, "sha256": c.sha256, "copied": c.copied} for c in r.copies],
            "files": _manifest_files(session, r.id)} for r in runs]}


def _manifest_files(session, run_key: str) -> list[dict]:
    """The run's files for its manifest, in stream order (a name's bytes only when they are
    not its path's UTF-8), read as rows: a full has millions."""
    from sqlalchemy import select
    query = select(File.path, File.raw_name, File.kind, File.size, File.mtime, File.sha256, File.offset).where(
        File.run_key == run_key).order_by(File.run_key, File.id)     # the run_key index, in its order
    return [{"path": path, **({"raw": base64.b64encode(raw).decode()} if raw is not None else {}), "kind": kind,
             "size": size, "mtime": mtime, "sha256": sha256, "offset": offset}
            for path, raw, kind, size, mtime, sha256, offset in session.execute(query)]


def write_manifests(policy: Policy, catalogue: Catalogue, barcodes: dict[str, set[str]],
                    drives: Drives | None = None) -> list[str]:
    """Append to each volume (barcode -> the runs written on it) the manifest of those
    runs, after the night's jobs, when no drive is writing. Problems, one per volume that
    could not take its manifest."""
    drives = drives or Drives(policy)
    rows = {v.barcode: v for v in catalogue.volumes()}
    problems = []
    # a full volume is past its early warning, one in error is written no more; the runs
    # they hold are in the manifest of the volume each run continued on
    for barcode in sorted(b for b in barcodes if rows[b].state not in ("full", "error")):
        pool = rows[barcode].pool
        library = policy.pools[pool].library
        with drives.lend(library) as number:
            try:
                mounter = Mounter(policy, pool, catalogue, number)
                drive = mounter.mount(barcode)
                volume.manifest(drive, barcode, manifest_of(catalogue, barcode, barcodes[barcode]))
                drive.close()
            except (TapeError, MzopsError) as exc:
                problems.append(f"{barcode}: its manifest could not be written ({exc}); "
                                "`catalog rebuild` would not find the runs only it names")
    return problems


def _to_tape(policy: Policy, pool: str, catalogue: Catalogue, drives: Drives, writer: volume.StreamWriter,
             source, proc, stem: str) -> str:
    """SOURCE through WRITER onto the pool's volumes: straight to a drive held for the
    whole stream, or through the library's spool, one segment at a time, a drive lent for
    each (so several jobs share the drives, and a part is written again after a write error).
    The SHA-256 of the whole stream."""
    library = policy.pools[pool].library
    spool = policy.libraries[library].spool

    def attach(number: int) -> Mounter:
        mounter = Mounter(policy, pool, catalogue, number)
        writer.next_volume = lambda: mounter.full(writer.volume)
        writer.failed_volume = mounter.failed
        writer.drive, writer.volume = mounter.writable()
        return mounter

    if spool is None:
        with drives.lend(library) as number:
            mounter = attach(number)
            try:
                writer.write(source)
            except MediaError as exc:
                mounter.mark(writer.volume, "error", str(exc))
                raise MediaError(f"{exc}; without a spool the part cannot be written again: the run is not "
                                 "catalogued and the next run redoes its level") from None
        return writer.sha256()
    filler = spool_.Filler(source, Path(spool.directory), stem, spool.segment_size)
    try:
        for segment in filler:
            with open(segment, "rb") as handle, drives.lend(library) as number:
                attach(number)
                writer.write_spooled(handle)
    except BaseException:
        proc.kill()
        filler.discard()
        raise
    if not writer.parts:
        raise OperationFailed("the stream was empty: nothing reached the spool")
    return writer.sha256()


def extract_command(destination: str, paths: list[str]) -> list[str]:
    return ["tar", "-x", "--listed-incremental=/dev/null", "-f", "-", "-C", destination,
            *([p.lstrip("/") for p in paths] if paths else [])]


def quote(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)
