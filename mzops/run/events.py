"""Progress as events: the run layer and capabilities announce, consumers listen.

A run says `begin` (what and how many targets), then a `finished` outcome per target,
`note`s in between (a batch starting, a snapshot taken) and `end`. Consumers decide
what to do with them: `Terminal` draws a progress bar on stderr when it is a terminal
and prints the notes and the outcomes worth a line, `Lines` prints the notes and every
outcome as a plain line (a pipe, a log file), `Targets` keeps what the operation-log
record names. An
`Events` object is also callable with a message, so code written for a
`progress(message)` callback takes one as it is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol

from mzops.run.outcome import CHANGED, OK, Outcome

BEGIN, FINISHED, NOTE, END = "begin", "finished", "note", "end"


@dataclass(frozen=True)
class Event:
    kind: str
    capability: str = ""
    message: str = ""
    total: int = 0
    outcome: Outcome | None = None
    targets: tuple[str, ...] = ()


class Consumer(Protocol):
    def __call__(self, event: Event) -> None: ...


@dataclass
class Events:
    consumers: list[Consumer] = field(default_factory=list)
    capability: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def subscribe(self, consumer: Consumer) -> Events:
        self.consumers.append(consumer)
        return self

    def emit(self, event: Event) -> None:
        with self._lock:  # workers report from their threads: one event at a time
            for consumer in self.consumers:
                consumer(event)

    def begin(self, capability: str, targets: list[str] | tuple[str, ...]) -> None:
        self.capability = capability
        self.emit(Event(BEGIN, capability, total=len(targets), targets=tuple(targets)))

    def finished(self, outcome: Outcome) -> None:
        self.emit(Event(FINISHED, self.capability, outcome.message, outcome=outcome))

    def note(self, message: str) -> None:
        self.emit(Event(NOTE, self.capability, message))

    def end(self, message: str = "") -> None:
        self.emit(Event(END, self.capability, message))

    def __call__(self, message: str) -> None:
        self.note(message)


@dataclass
class Targets:
    """The targets a run named, for the operation log's record of the command."""

    names: set[str] = field(default_factory=set)

    def __call__(self, event: Event) -> None:
        if event.kind == BEGIN:
            self.names |= set(event.targets)
        elif event.kind == FINISHED and event.outcome is not None:
            self.names.add(event.outcome.target)


def _outcome_line(outcome: Outcome) -> str:
    took = f" ({outcome.seconds:.2f} s)" if outcome.seconds else ""
    return f"{outcome.target}: {outcome.state}" + (f": {outcome.message}" if outcome.message else "") + took


@dataclass
class Lines:
    """Plain lines on a stream that is not a terminal: notes, and every outcome."""

    write: Callable[[str], None]

    def __call__(self, event: Event) -> None:
        if event.kind == NOTE and event.message:
            self.write(event.message)
        elif event.kind == FINISHED and event.outcome is not None:
            self.write(_outcome_line(event.outcome))


class Terminal:
    """A rich progress bar on a terminal; notes and failures printed above it."""

    def __init__(self, console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
        self.task = None

    def __call__(self, event: Event) -> None:
        if event.kind == BEGIN:
            if self.task is None:
                self.progress.start()
                self.task = self.progress.add_task(event.capability, total=event.total or None)
            else:
                self.progress.update(self.task, description=event.capability, total=event.total, completed=0)
        elif event.kind == FINISHED and event.outcome is not None:
            if self.task is not None:
                self.progress.advance(self.task)
            if event.outcome.state not in (OK, CHANGED) or event.outcome.message:
                self.console.print(_outcome_line(event.outcome), markup=False, highlight=False)
        elif event.kind == NOTE and event.message:
            self.console.print(event.message, markup=False, highlight=False)
        elif event.kind == END and self.task is not None:
            self.progress.stop()
            self.task = None


def as_events(progress: Events | Callable[[str], None] | None) -> Events:
    """EVENTS as given, or a plain `progress(message)` callback wrapped to receive them
    as lines (tests and library callers pass one)."""
    if isinstance(progress, Events):
        return progress
    return Events([Lines(progress)]) if progress is not None else Events()
