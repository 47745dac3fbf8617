"""Promote each pair's standby, behind the position gate: it first replays what it
has received, then must have passed the old primary's last position (planned: equal
positions, so no committed row is lost), then it is promoted and must take a write."""

from __future__ import annotations

import time

from mzops.dr.steps import NoParams, StepFailed
from mzops.engines.base import STANDBY

Params = NoParams


def run(mission, step) -> str:
    from mzops.dr.mission import read_state
    said = []
    for link in mission.links:
        target = link.target
        while True:
            state = read_state(target, timeout=min(mission.remaining(), 20))
            if state.role != STANDBY:
                raise StepFailed(f"{target.name} is {state.role}, not a standby: not promoted")
            received = (state.facts or {}).get("receive_position", "")
            applied = not received or target.engine.position(received) <= (state.position or 0)
            try:
                if applied:
                    mission.gate(link)
                    break
            except StepFailed:
                if time.monotonic() + 0.2 >= mission.deadline:
                    raise
            if time.monotonic() + 0.2 >= mission.deadline:
                raise StepFailed(f"{target.name} did not replay what it received ({state.position_text} of "
                                 f"{received}) within the step's timeout")
            time.sleep(0.1)
        done = mission.run_script(target, target.engine.promote, [target.port, str(int(mission.remaining(10)))])
        if done.rc != 0:
            raise mission.fail(target, done, "promotion failed")
        link.promoted = True
        probe = mission.run_script(target, target.engine.write_probe, [target.port])
        if probe.rc != 0:
            raise mission.fail(target, probe, "promoted but takes no write")
        mission.writable_at = time.monotonic()
        for line in done.stderr.splitlines():
            if line.startswith("mzops: "):
                mission.notes.append(f"{target.name}: {line[len('mzops: '):]}")
        said.append(f"{target.name} promoted at {state.position_text} (old primary {link.source_last_text or '?'}, "
                    f"{link.source_last_basis}), writable")
    return "; ".join(said)
