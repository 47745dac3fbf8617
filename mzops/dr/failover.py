"""Failover and failback as runs of a plan: direction chosen from what the servers say,
the plan's steps run by a Mission, the record kept under $MZOPS_HOME/dr/RUN/."""

from __future__ import annotations

from typing import Callable

from mzops.dr import drill as drills
from mzops.dr.mission import DISASTER, DRILL, FAILBACK, PLANNED, RECORDS, Mission, links_of
from mzops.dr.plan import Plan, Step, StepSpec
from mzops.dr.steps import known
from mzops.errors import InputError, MzopsError
from mzops.inventory.model import Estate
from mzops.secrets import Resolver


def _mission(plan: Plan, estate: Estate, resolver: Resolver, mode: str, operator: str, run_id: str,
             say: Callable[[str], None], confirm, fenced_by: str, accept_loss: bool) -> Mission:
    mission = Mission(plan, estate, resolver, mode, operator, run_id, say=say, confirm=confirm,
                      fenced_by=fenced_by, accept_loss=accept_loss)
    mission.links = links_of(plan, estate, resolver)
    mission.choose_direction()
    return mission


def failover(plan: Plan, estate: Estate, resolver: Resolver, mode: str, operator: str, run_id: str,
             say: Callable[[str], None] = print, confirm=None, fenced_by: str = "", accept_loss: bool = False) -> dict:
    if mode not in (PLANNED, DISASTER):
        raise InputError(f"a failover is planned or disaster (got {mode!r})")
    mission = _mission(plan, estate, resolver, mode, operator, run_id, say, confirm, fenced_by, accept_loss)
    ok = mission.run()
    record = mission.record(ok)
    RECORDS.save(run_id, record)
    return record


def _rejoin(name: str, who: str, timeout: float) -> Step:
    module = known()["rejoin"]
    return Step(StepSpec(name=name, kind="rejoin", group=1, timeout=timeout), module.Params(who=who), module)


def failback(plan: Plan, estate: Estate, resolver: Resolver, operator: str, run_id: str,
             say: Callable[[str], None] = print, confirm=None, timeout: float = 1800) -> dict:
    """The primary site back: its old primary rewound into a standby of the DR site and
    caught up, the plan's steps run as a planned switch back (the same gates), then the
    DR site made a standby again, so the plan ends protected as it began."""
    mission = _mission(plan, estate, resolver, FAILBACK, operator, run_id, say, confirm, "", False)
    steps = [_rejoin("follow-dr-site", "target", timeout), *plan.steps, _rejoin("protect-again", "source", timeout)]
    ok = mission.run(steps)
    record = mission.record(ok)
    RECORDS.save(run_id, record)
    return record


def drill(plan: Plan, estate: Estate, resolver: Resolver, operator: str, run_id: str,
          say: Callable[[str], None] = print) -> dict:
    """A DR drill of every pair of PLAN (mzops.dr.drill), recorded like a failover."""
    mission = Mission(plan, estate, resolver, DRILL, operator, run_id, say=say)
    mission.links = links_of(plan, estate, resolver)
    ok = drills.drill(mission)
    record = mission.record(ok)
    RECORDS.save(run_id, record)
    return record


def history(plan: str | None = None) -> list[dict]:
    out = []
    root = RECORDS.root
    if not root.is_dir():
        return out
    for folder in sorted(root.iterdir()):
        if (folder / "run.json").is_file():
            try:
                record = RECORDS.load(folder.name)
            except (MzopsError, ValueError):    # a damaged record is listed as such, never skipped silently
                out.append({"run_id": folder.name, "result": "unreadable record"})
                continue
            if plan is None or record.get("plan") == plan:
                out.append(record)
    return out

