"""Fence the old primary: afterwards it takes no write, so there are never two
writable primaries. Planned: a clean stop (its last WAL, the shutdown checkpoint,
reaches a streaming standby before it exits), whose position gates the promotion.
Disaster: an immediate stop if its host answers; if it does not, its state cannot be
known and the step refuses unless a person says how it is fenced (`--fenced-by`,
recorded with their name)."""

from __future__ import annotations

import time

from mzops.dr.steps import NoParams, StepFailed
from mzops.engines.base import DOWN, PRIMARY, STANDBY, STOPPED

Params = NoParams


def run(mission, step) -> str:
    from mzops.dr.mission import DISASTER, last_known, read_state
    said = []
    for link in mission.links:
        source = link.source
        mode = "immediate" if mission.mode == DISASTER else "fast"
        done = mission.run_script(source, source.engine.server_stop, [source.port, source.data, mode],
                                  timeout=min(mission.remaining(), 30 if mission.mode == DISASTER else 600))
        if not done.transport_failed:
            source.unreachable_at = None            # it answered: ask it again
        else:
            source.unreachable_at = time.monotonic()
        state = read_state(source, timeout=min(mission.remaining(), 20)) if not done.transport_failed else None
        seen = last_known(source.name)
        if state is not None and state.role == STOPPED and state.was == PRIMARY:
            link.source_last, link.source_last_text = state.position, state.position_text
            link.source_last_basis, link.source_last_exact = source.engine.stopped_position_name, True
            link.source_last_timeline = state.timeline
            link.fenced = f"stopped cleanly (-m {mode})"
        elif state is not None and state.role in (DOWN, STOPPED) and "unreachable" not in state.problem \
                and done.rc == 0:
            link.fenced = f"stopped (-m {mode}): {state.problem or state.role}"
            _last_seen(link, seen, state)
        elif mission.mode != DISASTER:
            raise mission.fail(source, done, "did not stop cleanly") if done.rc else StepFailed(
                f"{source.name} is {state.role if state else 'unknown'} after the stop")
        elif mission.fenced_by:
            link.fenced = f"not reachable; fenced by {mission.operator}: {mission.fenced_by}"
            _last_seen(link, seen, None)
        else:
            why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.rc}"
            raise StepFailed(f"{source.name}'s state cannot be known ({why}): it may still take writes. Fence it "
                             "(power, network) and say how with --fenced-by TEXT; nothing was promoted")
        if state is not None and state.role in (PRIMARY, STANDBY):
            raise StepFailed(f"{source.name} still answers as {state.role} after the stop")
        said.append(f"{source.name}: {link.fenced}")
    return "; ".join(said)


def _last_seen(link, seen: dict, state) -> None:
    """The best there is after an unclean stop: the newest position mzops saw while the
    server ran, or its last checkpoint, whichever is later."""
    engine = link.source.engine
    candidates = []
    if seen.get("position"):
        candidates.append((engine.position(seen["position"]), seen["position"], f"last seen {seen.get('seen')}",
                           seen.get("timeline")))
    if state is not None and state.position is not None:
        candidates.append((state.position, state.position_text, "last checkpoint", state.timeline))
    if candidates:
        best = max(candidates, key=lambda candidate: candidate[0])
        link.source_last, link.source_last_text, link.source_last_basis, link.source_last_timeline = best
    else:
        link.source_last_basis = "unknown"
