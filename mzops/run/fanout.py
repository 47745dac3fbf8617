"""Fan-out over targets: a bounded pool of workers, results in the order given.

One target's unexpected exception becomes that target's failed outcome (through
`on_error`) and the others go on; without `on_error` it is raised once all are done,
so a programming error is never swallowed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

from mzops.run.events import Events
from mzops.run.outcome import Outcome

T = TypeVar("T")
R = TypeVar("R")


def each(items: Iterable[T], work: Callable[[T], R], forks: int = 10, *,
         events: Events | None = None, outcome: Callable[[R], Outcome] | None = None,
         on_error: Callable[[T, Exception], R] | None = None) -> list[R]:
    """WORK(item) for every item, at most FORKS at once. With EVENTS and OUTCOME, each
    finished target is announced (progress bars, the operation log)."""
    items = list(items)
    if not items:
        return []

    def guarded(item: T) -> R:
        try:
            result = work(item)
        except Exception as exc:  # noqa: BLE001 - handed to on_error or re-raised below
            if on_error is None:
                raise
            result = on_error(item, exc)
        if events is not None and outcome is not None:
            events.finished(outcome(result))
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(forks, len(items)))) as pool:
        return list(pool.map(guarded, items))
