"""Which runs a job's retention keeps, and which volumes may be recycled.

`restorable_days: N` keeps whatever a restore to any moment of the last N days needs:
the chain (full and levels) of every run finished within them, and the chain of the
last run before them (the state at the window's start). `monthly_fulls_years: Y` also
keeps the first full of each month for Y years (a full needs no other run). A volume
is recycled only when no kept run has a part on it (Amanda's retention-recover idea:
a chain's parents are kept with their children).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mzops.backup.policy import JobSpec


@dataclass(frozen=True)
class RunFacts:
    id: str
    asset: str
    level: int
    parent: str | None
    finished: dt.datetime
    volumes: frozenset[str]


def kept(runs: list[RunFacts], job: JobSpec, now: dt.datetime) -> set[str]:
    by_id = {r.id: r for r in runs}
    out: set[str] = set()

    def chain(run: RunFacts) -> None:
        while run is not None and run.id not in out:
            out.add(run.id)
            run = by_id.get(run.parent) if run.parent else None

    start = now - dt.timedelta(days=job.retention.restorable_days)
    for asset in {r.asset for r in runs}:
        mine = sorted((r for r in runs if r.asset == asset), key=lambda r: r.finished)
        before = [r for r in mine if r.finished < start]
        if before:
            chain(before[-1])
        for run in mine:
            if run.finished >= start:
                chain(run)
        if job.retention.monthly_fulls_years:
            oldest = now - dt.timedelta(days=365 * job.retention.monthly_fulls_years)
            months: set[tuple[int, int]] = set()
            for run in mine:
                if run.level == 0 and run.finished >= oldest and (run.finished.year, run.finished.month) not in months:
                    months.add((run.finished.year, run.finished.month))
                    out.add(run.id)
    return out


def recyclable(volumes: dict[str, str], runs: list[RunFacts], keep: set[str]) -> list[str]:
    """Volumes (barcode -> state) that hold no part of a kept run and are not already
    recycled; a volume in error is never recycled (its media failed: it leaves the pool)."""
    needed = {v for r in runs if r.id in keep for v in r.volumes}
    return sorted(b for b, state in volumes.items() if b not in needed and state not in ("recycled", "error"))


def plan(policy, catalogue, now: dt.datetime) -> dict:
    """What each job's retention forgets and recycles now (nothing is changed here)."""
    from sqlalchemy import select
    from mzops.backup.catalogue import Run, Volume
    with catalogue.session() as session:
        rows = list(session.scalars(select(Run)))
        facts = [RunFacts(r.id, r.asset, r.level, r.parent, dt.datetime.fromisoformat(r.finished),
                          frozenset(p.volume for p in r.parts)) for r in rows]
        jobs_of = {r.id: r.job for r in rows}
        volumes = {v.barcode: v.state for v in session.scalars(select(Volume))}
    keep: set[str] = set()
    unknown = sorted({j for j in jobs_of.values() if j not in policy.jobs})
    for name, job in policy.jobs.items():
        keep |= kept([f for f in facts if jobs_of[f.id] == name], job, now)
    keep |= {f.id for f in facts if jobs_of[f.id] in unknown}      # a job no longer in the policy: kept
    return {"expired_runs": sorted(f.id for f in facts if f.id not in keep),
            "recycled_volumes": recyclable(volumes, facts, keep), "kept_runs": len(keep),
            "jobs_not_in_policy": unknown}


def apply(catalogue, planned: dict) -> None:
    """Forget the expired runs and mark the volumes recycled, in one transaction."""
    from sqlalchemy import delete
    from mzops.backup.catalogue import File, Part, Run, Verification, Volume
    expired = planned["expired_runs"]
    with catalogue.session() as session, session.begin():
        if expired:
            session.execute(delete(Verification).where(Verification.run_key.in_(expired)))
            session.execute(delete(File).where(File.run_key.in_(expired)))
            session.execute(delete(Part).where(Part.run_key.in_(expired)))
            session.execute(delete(Run).where(Run.id.in_(expired)))
        for barcode in planned["recycled_volumes"]:
            session.get(Volume, barcode).state = "recycled"
