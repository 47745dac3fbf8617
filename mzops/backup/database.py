"""Database backups and point-in-time restores, with each engine's own tools.

A database job's run, per server: first the engine's health (a server that is down, an
archive command that fails, archiving that is off: an error for that asset, nothing
written); then a full when one is due (none yet, `full_every_days` passed, the chain
has a gap in its logs, or `--level full`), else an incremental where the engine takes
them (MariaDB); then the table checksums a drill compares against, and always a
collection of the logs archived since the last run. Runs form the same chains as file
levels: a full is level 0, each incremental or log collection the next level with the
run before it as its parent, so retention, the copy job, manifests and the report treat
them as they treat files. Archived logs leave the server (where mzops keeps them:
PostgreSQL's archive folder) only once catalogued.

A restore to time T takes the first log collection that closed after T whose chain's
full was complete before T, and of that chain the full and incrementals complete
before T and the log collections after the last of them; checks that no log is missing
from that backup's end to the collection (named, before anything is written); extracts
them onto the chosen host; and lets the engine replay to T and open the copy there.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

from mzops import engines
from mzops.backup import crypt
from mzops.backup import restore as restoring
from mzops.backup.catalogue import Catalogue, Run, utcnow
from mzops.backup.catalogue import Volume as VolumeRow
from mzops.backup.engine import catalogue_run, stream_to_tape
from mzops.backup.library import Drives, Mounter
from mzops.backup.policy import Policy
from mzops.backup.tape import TapeError
from mzops.connect import ssh
from mzops.errors import InputError, MzopsError, OperationFailed
from mzops.inventory.model import Estate
from mzops.run import Outcome
from mzops.secrets import Resolver

RESTORES = "/var/lib/mzops/restore"


def facts_of(run: Run) -> dict:
    return json.loads(run.facts or "{}")


def server_facts(engine, target, port: int) -> tuple[int, dict[str, str], str]:
    """(exit, KEY -> VALUE, what it said) of the engine's `backup_facts` on the server host."""
    done = ssh.run_script(target, engine.backup_facts, [str(port)], timeout=60)
    out = {}
    for line in done.stdout.decode(errors="replace").splitlines():
        key, sep, value = line.partition("\x1f")
        if sep:
            out[key] = value
    return done.rc, out, done.stderr


def table_sums(engine, target, port: int, socket: str = "") -> tuple[dict, str, dict[str, str]]:
    """({database: {"position": where its snapshot was, "tables": {table: [rows, sum]}}}, the problem if none,
    its `mzops:` lines) from the engine's `table_sums` on the server's host (SOCKET: a restored copy's)."""
    done = ssh.run_script(target, engine.table_sums, [str(port), socket], timeout=3600)
    told = _told(done.stderr)
    if done.rc != 0:
        return {}, "\n".join(line for line in done.stderr.splitlines() if not line.startswith("mzops: "))[-200:] \
            or f"exit {done.rc}", told
    out: dict[str, dict] = {}
    for line in done.stdout.decode(errors="replace").splitlines():
        fields = line.split("\x1f")
        if len(fields) == 3 and fields[1] == "position":
            out.setdefault(fields[0], {"tables": {}})["position"] = fields[2]
        elif len(fields) == 4:
            out.setdefault(fields[0], {"tables": {}})["tables"][fields[1]] = [int(fields[2]), fields[3]]
    return out, "", told


def login_warning(engine, logins: dict[str, str], problems: dict[str, str]) -> str:
    """What to say when steps of a backup (LOGINS: step -> the account its script logged in
    as, from its `mzops: account=` line; PROBLEMS: step -> why not the backup login) did not
    read as the engine's backup login; "" when they all did."""
    if engine.backup_account is None:
        return ""
    # a step whose script said nothing (it failed before logging in) is not evidence either way
    other = {step: who for step, who in logins.items() if who and who != engine.backup_account}
    if not other:
        return ""
    why = next((problems[s] for s in other if problems.get(s)), "it cannot log in")
    return (f"read as {', '.join(sorted(set(other.values())))}, not {engine.backup_account} "
            f"({', '.join(other)}): {why} (rule {engine.backup_account_rule} sets the backups' own login up)")


