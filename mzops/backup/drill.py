"""Restore drills (GB/T 22239-2019 8.1.4.9 a)): a backup is proven by restoring it.

A drill takes an asset's backup at a random point within its job's retention and
restores it where it harms nothing, checks what came back, removes it and records the
result with its timings (until the first byte came off tape, and in all):

- files: a random run's chain, restored on the backup server into a scratch folder;
  every file the tree should hold at that run (its latest level's version, unless a
  later level's snapshot says it was gone) must be there with the SHA-256 recorded when
  it was written;
- a database: a random log collection's recorded table checksums (row counts and an
  order-free sum of each row's MD5, read in one snapshot, with the WAL position it was
  read at), replayed to exactly that position in a scratch copy on the drill host; then
  the engine's own checks of the copy (PostgreSQL: pg_amcheck), each table compared.

A drill that cannot check (no recorded checksums, a part that does not match) fails:
a drill never passes on less than it says it checked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from mzops import engines, paths
from mzops.backup import database
from mzops.backup import restore as restoring
from mzops.backup.catalogue import Catalogue, Drill, Run, utcnow
from mzops.backup.engine import snapshot_entries
from mzops.backup.policy import Policy
from mzops.connect import ssh
from mzops.errors import InputError, MzopsError
from mzops.inventory.model import Estate


@dataclass
class Result:
    job: str
    asset: str
    point: str = ""
    host: str = ""
    started: str = field(default_factory=utcnow)
    seconds: float = 0.0
    first_byte_seconds: float = 0.0
    checked: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and bool(self.checked)

    def to_dict(self) -> dict:
        return {"job": self.job, "asset": self.asset, "point": self.point, "host": self.host,
                "started": self.started, "seconds": round(self.seconds, 3),
                "first_byte_seconds": round(self.first_byte_seconds, 3), "passed": self.passed,
                "checked": self.checked, "problems": self.problems}


def candidates(policy: Policy, estate: Estate | None, catalogue: Catalogue) -> list[tuple[str, str]]:
    """(job, asset) of every job's asset with a catalogued run."""
    with catalogue.session() as session:
        backed_up = set(session.execute(select(Run.job, Run.asset).distinct()).all())
    return sorted((job, asset) for job, asset in backed_up if job in policy.jobs)


def choose(found: list[tuple[str, str]], assets: list[str], count: int, rng: random.Random) -> list[tuple[str, str]]:
    if assets:
        chosen = [c for c in found if c[1] in assets]
        missing = sorted(set(assets) - {asset for _, asset in chosen})
        if missing:
            raise InputError(f"--asset {missing[0]}: no catalogued backup to drill")
        return chosen
    return sorted(rng.sample(found, min(count, len(found))))


def _window(policy: Policy, job: str, runs: list[Run], now: dt.datetime) -> list[Run]:
    """RUNS within the job's restorable days (all of them when none is that young)."""
    start = now - dt.timedelta(days=policy.jobs[job].retention.restorable_days)
    young = [r for r in runs if dt.datetime.fromisoformat(r.finished) >= start]
    return young or runs


def drill(policy: Policy, catalogue: Catalogue, estate: Estate | None, job: str, asset: str, rng: random.Random,
          host: str | None = None, resolver=None, target=None, scratch: Path | None = None,
          now: dt.datetime | None = None) -> Result:
    """One drill of ASSET's backups by JOB, recorded in the catalogue."""
    result = Result(job, asset)
    started = time.monotonic()
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        if policy.jobs[job].kind == "database":
            _database(policy, catalogue, estate, job, asset, rng, host, resolver, target, scratch, result, started,
                      now)
        else:
            _files(policy, catalogue, job, asset, rng, resolver, scratch, result, started, now)
    except (MzopsError, LookupError, ValueError) as exc:
        result.problems.append(str(exc))
    result.seconds = time.monotonic() - started
    with catalogue.session() as session, session.begin():
        session.add(Drill(job=job, asset=asset, point=result.point, host=result.host, started=result.started,
                          seconds=result.seconds, first_byte_seconds=result.first_byte_seconds,
                          passed=result.passed, checked=result.checked, problems="\n".join(result.problems)))
    return result


