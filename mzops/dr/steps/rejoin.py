"""Turn one side of each pair into a standby of the other (pg_rewind after a CHECKPOINT
on the primary, the side's own configuration kept) and wait until it has caught up.
`who: target` is the side about to be promoted (the start of a failback), `who:
source` the side just given up (the end of one: the DR site protected again)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    who: Literal["target", "source"] = "source"


def run(mission, step) -> str:
    from mzops.dr.replication import rejoin
    said = []
    for link in mission.links:
        side, other = (link.target, link.source) if step.params.who == "target" else (link.source, link.target)
        said.append(rejoin(mission, side, other, mission.remaining()))
    return "; ".join(said)