def full_due(catalogue: Catalogue, name: str, asset: str, every_days: int, requested: str | None,
             now: dt.datetime | None = None) -> str | None:
    """Why the run takes a full (None: logs only)."""
    if requested == "full":
        return "--level full"
    try:
        chain = catalogue.chain(name, asset)
    except LookupError as exc:
        return str(exc)
    if not chain:
        return "no full yet"
    age = (now or dt.datetime.now(dt.timezone.utc)) - dt.datetime.fromisoformat(chain[0].finished)
    if age.days >= every_days:
        return f"the full is {age.days} days old"
    gaps = facts_of(chain[-1]).get("gaps")
    if gaps:
        return f"the chain lacks log {gaps[0]}"
    return None


def _told(text: str) -> dict[str, str]:
    """The `mzops: KEY=VALUE` lines an engine's script printed among its other output."""
    return dict(line[len("mzops: "):].split("=", 1) for line in text.splitlines()
                if line.startswith("mzops: ") and "=" in line)


def _failed(asset: str, message: str, started: float) -> Outcome:
    return Outcome(asset, "failed", message, seconds=time.monotonic() - started)


def back_up(policy: Policy, name: str, estate: Estate, asset: str, catalogue: Catalogue, run_id: str,
            resolver=None, requested: str | None = None, target=None, drives: Drives | None = None,
            manifests: dict[str, set[str]] | None = None) -> Outcome:
    """One database job on one server: a full when due, then its archived logs."""
    job = policy.jobs[name]
    started = time.monotonic()
    entry = estate.assets[asset]
    engine = engines.get(entry.db_engine, asset)
    port = entry.db_port or engine.default_port
    try:
        target = target or ssh.target_of(estate.assets[entry.db_server], resolver)
        to = (crypt.recipient((resolver or Resolver()).resolve(job.encryption.key).reveal())
              if job.encryption is not None else None)
    except MzopsError as exc:
        return _failed(asset, f"{name}: {exc}", started)
    rc, facts, said = server_facts(engine, target, port)
    if rc == ssh.SSH_ERROR:
        return Outcome(asset, "unreachable", said or "ssh failed", seconds=time.monotonic() - started)
    if rc != 0:
        return _failed(asset, f"{name}: the server did not answer (is it down?): {said[-300:]}", started)
    problems = engine.backup_problems(facts)
    if problems:
        return _failed(asset, f"{name}: " + "; ".join(problems), started)
    directory = engine.log_directory(facts)
    drives = drives or Drives(policy)
    made, warnings = [], []
    logins: dict[str, str] = {}          # the login each step read as (the engine's backup account, or not)
    login_problems: dict[str, str] = {}  # why not, in the server's words

    def logged_in(step: str, told: dict[str, str]) -> None:
        logins[step], login_problems[step] = told.get("account", ""), told.get("account_problem", "")
    # where the full and the table checksums are read: the DR standby when it is current
    reader, reader_port, read_on = target, port, asset
    if job.read_from == "standby" and engine.reads_on_standby:
        standby, why_not = standby_to_read(policy, estate, asset, resolver)
        if standby is not None:
            reader, reader_port, read_on = standby.target, int(standby.port), standby.name
        elif why_not:
            warnings.append(f"read on the primary: {why_not}")
    why_full = full_due(catalogue, name, asset, job.levels.full_every_days, requested)
    decrypt = "age -d -i KEYFILE | " if to else ""
    sealed = f", encrypted with age to {to}" if to else ", not compressed, not encrypted"
    before = [] if why_full else catalogue.chain(name, asset)
    backups = [r for r in before if r.kind != "log"]
    if why_full or engine.incremental:
        kind = "full" if why_full else "incremental"
        parent = before[-1] if before else None
        since = "" if why_full else facts_of(backups[-1])["to_lsn"]
        began = utcnow()
        header = {"job": name, "run": run_id, "asset": asset, "level": str(parent.level + 1 if parent else 0),
                  "parent run": parent.id if parent else "none (a full)",
                  "kind": f"{engine.name} {kind} backup" + (f" from log position {since}" if since else ""),
                  "content": engine.full_format + sealed, "taken on": read_on,
                  "restore": f"{decrypt}{engine.full_extract}, then its logs"}
        try:
            streamed = _to_tape(policy, job.pool, catalogue, drives, reader, engine.full_backup,
                                [str(reader_port), f"mzops {run_id}", since], header, to,
                                f"{run_id}-{asset}-{name}-{kind}",
                                f"the {kind}", index=engine.full_format.startswith("POSIX tar"))
            positions = engine.full_positions(streamed.said)
        except (TapeError, MzopsError, ValueError) as exc:
            return _failed(asset, f"{name}: {exc}", started)
        logged_in(kind, _told(streamed.said))
        key = f"{run_id}/{name}/{asset}/{kind}"
        catalogue_run(policy, catalogue, drives, manifests, streamed, Run(
            id=key, run_id=run_id, job=name, asset=asset, level=parent.level + 1 if parent else 0,
            parent=parent.id if parent else None, started=began, snapshot_gz=b"",
            encryption=job.encryption.key if to else "", kind=kind,
            facts=json.dumps({**positions, **engine.restore_facts(facts), "engine": engine.name, "taken_on": read_on,
                              "account": logins[kind],
                              "consistent": utcnow(), **({"why": why_full} if why_full else {"since": since})})))
        made.append((key, streamed.writer.bytes, len(streamed.files), kind))
    try:
        chain = catalogue.chain(name, asset)
    except LookupError as exc:
        return _failed(asset, f"{name}: {exc}", started)
    parent = chain[-1]
    began = utcnow()
    # what each table holds now, at a log position the collection below reaches: a drill
    # replays a copy to it and compares
    steps = {"backup": time.monotonic() - started}            # seconds of each step, for the record
    sums, said_sums, told = table_sums(engine, reader, reader_port)
    if said_sums and reader is not target:
        warnings.append(f"table checksums read on the primary: {read_on}: {said_sums.strip()}")
        sums, said_sums, told = table_sums(engine, target, port)
    logged_in("checksums", told)
    steps["checksums"] = time.monotonic() - started - sum(steps.values())
    if said_sums:
        warnings.append(f"no table checksums for drills: {said_sums}")
    header = {"job": name, "run": run_id, "asset": asset, "level": str(parent.level + 1), "parent run": parent.id,
              "kind": f"{engine.name} archived logs", "content": "POSIX tar" + sealed,
              "restore": f"{decrypt}tar -x -f - -C LOG_ARCHIVE"}
    sent = _newest_log(catalogue, name, asset)
    try:
        streamed = _to_tape(policy, job.pool, catalogue, drives, target, engine.log_backup,
                            [str(port), directory, facts.get("data_directory", ""), sent], header, to,
                            f"{run_id}-{asset}-{name}-log", "the logs")
    except (TapeError, MzopsError) as exc:
        return _failed(asset, f"{name}: {exc}", started)
    said = _told(streamed.said)
    if "upto" not in said or "upto_time" not in said:
        return _failed(asset, f"{name}: the log collection did not say how far it reached", started)
    logged_in("logs", said)
    warnings.append(login_warning(engine, logins, login_problems))
    names = [f["path"] for f in streamed.files if f["kind"] == "file"]
    # from the backup before this run's incremental, if it took one: a log lost before the
    # incremental leaves the times before it unrestorable, though the chain goes on
    last = backups[-1] if made and made[0][3] == "incremental" else [r for r in chain if r.kind != "log"][-1]
    after = [r.id for r in chain].index(last.id) + 1
    earlier = [path for r in chain[after:] if r.kind == "log" for path in _log_names(catalogue, r.id)]
    gaps = engine.log_gaps(facts_of(last), earlier + names, said["upto"])
    key = f"{run_id}/{name}/{asset}/log"
    catalogue_run(policy, catalogue, drives, manifests, streamed, Run(
        id=key, run_id=run_id, job=name, asset=asset, level=parent.level + 1, parent=parent.id, started=began,
        snapshot_gz=b"", encryption=job.encryption.key if to else "", kind="log",
        facts=json.dumps({"upto": said["upto"], "upto_time": said["upto_time"], "logs": len(names),
                          "gaps": gaps[:20], "sums": sums})))
    made.append((key, streamed.writer.bytes, len(names), "log"))
    steps["logs"] = time.monotonic() - started - sum(steps.values())
    if engine.log_commit is not None:
        # the logs leave the server only now that they are catalogued (a failure here sends them again)
        committed = ssh.run_script(target, engine.log_commit, [str(port), directory], timeout=120)
        if committed.rc != 0:
            warnings.append(f"the archived logs stay on the server: {committed.stderr[-200:]}")
    seconds = time.monotonic() - started
    warnings = list(dict.fromkeys(w for w in warnings if w))
    record = {"runs": [k for k, _, _, _ in made], "run": made[-1][0], "job": name, "level": parent.level + 1,
              "logins": logins,
              "bytes": sum(b for _, b, _, _ in made), "files": sum(n for _, _, n, _ in made), "warnings": warnings,
              "steps": {k: round(v, 3) for k, v in steps.items()}}
    if gaps:
        return Outcome(asset, "failed", f"{name}: log {gaps[0]} is missing from the archive ({len(gaps)} missing "
                       f"before {said['upto']}): no restore can pass it; the next run takes a new full",
                       seconds=seconds, record=record)
    first = made[0][3] if len(made) > 1 else None
    on = f" on {read_on}" if read_on != asset else ""
    message = (f"{name}: " + (f"a full ({why_full}){on}, then " if first == "full" else
                              f"an incremental{on}, then " if first == "incremental" else "") +
               f"{len(names)} logs up to {said['upto']} ({said['upto_time']})")
    return Outcome(asset, "changed", message + "".join(f"; {w}" for w in warnings), seconds=seconds, record=record)


