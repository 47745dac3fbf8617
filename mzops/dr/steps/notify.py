"""Say that the service moved: a line in the run's output and record (the operation
log records the run), and in the host's syslog of the new primary's server, where the
estate's log collection picks it up."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = "service {service} now runs at {site}"


LOGGER = b"""command -v logger >/dev/null 2>&1 && logger -t mzops-dr -- "$1" || true
"""


def run(mission, step) -> str:
    said = []
    for link in mission.links:
        text = step.params.message.format(service=mission.plan.spec.service, site=link.target.asset.site,
                                          primary=link.target.name, plan=mission.plan.name)
        mission.run_script(link.target, LOGGER, [text], timeout=min(mission.remaining(), 15))
        said.append(text)
    return "; ".join(dict.fromkeys(said))
