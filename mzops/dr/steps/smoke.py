"""Prove the switch: every new primary takes a write (and the plan's own SQL checks
pass there), and no old primary does, where it can be asked: two writable primaries
are the one outcome a failover must never have."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mzops.dr.remote import with_secrets
from mzops.dr.steps import StepFailed


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sql: list[str] = []           # statements that must succeed on the new primary


def run(mission, step) -> str:
    said = []
    for link in mission.links:
        target, source = link.target, link.source
        probe = mission.run_script(target, target.engine.write_probe, [target.port])
        if probe.rc != 0:
            raise mission.fail(target, probe, "the new primary takes no write")
        if step.params.sql:
            statements = "\n".join(s.rstrip().rstrip(";") + ";" for s in step.params.sql)
            checked = mission.run_script(target, with_secrets(target.engine.sql_exec, PORT=target.port,
                                                              sql=statements), [])
            if checked.rc != 0:
                raise mission.fail(target, checked, "a smoke check failed")
        if mission.lost(source):
            said.append(f"{target.name} takes writes; {source.name} not reachable (fenced: {link.fenced})")
            continue
        old = mission.run_script(source, source.engine.write_probe, [source.port], timeout=min(mission.remaining(), 15))
        if old.rc == 0:
            raise StepFailed(f"{source.name} takes writes too: TWO WRITABLE PRIMARIES; fence {source.name} now")
        said.append(f"{target.name} takes writes, {source.name} does not")
    return "; ".join(said)