def standby_to_read(policy: Policy, estate: Estate, asset: str, resolver) -> tuple[object | None, str]:
    """The DR standby of ASSET (a pair of a plan in the policy's `dr/`) when it is current
    enough to read the full and the checksums on (mzops.dr.replication.current_standby),
    or (None, why not: "" when no plan pairs ASSET)."""
    from mzops.dr import plan as plans
    from mzops.dr.replication import current_standby
    try:
        found = plans.pair_of(policy.folder, asset, estate)
        if found is None:
            return None, ""
        return current_standby(estate, resolver or Resolver(), found[1])
    except MzopsError as exc:         # a broken plan or an unreachable standby: the primary, said
        return None, str(exc)


def _to_tape(policy, pool, catalogue, drives, target, script, args, header, to, stem, what: str, index=True):
    """A stream of the engine's onto tape (`stream_to_tape`); OperationFailed naming WHAT
    when its script failed or its members could not be indexed (INDEX: a tar stream)."""
    streamed = stream_to_tape(policy, pool, catalogue, drives, target, script, args, header, header["restore"], to,
                              stem, index=index)
    if streamed.rc != 0 or streamed.errors:
        raise OperationFailed(f"{what} failed (exit {streamed.rc}): {(streamed.errors or [streamed.said])[0][-300:]}")
    return streamed


