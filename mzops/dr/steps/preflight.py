"""Check before anything changes. Planned: the old primary runs and is writable, the
standby streams from it and is no further behind than `max_lag_bytes` (or
`max_lag_transactions`, for engines that count transactions), and the old
primary could later follow the new one (pg_rewind's needs). Disaster: the standby
answers as a standby; the lost side is only looked at."""

from __future__ import annotations

from mzops.dr.steps import NoParams, StepFailed
from mzops.engines.base import PRIMARY, STANDBY

Params = NoParams


def run(mission, step) -> str:
    from mzops.dr.mission import DISASTER, read_state
    from mzops.dr.replication import fork_text
    said = []
    for link in mission.links:
        source, target = link.source, link.target
        t = read_state(target, timeout=mission.remaining())
        if t.role != STANDBY:
            raise StepFailed(f"{target.name} is {t.role}, not a standby{': ' + t.problem if t.problem else ''}")
        s = read_state(source, timeout=min(mission.remaining(), 20))
        if mission.mode == DISASTER:
            said.append(f"{target.name} standby at {t.position_text}; {source.name} {s.role}"
                        + (f" ({s.problem})" if s.problem else ""))
            continue
        if s.role != PRIMARY:
            raise StepFailed(f"{source.name} is {s.role}, not a running primary")
        if s.position is None or t.position is None:      # no position read: nothing can be compared
            raise StepFailed(f"{(source if s.position is None else target).name} did not say its log position")
        fork = fork_text(t, source)
        if fork:                                          # the lag below would be a number across two histories
            raise StepFailed(f"{target.name}: {fork}; `mzops dr protect {mission.plan.name}` rebuilds it")
        lag = s.position - t.position
        unit = target.engine.position_unit
        spec = mission.plan.spec.replication
        limit = spec.max_lag_bytes if unit == "bytes of WAL" else spec.max_lag_transactions
        if lag > limit:
            raise StepFailed(f"{target.name} is {lag} {unit} behind {source.name} (a planned failover takes "
                             f"at most {limit}): let it catch up first"
                             + (f" ({t.problem})" if t.problem else ""))
        if t.problem:
            raise StepFailed(f"{target.name}: {t.problem}")
        if t.following != source.asset.address:
            raise StepFailed(f"{target.name} follows {t.following or 'nobody'}, not {source.name} "
                             f"({source.asset.address})")
        problems = source.engine.replication_problems(s.facts)
        if problems:
            raise StepFailed(f"{source.name}: {problems[0]}; no way back after the failover")
        said.append(f"{target.name} streams from {source.name}, {lag} {unit} behind")
    return "; ".join(said)
