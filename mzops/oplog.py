"""A tamper-evident log of every mzops operation: append-only, hash-chained JSON lines.

Each record carries the hash of the one before and its own hash over its content, and
a sequence number. A head file beside the log holds the last sequence and hash, so a
log cut short is noticed too. Editing, deleting, reordering or truncating records
breaks the chain; `verify` names the first record at fault. A root attacker could
rewrite log and head consistently: forward each record to syslog (a central log host)
to keep an outside copy, and `mzops log init` makes the file append-only in the
kernel (chattr +a) so no one but root can rewrite it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pwd
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from mzops import run as runlayer
from mzops.errors import InputError, OperationFailed
from mzops.paths import mzops_home

GENESIS = "0" * 64
FIELDS = ("seq", "time", "user", "uid", "role", "command", "targets", "result", "exit_code", "run_id", "prev")


def log_path() -> Path:
    configured = os.environ.get("MZOPS_OPLOG")
    return Path(configured) if configured else mzops_home() / "oplog" / "operations.jsonl"


def head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def record_hash(record: dict[str, Any]) -> str:
    body = {k: record.get(k) for k in FIELDS}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def current_user() -> tuple[str, int]:
    """The real user, from the uid: $USER and $LOGNAME are the caller's to set, so a
    role decided by them could be claimed by anyone."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name, uid
    except KeyError:
        return str(uid), uid


def append(command: list[str], role: str, targets: list[str], result: str, exit_code: int,
           run_id: str, path: Path | None = None) -> dict[str, Any]:
    path = path or log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        with open(path, "a+", encoding="utf-8") as handle, runlayer.serialised(handle):
            seq, prev = _tail(path)
            user, uid = current_user()
            record = {
                "seq": seq + 1, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                "user": user, "uid": uid, "role": role, "command": command, "targets": sorted(targets),
                "result": result, "exit_code": exit_code, "run_id": run_id, "prev": prev,
            }
            record["hash"] = record_hash(record)
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            _write_head(path, record["seq"], record["hash"])
    except OSError as exc:
        raise OperationFailed(f"{path}: cannot append to the operation log: {exc.strerror}") from None
    _forward(record)
    return record


def _tail(path: Path) -> tuple[int, str]:
    """Sequence and hash of the last record: from the head file, else the last line."""
    head = head_path(path)
    if head.exists():
        try:
            data = json.loads(head.read_text())
            return int(data["seq"]), str(data["hash"])
        except (ValueError, KeyError):
            pass
    last = None
    for _, record in _records(path):
        last = record
    return (last["seq"], last["hash"]) if last else (0, GENESIS)


def _write_head(path: Path, seq: int, digest: str) -> None:
    """Atomically where the folder is the caller's; in place (under the log's lock) in a
    shared log's folder, which other users may not write (`mzops log init`)."""
    head = head_path(path)
    text = json.dumps({"seq": seq, "hash": digest}) + "\n"
    tmp = head.with_name(head.name + ".tmp")
    try:
        tmp.write_text(text)
        if head.exists():               # a shared log's head stays writable by all
            os.chmod(tmp, head.stat().st_mode & 0o777)
    except PermissionError:
        with open(head, "r+" if head.exists() else "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.truncate()
        return
    os.replace(tmp, head)


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError:
                    yield number, {"_unparsable": line.strip()[:80]}


def read(path: Path | None = None, since: dt.datetime | None = None) -> list[dict[str, Any]]:
    out = []
    for line, record in _records(path or log_path()):
        if not isinstance(record, dict):
            record = {"_unparsable": json.dumps(record)[:80]}
        record.setdefault("_line", line)
        when = record_time(record)
        if since and when is not None and when < since:
            continue
        out.append(record)
    return out


def record_time(record: dict[str, Any]) -> dt.datetime | None:
    """A record's time, zone-aware; None when it cannot be read (an edited record is shown
    rather than filtered away: `log verify` says what is wrong with it)."""
    try:
        when = dt.datetime.fromisoformat(str(record["time"]))
    except (KeyError, ValueError, TypeError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


@dataclass
class Verdict:
    whole: bool
    records: int
    problem: str = ""
    line: int | None = None


def verify(path: Path | None = None) -> Verdict:
    path = path or log_path()
    head = head_path(path)
    if not path.exists():
        if head.exists():
            return Verdict(False, 0, f"the log is gone but its head anchor {head} says records were written")
        return Verdict(True, 0, "no operation log yet")
    prev, expected_seq, count = GENESIS, 1, 0
    for line, record in _records(path):
        count += 1
        if "_unparsable" in record:
            return Verdict(False, count, f"line {line}: not a JSON record (edited?)", line)
        if record.get("seq") != expected_seq:
            what = "deleted or reordered" if isinstance(record.get("seq"), int) else "damaged"
            return Verdict(False, count, f"line {line}: record seq {record.get('seq')} where {expected_seq} "
                                         f"was due: records {what}", line)
        if record.get("prev") != prev:
            return Verdict(False, count, f"line {line}: record {expected_seq} does not follow the record "
                                         "before it (chain broken)", line)
        if record_hash(record) != record.get("hash"):
            return Verdict(False, count, f"line {line}: record {expected_seq} was edited (hash mismatch)", line)
        prev, expected_seq = record["hash"], expected_seq + 1
    if not head.exists():
        if count:
            return Verdict(False, count, f"{head}: head anchor missing: records cut from the end could not be seen")
        return Verdict(True, count)
    try:
        anchor = json.loads(head.read_text())
    except (ValueError, OSError):
        return Verdict(False, count, f"{head}: head anchor damaged")
    if isinstance(anchor, dict):
        if anchor.get("seq") != expected_seq - 1 or anchor.get("hash") != prev:
            return Verdict(False, count, f"the log ends at record {expected_seq - 1} but its head anchor says "
                                         f"{anchor.get('seq')}: records removed from the end (truncated)")
        return Verdict(True, count)
    return Verdict(False, count, f"{head}: head anchor damaged")


def protect(path: Path | None = None) -> str:
    """Create the log and make it append-only in the kernel (root, ext4/xfs)."""
    path = path or log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    head = head_path(path)
    head.touch(exist_ok=True)
    if not head.read_text().strip():
        seq, digest = _tail(path)
        head.write_text(json.dumps({"seq": seq, "hash": digest}) + "\n")
    # Every user appends (their commands are logged too); the kernel refuses any other
    # write to the log, also by its owner. The folder stays root's: nobody else can
    # replace the files.
    os.chmod(path.parent, 0o755)
    os.chmod(path, 0o666)
    os.chmod(head, 0o666)
    proc = subprocess.run(["chattr", "+a", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputError(f"{path}: cannot make the log append-only: {proc.stderr.strip() or proc.returncode}")
    return str(path)


def _forward(record: dict[str, Any]) -> None:
    """Optional copy to syslog: MZOPS_OPLOG_SYSLOG=udp://HOST:PORT or unix:///dev/log."""
    target = os.environ.get("MZOPS_OPLOG_SYSLOG")
    if not target:
        return
    message = f"<86>mzops[{os.getpid()}]: {json.dumps(record, ensure_ascii=False, sort_keys=True)}".encode()
    try:
        if target.startswith("udp://"):
            host, port = target[6:].rsplit(":", 1)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(message, (host, int(port)))
        elif target.startswith("unix://"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message, target[7:])
    except OSError:
        pass  # the local chain is authoritative; forwarding is best effort