def _newest_log(catalogue: Catalogue, job: str, asset: str) -> str:
    """The newest archived log of ASSET on tape ("" for none): an engine whose server keeps
    its own logs (MariaDB's binary logs) sends only those after it."""
    from sqlalchemy import func, select
    from mzops.backup.catalogue import File
    with catalogue.session() as session:
        keys = select(Run.id).where(Run.job == job, Run.asset == asset, Run.kind == "log")
        return session.scalar(select(func.max(File.path)).where(File.run_key.in_(keys), File.kind == "file")) or ""


def _log_names(catalogue: Catalogue, run_key: str) -> list[str]:
    return [f.path for f in catalogue.files_of(run_key) if f.kind == "file"]


# ----------------------------------------------------------------------- restore


@dataclass
class Plan:
    job: str
    asset: str
    target: str                # what is replayed to, for people: a time (ISO 8601, UTC) or a position
    recovery: str              # the engine's target: time=ISO or position=POSITION
    chain: list[Run]           # the full, then the log collections
    first_log: str
    last_log: str
    where: dict[str, str]      # volume -> where it is

    def to_dict(self, library: str | None = None) -> dict:
        return {"job": self.job, "asset": self.asset, "at": self.target, "full": self.chain[0].id,
                "logs": {"from": self.first_log, "to": self.last_log},
                "steps": [{"run": r.id, "kind": r.kind, "finished": r.finished,
                           "parts": [{"volume": p.volume, "file": p.tape_file, "where": self.where.get(p.volume,
                                                                                                     "unknown")}
                                     for p in restoring.parts_of(r, library)]} for r in self.chain]}


def log_runs(catalogue: Catalogue, job: str, asset: str) -> tuple[list[Run], dict[str, str]]:
    from sqlalchemy import select
    with catalogue.session() as session:
        runs = list(session.scalars(select(Run).where(Run.job == job, Run.asset == asset, Run.kind == "log")
                                    .order_by(Run.finished)))
        where = {v.barcode: v.location or v.library for v in session.scalars(select(VolumeRow))}
    if not runs:
        raise InputError(f"no database backup of {asset} by job {job}")
    return runs, where


