"""What Ansible did (or would do), per host and per rule, from ansible-runner events.

Pure: events in, TaskChange records out. Task names start with the rule id
("linux.ssh.x11 | X11Forwarding"); shared steps are named "mzops | ...".
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

FINAL_EVENTS = {"runner_on_ok": "ok", "runner_on_failed": "failed", "runner_on_skipped": "skipped",
                "runner_on_unreachable": "unreachable"}
SHARED = "mzops"


@dataclass
class TaskChange:
    host: str
    rule: str
    task: str
    status: str            # ok | changed | failed | skipped | unreachable
    diff: str = ""
    output: str = ""       # what a command did or would do (one line per action)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class HostTasks:
    tasks: list[TaskChange] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "changed": 0, "failed": 0, "skipped": 0, "unreachable": 0}
        for t in self.tasks:
            out[t.status] += 1
            if t.status == "changed":
                out["ok"] += 1     # as Ansible counts: a changed task is also ok
        return out


def split_name(task_name: str) -> tuple[str, str]:
    rule, sep, what = task_name.partition(" | ")
    return (rule.strip(), what.strip()) if sep else (SHARED, task_name)


def _diffs(res: dict[str, Any]) -> Iterable[dict[str, Any]]:
    diff = res.get("diff")
    if isinstance(diff, dict):
        yield diff
    elif isinstance(diff, list):
        yield from (d for d in diff if isinstance(d, dict))
    for item in res.get("results") or []:
        if isinstance(item, dict):
            yield from _diffs(item)


# Where the template action renders a file on the controller before copying it: a name
# that changes every run and says nothing to the reader of a preview.
CONTROLLER_TEMPORARY = re.compile(r"/ansible-local-[^/]+/")


def render_diff(diff: dict[str, Any], dest: str = "") -> str:
    if diff.get("prepared"):
        return str(diff["prepared"]).rstrip("\n")
    before, after = diff.get("before"), diff.get("after")
    if not isinstance(before, str) or not isinstance(after, str):
        return ""
    after_header = str(diff.get("after_header") or "after")
    if CONTROLLER_TEMPORARY.search(after_header):
        after_header = dest or "after"
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(),
                                 str(diff.get("before_header") or "before"), after_header, lineterm="")
    return "\n".join(lines)


def _output(res: dict[str, Any]) -> str:
    parts = [str(res.get("stdout") or "").strip()]
    parts += [str(i.get("stdout") or "").strip() for i in res.get("results") or [] if isinstance(i, dict)]
    return "\n".join(p for p in parts if p)


def from_events(events: Iterable[dict[str, Any]]) -> dict[str, HostTasks]:
    out: dict[str, HostTasks] = {}
    for event in events:
        status = FINAL_EVENTS.get(event.get("event", ""))
        if status is None:
            continue
        data = event.get("event_data") or {}
        host = data.get("host") or "?"
        res = data.get("res") or {}
        rule, what = split_name(str(data.get("task") or ""))
        if status == "ok" and res.get("changed"):
            status = "changed"
        dest = str(res.get("dest") or "")
        diff = "\n".join(d for d in (render_diff(x, dest) for x in _diffs(res)) if d)
        message = str(res.get("msg") or "") if status in ("failed", "unreachable") else ""
        if status == "failed" and res.get("stderr"):
            message = (message + ": " if message else "") + str(res["stderr"]).strip()[-400:]
        output = _output(res) if status == "changed" else ""
        out.setdefault(host, HostTasks()).tasks.append(
            TaskChange(host, rule, what, status, diff=diff, output=output, message=message))
    return out
