"""DR drills (`dr drill PLAN`): prove the DR site can take over without touching
production or its replication. Per pair, on the DR standby's host: a throw-away copy
of the standby (a base backup of the standby itself), opened with no network at all
and read-write (as a promotion would leave it), written to, removed. Before and after,
the standby must stream from the primary, and afterwards be no further back than it was:
the drill left replication running."""

from __future__ import annotations

import time

from mzops.dr.mission import Mission, StepRecord, read_state, utcnow
from mzops.dr.replication import streams_from
from mzops.dr.steps import StepFailed

SCRATCH = "/var/lib/mzops/dr-drill"


def drill(mission: Mission) -> bool:
    """Run the drill's steps for every pair; False at the first failure."""
    mission.started = time.monotonic()
    ok = True
    for link in mission.links:
        primary, standby = link.home, link.away
        folder = f"{SCRATCH}/{mission.run_id}-{standby.name}"
        before = None

        def check() -> str:
            nonlocal before
            before = read_state(standby)
            if not streams_from(before, primary):
                raise StepFailed(f"{standby.name} does not stream from {primary.name} ({before.role}"
                                 f"{': ' + before.problem if before.problem else ''}): nothing to drill")
            return f"{standby.name} streams from {primary.name} at {before.position_text}"

        def copy() -> str:
            done = mission.run_script(standby, standby.engine.drill_copy, [standby.port, folder], timeout=3600)
            lines = done.stdout.decode(errors="replace").splitlines() + done.stderr.splitlines()
            said = dict(line[len("mzops: "):].split("=", 1) for line in lines if line.startswith("mzops: ") and "=" in line)
            if done.rc != 0:
                raise mission.fail(standby, done, "the drill copy did not open")
            mission.writable_at = mission.writable_at or time.monotonic()
            return f"a copy of {standby.name} opened isolated in {folder} (socket only) and took a write at " \
                   f"{said.get('position', '?')}"

        def remove() -> str:
            done = mission.run_script(standby, standby.engine.restore_remove, [folder], timeout=300)
            if done.rc != 0:
                raise mission.fail(standby, done, f"the drill copy {folder} was not removed")
            return f"{folder} removed"

        def untouched() -> str:
            after = read_state(standby)
            if not streams_from(after, primary) or after.problem or (after.position or 0) < (before.position or 0):
                raise StepFailed(f"{standby.name} after the drill: {after.role} at {after.position_text}"
                                 f"{': ' + after.problem if after.problem else ''}, following "
                                 f"{after.following or 'nobody'}")
            return f"{standby.name} still streams from {primary.name}, at {after.position_text}"

        for name, action in (("check-standby", check), ("open-copy", copy), ("remove-copy", remove),
                             ("replication-untouched", untouched)):
            record = StepRecord(f"{name}:{standby.name}", "drill", 1)
            mission.steps.append(record)
            record.started = utcnow().isoformat(timespec="milliseconds")
            begin = time.monotonic()
            try:
                record.message, record.result = action(), "ok"
            except StepFailed as exc:
                record.message, record.result = str(exc), "failed"
            record.seconds = round(time.monotonic() - begin, 3)
            record.ended = utcnow().isoformat(timespec="milliseconds")
            mission.say(f"{record.name}: {record.result}: {record.message}")
            if record.result == "failed":
                ok = False
                if name == "open-copy":          # a half-made copy is removed all the same
                    try:
                        remove()
                    except StepFailed as exc:
                        mission.notes.append(str(exc))
                break
    return ok
