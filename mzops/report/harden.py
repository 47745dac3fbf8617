"""Hardening runs and rollbacks as text: per host, per rule, what changes (or did)."""

from __future__ import annotations

from mzops.harden.rollback import Rollback
from mzops.harden.run import HardenRun

SHOW_DIFF_LINES = 60


def _indent(text: str, prefix: str = "      ") -> str:
    lines = text.splitlines()
    if len(lines) > SHOW_DIFF_LINES:
        lines = lines[:SHOW_DIFF_LINES] + [f"... {len(lines) - SHOW_DIFF_LINES} more lines (see --json)"]
    return "\n".join(prefix + line for line in lines)


def render_run(record: HardenRun, show_diff: bool = True) -> str:
    verb = "would change" if record.mode == "preview" else "changed"
    out = [f"harden {record.mode} {record.run_id} ({record.profile}, {record.seconds:.1f} s)"]
    for host in record.hosts:
        counts = host.counts or {}
        out.append("")
        out.append(f"{host.name}: {host.status}" + (f" - {host.message}" if host.message else "")
                   + (f"  [ok {counts.get('ok', 0)}, changed {counts.get('changed', 0)}, "
                      f"failed {counts.get('failed', 0)}]" if counts else ""))
        if host.strategy:
            out.append(f"  Ansible strategy: {host.strategy}")
        for refusal in host.refusals:
            out.append(f"  REFUSED {refusal}")
        by_rule: dict[str, list[dict]] = {}
        for task in host.tasks:
            by_rule.setdefault(task["rule"], []).append(task)
        for rule in host.rules:
            tasks = by_rule.get(rule, [])
            changed = [t for t in tasks if t["status"] == "changed"]
            failed = [t for t in tasks if t["status"] == "failed"]
            state = "FAILED" if failed else (verb if changed else "no change")
            audit = host.before.get(rule, "?") + (f" -> {host.after[rule]}" if rule in host.after else "")
            out.append(f"  {rule:<28} {state:<13} audit {audit}")
            for task in failed:
                out.append(f"      {task['task']}: {task['message']}")
            for task in changed:
                if task["diff"] and show_diff:
                    out.append(_indent(task["diff"]))
                elif task["output"]:
                    out.append(_indent(task["output"]))
                elif not task["diff"]:
                    out.append(f"      {task['task']}")
        for rule, why in sorted(host.left_out.items()):
            if not why.startswith("no automated"):
                out.append(f"  {rule:<28} not applied: {why}")
        restarting = [r for r in host.restart if any(t["rule"] == r and t["status"] == "changed" for t in host.tasks)]
        if restarting:
            when = "will restart once, after all changes" if record.mode == "preview" else "was restarted once"
            out.append(f"  RESTART: the server {when} (validated first; connections drop): {', '.join(restarting)}")
        if host.login and host.login != "ok":
            out.append(f"  login check: {host.login}")
    if record.stopped:
        out += ["", record.stopped]
    manual = sorted({r for h in record.hosts for r, why in h.left_out.items() if why.startswith("no automated")})
    if manual:
        out += ["", f"manual only ({len(manual)}): {', '.join(manual)}"]
    if record.mode == "preview":
        out += ["", "nothing was changed; run again with --apply to change the hosts"]
    else:
        out += ["", f"undo with: mzops harden rollback {record.run_id}"]
    return "\n".join(out) + "\n"


ACTIONS = {"sql": "put back by SQL", "remove": "remove (made by the run)", "restore": "restore content", "replace": "replace (type changed)",
           "meta": "restore mode/owner", "sysctl": "set back"}


def describe_action(line: str) -> str:
    """One snapshot.sh difference line in words."""
    kind, _, rest = line.partition("|")
    if kind == "meta":
        rest = rest.partition("|")[2]
    if kind == "sql":
        return f"{ACTIONS['sql']:<26} {rest}"
    if kind == "sysctl":
        key, _, value = rest.partition("|")
        rest = f"{key} = {value}"
    return f"{ACTIONS.get(kind, kind):<26} {rest}"


def render_rollback(result: Rollback) -> str:
    out = [f"rollback of {result.run_id}{' (check: nothing changed)' if result.check else ''} "
           f"({result.seconds:.1f} s)"]
    for host in result.hosts:
        out.append("")
        out.append(f"{host.name}: {host.status}" + (f" - {host.message}" if host.message else ""))
        for action in host.actions:
            out.append(f"  {describe_action(action)}")
        for line in host.remaining:
            out.append(f"  STILL DIFFERENT {describe_action(line)}")
        for rule, (before, now) in sorted(host.audit_changes.items()):
            out.append(f"  audit {rule}: {before} before the run, {now} now")
    return "\n".join(out) + "\n"


def render_history(records: list[HardenRun]) -> str:
    if not records:
        return "no hardening runs recorded\n"
    out = [f"{'run id':<14} {'started':<26} {'mode':<8} {'user':<10} hosts"]
    for r in records:
        states = ", ".join(f"{h.name} {h.status}" for h in r.hosts)
        out.append(f"{r.run_id:<14} {r.started:<26} {r.mode:<8} {r.user:<10} {states}")
    return "\n".join(out) + "\n"