def _files(policy, catalogue, job, asset, rng, resolver, scratch, result: Result, started: float, now) -> None:
    with catalogue.session() as session:
        runs = list(session.scalars(select(Run).where(Run.job == job, Run.asset == asset).order_by(Run.finished)))
    chosen = rng.choice(_window(policy, job, runs, now))
    result.point = chosen.id
    chain = catalogue.chain(job, asset, run=chosen.id)
    folder = scratch or (paths.mzops_home() / "backup" / "drills")
    folder.mkdir(parents=True, exist_ok=True)
    into = Path(tempfile.mkdtemp(prefix=f"{asset}-", dir=folder))
    try:
        timing: dict[str, float] = {}
        restoring.restore(policy, catalogue, job, asset, into, run=chosen.id, resolver=resolver,
                          first_byte=lambda: timing.setdefault("first", time.monotonic() - started))
        result.first_byte_seconds = timing.get("first", 0.0)
        expected: dict[str, str] = {}
        for run in chain:                         # a later level's version wins
            for f in catalogue.files_of(run.id):
                if f.kind == "file":
                    expected[f.path] = f.sha256
        entries = snapshot_entries(catalogue.snapshot_of(chain[-1].id) or b"")
        compared = 0
        for name, sha256 in sorted(expected.items()):
            path = into / name
            parent, _, base = name.rpartition("/")
            if not path.is_file():
                if parent in entries and base not in entries[parent]:
                    continue                      # gone by the chosen run: its snapshot says so
                result.problems.append(f"{name}: not restored")
                continue
            compared += 1
            if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
                result.problems.append(f"{name}: its SHA-256 differs from the one recorded when it was written")
        result.checked = f"{compared} files against their recorded SHA-256" if compared else ""
        if not compared:
            result.problems.append("no file of the chain to compare")
    finally:
        shutil.rmtree(into, ignore_errors=True)


def _database(policy, catalogue, estate, job, asset, rng, host, resolver, target, scratch, result: Result,
              started: float, now) -> None:
    host = host or policy.jobs[job].drill_host
    if not host:
        raise InputError(f"job {job}: no drill host (`drill_host:` in jobs.yml, or --to HOST)")
    result.host = host
    runs, where = database.log_runs(catalogue, job, asset)
    points = [(run, name, sums) for run in _window(policy, job, runs, now)
              for name, sums in sorted(database.facts_of(run).get("sums", {}).items()) if sums.get("position")]
    if not points:
        raise InputError(f"{asset}: no log collection within retention recorded table checksums to drill against")
    run, name, sums = rng.choice(points)
    result.point = f"{run.id} ({name} at {sums['position']})"
    chain = catalogue.chain(job, asset, run=run.id)
    found = database.checked_plan(catalogue, estate, job, asset, chain, f"position {sums['position']}",
                                  f"position={sums['position']}", where)
    engine = engines.get(estate.assets[asset].db_engine, asset)
    timing: dict[str, float] = {}
    target = target or ssh.target_of(estate.assets[host], resolver)
    directory = f"{scratch or database.RESTORES}/drill-{asset}-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}"
    try:
        opened = database.restore(policy, catalogue, estate, found, host, directory, resolver=resolver, target=target,
                                  first_byte=lambda: timing.setdefault("first", time.monotonic() - started))
        result.first_byte_seconds = timing.get("first", 0.0)
        checked = ssh.run_script(target, engine.copy_check, [opened["folder"]], timeout=7200)
        if checked.rc != 0:
            result.problems.append(f"the engine's own check of the copy failed: "
                                   f"{(checked.stderr or checked.stdout.decode(errors='replace'))[-300:]}")
        now_sums, said, _ = database.table_sums(engine, target, opened["port"], opened["socket"])
        if said:
            raise MzopsError(f"the copy's tables could not be summed: {said}")
        there = now_sums.get(name, {}).get("tables", {})
        for table, (rows, total) in sorted(sums["tables"].items()):
            if table not in there:
                result.problems.append(f"{name}.{table}: not in the copy")
            elif there[table][0] != rows:
                result.problems.append(f"{name}.{table}: {there[table][0]} rows in the copy, {rows} recorded")
            elif there[table][1] != total:
                result.problems.append(f"{name}.{table}: {rows} rows as recorded, but their checksum differs")
        result.checked = (f"{len(sums['tables'])} tables of {name} (rows and checksums), "
                          f"{engine.name}'s own checks of the copy")
    finally:                          # the copy goes, whether it opened or not
        removed = ssh.run_script(target, engine.restore_remove, [directory], timeout=600)
        if removed.rc != 0:
            result.problems.append(f"the copy in {directory} on {host} could not be removed: {removed.stderr[-200:]}")


def last_drills(catalogue: Catalogue) -> dict[tuple[str, str], Drill]:
    """(job, asset) -> its latest drill, and its latest passed one under key (job, asset, 'passed')."""
    out: dict = {}
    with catalogue.session() as session:
        for d in session.scalars(select(Drill).order_by(Drill.started)):
            out[(d.job, d.asset)] = d
            if d.passed:
                out[(d.job, d.asset, "passed")] = d
    return out
