"""Audit results collected in several places joined into one run.

Provinces are audited from execution nodes near them (AWX / Automation Platform jobs,
or mzops on a control node per region); each job leaves a JSON or JSON Lines report.
`mzops audit merge` reads them back and makes one run of them, which reports, records
and history treat as any other. The reports are read, never trusted: a wrong shape is
an input error naming the file, the line (JSON Lines; a JSON file is one document) and
the key.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from mzops.errors import InputError
from mzops.results import Run, TargetResult, target_from_dict


def load(path: Path) -> Run:
    """A report written by `--format json` or `--format jsonl` (JSON Lines are read a
    line at a time: a merge holds the targets, not the text)."""
    try:
        with path.open("rb") as probe:
            start = probe.read(64).lstrip()
        if start.startswith(b'{"record"'):
            with path.open(encoding="utf-8") as lines:
                return _jsonl(path, lines)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such report") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the report: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", 1)
        raise InputError(f"{path}:{line}: not a JSON report: {getattr(exc, 'msg', exc)}") from None
    del text
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise InputError(f"{path}:1: targets: not an mzops audit report (no list of targets)")
    run = _header(path, 1, data)
    targets = data.pop("targets")
    for i in range(len(targets)):
        try:
            run.targets.append(target_from_dict(targets[i]))
        except ValueError as exc:
            raise InputError(f"{path}:1: targets.{i}.{exc}") from None
        targets[i] = None          # each object let go once it is a result
    return run


def _jsonl(path: Path, lines) -> Run:
    run = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{number}: not a JSON line: {getattr(exc, 'msg', exc)}") from None
        kind = data.get("record") if isinstance(data, dict) else None
        if kind == "run":
            if run is not None:
                raise InputError(f"{path}:{number}: record: a second run header (merge the files, do not join them)")
            run = _header(path, number, data)
        elif kind == "target":
            if run is None:
                raise InputError(f"{path}:{number}: record: a target before the run's header")
            try:
                run.targets.append(target_from_dict(data))
            except ValueError as exc:
                raise InputError(f"{path}:{number}: {exc}") from None
        else:
            raise InputError(f"{path}:{number}: record: expected 'run' or 'target', got {kind!r}")
    if run is None:
        raise InputError(f"{path}:1: record: no run header (not an mzops JSON Lines report)")
    return run


def _header(path: Path, line: int, data: dict) -> Run:
    for key in ("profile", "generated_at"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise InputError(f"{path}:{line}: {key}: expected a string")
    system = data.get("system") or {}
    expired = data.get("expired_waivers") or []
    if not isinstance(system, dict):
        raise InputError(f"{path}:{line}: system: expected an object")
    if not isinstance(expired, list) or not all(isinstance(w, dict) for w in expired):
        raise InputError(f"{path}:{line}: expired_waivers: expected a list of objects")
    return Run(data["profile"], [], generated_at=data["generated_at"], expired_waivers=list(expired),
               run_id=str(data.get("run_id") or ""), system=system)


def merge(parts: list[tuple[Path, Run]], run_id: str = "") -> tuple[Run, list[str]]:
    """One run of PARTS, and what the merge had to decide (said to the user). A target in
    several parts is kept as collected last; parts of different profiles or systems are
    refused: they are not one evaluation."""
    if not parts:
        raise InputError("audit merge: give at least one report")
    first_path, first = parts[0]
    notes: list[str] = []
    chosen: dict[str, tuple[TargetResult, Path]] = {}
    expired: dict[tuple, dict] = {}
    system = first.system
    for path, run in parts:
        if run.profile != first.profile:
            raise InputError(f"{path}:1: profile: {run.profile!r}, but {first_path} is {first.profile!r}: "
                             "one report is one baseline")
        if run.system and system and run.system != system:
            raise InputError(f"{path}:1: system: {run.system.get('name')!r} is not {system.get('name')!r} "
                             f"of {first_path}: one report is one graded system")
        system = system or run.system
        for w in run.expired_waivers:
            expired[(w.get("rule"), str(w.get("targets")), str(w.get("expires")))] = w
        for target in run.targets:
            earlier = chosen.get(target.name)
            if earlier is None:
                chosen[target.name] = (target, path)
                continue
            keep = (target, path) if _newer(target, earlier[0]) else earlier
            chosen[target.name] = keep
            notes.append(f"{target.name}: in {earlier[1]} and {path}; kept the one from {keep[1]} "
                         f"(collected {keep[0].collected_at or 'at an unknown time'})")
    merged = Run(first.profile, [t for t, _ in chosen.values()], expired_waivers=list(expired.values()),
                 run_id=run_id, system=system,
                 generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    return merged, notes


def _newer(a: TargetResult, b: TargetResult) -> bool:
    """A was collected after B (an assessed result beats one that could not be made)."""
    if (a.status == "assessed") != (b.status == "assessed"):
        return a.status == "assessed"
    return (a.collected_at or "") > (b.collected_at or "")
