"""One result model for every command that acts on many targets.

Each target ends in one of five states; the run aggregates them and decides the exit
code by one rule for every command (README, "CLI conventions"):

    1  some target failed or was refused (a finding, a change that failed, a guard
       that said no, a target that could not be assessed for a reason a person must fix)
    3  otherwise, some target could not be reached
    0  otherwise

A failure wins over an unreachable target: a scheduler or an operator who retries an
"unreachable" run must never hide a change that failed. Both lists are in the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from mzops.errors import EXIT_FINDINGS, EXIT_OK, EXIT_UNREACHABLE

OK, CHANGED, FAILED, UNREACHABLE, REFUSED = "ok", "changed", "failed", "unreachable", "refused"
STATES = (OK, CHANGED, FAILED, UNREACHABLE, REFUSED)


@dataclass
class Outcome:
    """What happened on one target. `record` is the capability's own detail (an audit's
    rule results, a hardening host run, a firewall push), kept for its renderers."""

    target: str
    state: str
    message: str = ""
    diff: str = ""
    seconds: float = 0.0
    record: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"{self.target}: unknown outcome state {self.state!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "state": self.state, "message": self.message, "diff": self.diff,
                "seconds": round(self.seconds, 3)}


def exit_code(outcomes: Iterable[Outcome]) -> int:
    states = {o.state for o in outcomes}
    if states & {FAILED, REFUSED}:
        return EXIT_FINDINGS
    if UNREACHABLE in states:
        return EXIT_UNREACHABLE
    return EXIT_OK


@dataclass
class Result:
    """Every target's outcome of one run of one capability."""

    capability: str
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    # A reason the run stopped before every target was worked on (a refusal, a failed batch).
    stopped: str = ""

    def _named(self, *states: str) -> list[str]:
        return [o.target for o in self.outcomes if o.state in states]

    @property
    def failed(self) -> list[str]:
        return self._named(FAILED, REFUSED)

    @property
    def unreachable(self) -> list[str]:
        return self._named(UNREACHABLE)

    @property
    def changed(self) -> list[str]:
        return self._named(CHANGED)

    @property
    def targets(self) -> list[str]:
        return [o.target for o in self.outcomes]

    def exit_code(self) -> int:
        code = exit_code(self.outcomes)
        return code or (EXIT_FINDINGS if self.stopped else EXIT_OK)

    def summary(self) -> dict[str, Any]:
        return {"capability": self.capability, "run_id": self.run_id, "seconds": round(self.seconds, 3),
                "targets": len(self.outcomes), "failed": self.failed, "unreachable": self.unreachable,
                "changed": self.changed, "stopped": self.stopped, "exit_code": self.exit_code()}