def plan(policy: Policy, catalogue: Catalogue, estate: Estate, job: str, asset: str, at: str) -> Plan:
    """The full and log collections a restore of ASSET to AT (UTC ISO 8601) reads, every
    log between them checked to be on tape."""
    wanted = dt.datetime.fromisoformat(at)
    runs, where = log_runs(catalogue, job, asset)
    closing = [r for r in runs if dt.datetime.fromisoformat(facts_of(r)["upto_time"]) >= wanted]
    if not closing:
        last = facts_of(runs[-1])["upto_time"]
        raise OperationFailed(f"{asset}: the logs on tape reach {last}; {at} is later: run the job again "
                              "(it collects the logs archived since) and restore then")
    for run in closing:
        chain = catalogue.chain(job, asset, run=run.id)
        if chain[0].kind == "full" and _consistent(chain[0]) <= wanted:
            break
    else:
        raise OperationFailed(f"{asset}: no full of job {job} was complete before {at}")
    shown = wanted.astimezone(dt.timezone.utc).isoformat()
    return checked_plan(catalogue, estate, job, asset, chain, shown, f"time={shown}", where, wanted)


def _consistent(run: Run) -> dt.datetime:
    return dt.datetime.fromisoformat(facts_of(run)["consistent"])


def checked_plan(catalogue: Catalogue, estate: Estate, job: str, asset: str, chain: list[Run], shown: str,
                 recovery: str, where: dict[str, str], until: dt.datetime | None = None) -> Plan:
    """What a restore of CHAIN reads: its full and incrementals complete by UNTIL, then
    the log collections after the last of them, once every log from that backup's end to
    the last collection is known to be on tape (a missing one is named; nothing is restored)."""
    backups = [r for r in chain if r.kind != "log" and (until is None or _consistent(r) <= until)]
    logs = [r for r in chain[chain.index(backups[-1]) + 1:] if r.kind == "log"]
    base = facts_of(backups[-1])
    engine = engines.get(facts_of(chain[0]).get("engine") or estate.assets[asset].db_engine, asset)
    names = [path for r in logs for path in _log_names(catalogue, r.id)]
    upto = facts_of(chain[-1])["upto"]
    gaps = engine.log_gaps(base, names, upto)
    if gaps:
        raise OperationFailed(f"{asset}: log {gaps[0]} is not on tape ({len(gaps)} missing between "
                              f"{backups[-1].id} and {upto}): a restore to {shown} cannot replay past it; "
                              "none attempted")
    needed = engine.log_gaps(base, [], upto)          # with no log at hand: every one the replay reads
    return Plan(job, asset, shown, recovery, backups + logs, needed[0] if needed else upto, upto, where)


PREPARE = """set -eu
dir=$1
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  echo "$dir is not empty: a restore goes into a new folder (never over a server's data)" >&2; exit 3
fi
mkdir -p "$dir"
chmod 0700 "$dir"
: > "$dir/.mzops-restore"          # what a drill may remove: only a folder a restore made
"""


def restore(policy: Policy, catalogue: Catalogue, estate: Estate, found: Plan, host: str, directory: str | None,
            library: str | None = None, resolver=None, target=None, first_byte=None) -> dict:
    """Extract FOUND's full and logs on HOST (an inventory host with the engine's
    programs) into DIRECTORY (new or empty) and open the copy there at the plan's time.
    Where the copy is: host, port, data directory, socket."""
    if host not in estate.assets or estate.assets[host].kind != "host":
        raise InputError(f"--to {host}: not a host of {estate.source} (a restore goes to an inventory host)")
    entry = estate.assets[found.asset]
    engine = engines.get(entry.db_engine, found.asset)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    directory = directory or f"{RESTORES}/{found.asset}-{stamp}"
    if not directory.startswith("/") or any(c in directory for c in "\n\0"):
        raise InputError(f"--to {host}:{directory}: an absolute folder on the host")
    target = target or ssh.target_of(estate.assets[host], resolver)
    started = time.monotonic()
    prepared = ssh.run_script(target, PREPARE.encode(), [directory], timeout=60)
    if prepared.rc != 0:
        raise OperationFailed(f"{host}: {prepared.stderr[-300:] or 'could not prepare ' + directory}")
    first_read, increments = _extract(policy, catalogue, found, engine, target, host, directory, library, resolver,
                                      started, first_byte)
    base = facts_of([r for r in found.chain if r.kind != "log"][-1])
    opened = ssh.run_script(target, engine.restore_start,
                            [directory, found.recovery, *engine.restore_args(base, increments)], timeout=7200)
    if opened.rc != 0:
        raise OperationFailed(f"{host}: the copy in {directory} did not open at {found.target}: "
                              f"{opened.stderr[-500:]}")
    said = _told(opened.stdout.decode(errors="replace"))
    return {"host": host, "port": int(said.get("port", engine.default_port)),
            "data_directory": said.get("data_directory", directory), "folder": directory,
            "socket": said.get("socket", ""), "at": found.target,
            "replayed": opened.stderr.strip().splitlines()[-2:], "first_byte_seconds": round(first_read or 0, 3),
            "seconds": round(time.monotonic() - started, 3), "plan": found.to_dict(library)}


