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
    """Volumes (barcode -> state) that hold no part of a kept run and are not already recycled."""
    needed = {v for r in runs if r.id in keep for v in r.volumes}
    return sorted(b for b, state in volumes.items() if b not in needed and state != "recycled")