def _extract(policy: Policy, catalogue: Catalogue, found: Plan, engine, target, host: str, directory: str,
             library: str | None, resolver, started: float, first_byte=None) -> tuple[float | None, int]:
    """FOUND's runs read off tape (each part's checksum checked) into DIRECTORY on HOST,
    each where the engine lays it out; (seconds to the first byte, incrementals)."""
    job = policy.jobs[found.job]
    mounter = Mounter(policy, job.pool, catalogue, library=library)
    block = policy.pools[job.pool].block_size
    first_read = None
    increments = 0
    try:
        for run in found.chain:
            increments += run.kind == "incremental"
            folder, extract = engine.restore_layout(run.kind, increments)
            with ssh.feed(target, extract, [f"{directory}/{folder}".rstrip("/")]) as proc:
                try:
                    parts = restoring.parts_of(run, library)
                    for record in restoring.plaintext(restoring.records(mounter, run, block, parts), run, resolver):
                        if first_read is None:
                            first_read = time.monotonic() - started
                            if first_byte is not None:
                                first_byte()
                        proc.stdin.write(record)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
                said = proc.stderr.read().decode(errors="replace").strip()
                if proc.wait() != 0:
                    raise OperationFailed(f"{host}: {run.id} could not be extracted: {said[-300:]}")
    finally:
        mounter.drive.close()
    return first_read, increments


def restore_in_place(policy: Policy, catalogue: Catalogue, estate: Estate, found: Plan, apply: bool,
                     library: str | None = None, resolver=None, target=None) -> dict:
    """FOUND restored over the asset's own server, which must be stopped: its data
    directory moved aside whole (the way back, kept), the runs extracted in its place, the
    server started with its own configuration, replayed to the plan's time and opened
    read-write. Without APPLY only checked and said. A failure after the data was moved
    puts it back."""
    entry = estate.assets[found.asset]
    engine = engines.get(entry.db_engine, found.asset)
    if engine.in_place_prepare is None:
        raise InputError(f"{found.asset}: mzops restores {engine.name} into a scratch copy only (--to HOST)")
    host = entry.db_server
    port = str(entry.db_port or engine.default_port)
    base = facts_of([r for r in found.chain if r.kind != "log"][-1])
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = target or ssh.target_of(estate.assets[host], resolver)
    started = time.monotonic()
    checked = ssh.run_script(target, engine.in_place_prepare,
                             [port, base.get("data_directory", ""), stamp, "" if apply else "check"], timeout=120)
    said = _told(checked.stdout.decode(errors="replace"))
    if checked.rc != 0 or "data_directory" not in said:
        raise OperationFailed(f"{host}: {checked.stderr.strip()[-300:] or f'exit {checked.rc}'}")
    data, kept = said["data_directory"], said["kept"]
    out = {"host": host, "port": int(port), "data_directory": data, "kept": kept, "at": found.target,
           "in_place": True, "applied": apply, "plan": found.to_dict(library)}
    if not apply:
        return out
    try:
        first_read, increments = _extract(policy, catalogue, found, engine, target, host, data, library, resolver,
                                          started)
        opened = ssh.run_script(target, engine.in_place_start,
                                [port, data, found.recovery, *engine.restore_args(base, increments)], timeout=7200)
        if opened.rc != 0:
            raise OperationFailed(f"{host}: the server did not open on its restored data at {found.target}: "
                                  f"{opened.stderr[-500:]}")
    except (OperationFailed, TapeError, MzopsError) as exc:
        undone = ssh.run_script(target, engine.in_place_undo, [data, kept], timeout=600)
        back = ("its data before the restore is back in place (the server stopped)" if undone.rc == 0 else
                f"its data before the restore is still at {kept}: {undone.stderr.strip()[-200:]}")
        raise OperationFailed(f"{exc}; {back}") from None
    return {**out, "replayed": opened.stderr.strip().splitlines()[-2:],
            "first_byte_seconds": round(first_read or 0, 3), "seconds": round(time.monotonic() - started, 3)}
