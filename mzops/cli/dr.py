"""mzops dr: replication to the same-city DR site, failover and failback by plan."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from mzops import oplog
from mzops import run as runlayer
from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.dr import failover as failovers
from mzops.dr import plan as plans
from mzops.dr import replication
from mzops.dr.mission import DISASTER, PLANNED
from mzops.errors import InputError

app = typer.Typer(help="Disaster recovery: protect, status, failover, failback, history.", no_args_is_help=True)


def _plan(ctx: typer.Context, name: str):
    """The plan, the estate and who runs it; its databases named in the operation log."""
    estate = load_estate(ctx)
    found = plans.load(common.options(ctx).inventory, name, estate)
    common.note_targets([n for p in found.pairs for n in (p.primary, p.standby)])
    return found, estate, oplog.current_user()[0]


def _say(ctx: typer.Context):
    return lambda message: common.progress(ctx, message)


def _confirm(ctx: typer.Context, plan, yes: bool, extra: list[str] = ()):
    """None when --yes answers every prompt; else a terminal prompt (no terminal: refused
    before anything runs, so a scheduler never hangs on a question)."""
    asks = [s.spec.confirm for s in plan.steps if s.spec.confirm] + list(extra)
    if yes or not asks:
        return None
    if not sys.stdin.isatty():
        raise InputError(f"plan {plan.name} asks {asks[0]!r}: answer on a terminal, or pass --yes (recorded with "
                         "your name)")
    return lambda question: typer.confirm(question, default=False)


@app.command("plans")
def plans_cmd(ctx: typer.Context, as_json: bool = common.JsonOption) -> None:
    """The DR plans (backup/dr/*.yml), checked against the inventory."""
    estate = load_estate(ctx)
    found = plans.load_all(common.options(ctx).inventory, estate)
    rows = [{"plan": p.name, "service": p.spec.service, "pairs": [f"{x.primary} -> {x.standby} ({x.mode})"
                                                                   for x in p.pairs],
             "steps": [f"{s.spec.group}:{s.name}:{s.spec.kind}" for s in p.steps]} for p in found.values()]
    if common.want_json(ctx, as_json):
        common.print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['plan']}: {row['service']}: {', '.join(row['pairs'])}")
        typer.echo("  steps: " + " ".join(row["steps"]))


@app.command("status")
def status_cmd(ctx: typer.Context, plan: Optional[str] = typer.Argument(None, help="A plan (default: every plan)."),
               as_json: bool = common.JsonOption) -> None:
    """Per service: which site is primary, replication state and lag (bytes, seconds),
    the last run. Read-only. Exit 1 when a pair is not protected."""
    estate = load_estate(ctx)
    inventory = common.options(ctx).inventory
    names = [plan] if plan else plans.names(inventory)
    resolver = common.resolver(ctx)
    out = []
    for name in names:
        found = plans.load(inventory, name, estate)
        common.note_targets([n for p in found.pairs for n in (p.primary, p.standby)])
        state = replication.status(found, estate, resolver)
        runs = failovers.history(name)
        keys = ("run_id", "mode", "result", "started", "rto_seconds")
        state["last_run"] = {k: runs[-1].get(k) for k in keys} if runs else None
        drills = [r for r in runs if r.get("mode") == "drill"]
        state["last_drill"] = {k: drills[-1].get(k) for k in keys} if drills else None
        out.append(state)
    bad = any(p["state"] != "protected" for s in out for p in s["pairs"])
    if common.want_json(ctx, as_json):
        common.print_json(out)
    else:
        for state in out:
            typer.echo(f"{state['plan']} ({state['service']})")
            for pair in state["pairs"]:
                lag = (f"lag {pair['lag']} {pair['lag_unit']}, {pair['lag_seconds']} s" if pair["lag"] is not None
                       else "lag unknown")
                typer.echo(f"  {pair['primary']} -> {pair['standby']} [{pair['mode']}]: {pair['state']}, primary at "
                           f"{pair['primary_site'] or 'no site'}, {lag}")
                for server in pair["servers"]:
                    typer.echo(f"    {server['asset']} ({server['site']}): {server['role']} {server['position']}"
                               + (f" - {server['problem']}" if server["problem"] else ""))
            if state["last_run"]:
                run = state["last_run"]
                typer.echo(f"  last run: {run['run_id']} {run['mode']} {run['result']} (RTO {run['rto_seconds']} s)")
            drill = state["last_drill"]
            typer.echo(f"  last drill: {drill['run_id']} {drill['result']} ({drill['started']})" if drill
                       else "  last drill: none")
    if bad:
        raise typer.Exit(1)


@app.command("protect")
def protect_cmd(
    ctx: typer.Context,
    plan: str = typer.Argument(..., help="The plan whose databases are replicated."),
    apply: bool = typer.Option(False, "--apply", help="Make the changes (default: show them)."),
    restart: bool = typer.Option(False, "--restart", help="Allow the restarts a change needs "
                                 "(listen_addresses, wal_log_hints)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Set up or check replication of the plan's databases to the DR site: the preview
    names every change (files, pg_hba lines, the account, a restart, a standby rebuilt);
    --apply makes them, validated by the server before any reload."""
    found, estate, user = _plan(ctx, plan)
    run_id = common.run_id()
    with runlayer.exclusive("dr", f"dr protect {plan}"):
        outcomes = replication.protect_plan(found, estate, common.resolver(ctx), user, run_id, apply, restart,
                                            say=_say(ctx))
    result = runlayer.Result("dr", run_id, outcomes)
    if common.want_json(ctx, as_json):
        common.print_json({"plan": plan, "applied": apply, **result.summary(),
                           "outcomes": [o.to_dict() for o in outcomes]})
    else:
        for outcome in outcomes:
            typer.echo(f"{outcome.target}: {outcome.state}")
            for line in outcome.diff.splitlines() or ([] if outcome.state in ("failed", "refused") else [outcome.message]):
                typer.echo(f"  {line}")
            if outcome.state in ("failed", "refused", "unreachable"):
                typer.echo(f"  error: {outcome.message}")
        if not apply and any(": change:" in o.diff or "rebuilt" in o.diff for o in outcomes):
            typer.echo("preview only: --apply makes these changes")
    raise typer.Exit(runlayer.exit_code(outcomes))


def _show_run(ctx: typer.Context, record: dict, as_json: bool) -> None:
    if common.want_json(ctx, as_json):
        common.print_json(record)
    else:
        for step in record["steps"]:
            typer.echo(f"{step['group']} {step['name']:<20} {step['result']:<8} {step['seconds']:>7.2f} s  "
                       f"{step['message']}")
        for note in record["notes"]:
            typer.echo(f"note: {note}")
        for component in record["components"]:
            typer.echo(f"{component['asset']} ({component['site']}): {component['role']} {component['position']}"
                       + (f" - {component['problem']}" if component["problem"] else ""))
        rpo, unit = record["rpo"]["lost"], " / ".join(record["rpo"].get("unit", []))
        if record["mode"] == "drill":
            typer.echo(f"drill {record['result']}: the copy took a write {record['rto_seconds']} s after the start, "
                       f"run {record['run_id']}")
        else:
            typer.echo(f"{record['mode']} {record['result']}: RTO {record['rto_seconds']} s, lost "
                       f"{'unknown' if rpo is None else rpo} {unit}, run {record['run_id']}")
    if record["result"] != "ok":
        raise typer.Exit(1)


@app.command("failover")
def failover_cmd(
    ctx: typer.Context,
    plan: str = typer.Argument(..., help="The plan to run."),
    planned: bool = typer.Option(False, "--planned", help="The primary is healthy: stop it cleanly, wait until "
                                 "the standby has every committed transaction, promote."),
    disaster: bool = typer.Option(False, "--disaster", help="The primary site is lost: fence, promote the DR "
                                  "standby, go on despite the lost site's errors."),
    yes: bool = typer.Option(False, "--yes", help="Answer the plan's prompts yes (recorded with your name)."),
    fenced_by: str = typer.Option("", "--fenced-by", help="Disaster, old primary unreachable: how it is fenced "
                                  "(recorded with your name); without it the run refuses."),
    accept_loss: bool = typer.Option(False, "--accept-loss", help="Disaster: promote even when the standby is "
                                     "behind the old primary's last known position (the loss is recorded)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Fail the plan's service over to the DR site, gated on log positions; stops at
    the first error (planned) and says what state each component is in."""
    if planned == disaster:
        raise InputError("say --planned or --disaster")
    if planned and (fenced_by or accept_loss):
        raise InputError("--fenced-by and --accept-loss are for --disaster")
    found, estate, user = _plan(ctx, plan)
    confirm = _confirm(ctx, found, yes)
    with runlayer.exclusive("dr", f"dr failover {plan}"):
        record = failovers.failover(found, estate, common.resolver(ctx), PLANNED if planned else DISASTER, user,
                                    common.run_id(), say=_say(ctx), confirm=confirm, fenced_by=fenced_by,
                                    accept_loss=accept_loss)
    _show_run(ctx, record, as_json)


@app.command("failback")
def failback_cmd(
    ctx: typer.Context,
    plan: str = typer.Argument(..., help="The plan to return to the primary site."),
    yes: bool = typer.Option(False, "--yes", help="Answer the plan's prompts yes (recorded with your name)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Return to the primary site: its old primary rewound into a standby of the DR
    site, caught up, a planned switch back through the plan's steps and gates, and the
    DR site a standby again."""
    found, estate, user = _plan(ctx, plan)
    confirm = _confirm(ctx, found, yes)
    with runlayer.exclusive("dr", f"dr failback {plan}"):
        record = failovers.failback(found, estate, common.resolver(ctx), user, common.run_id(), say=_say(ctx),
                                    confirm=confirm)
    _show_run(ctx, record, as_json)


@app.command("drill")
def drill_cmd(
    ctx: typer.Context,
    plan: str = typer.Argument(..., help="The plan whose DR standbys are drilled."),
    as_json: bool = common.JsonOption,
) -> None:
    """Prove the DR site can take over, touching neither production nor its
    replication: a throw-away copy of each DR standby opened read-write with no
    network, written to, removed; the standby checked streaming before and after."""
    found, estate, user = _plan(ctx, plan)
    with runlayer.exclusive("dr", f"dr drill {plan}"):
        record = failovers.drill(found, estate, common.resolver(ctx), user, common.run_id(), say=_say(ctx))
    _show_run(ctx, record, as_json)


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    plan: Optional[str] = typer.Argument(None, help="A plan (default: every plan's runs)."),
    fmt: str = typer.Option("html", "-f", "--format", help="html or json"),
    output: Optional[Path] = common.OutputOption,
) -> None:
    """Every failover, failback and drill, newest first, with each step's times and
    result, the RTO and the log lost: the evidence for GB/T 22239-2019 8.1.4.9 c)."""
    from mzops.backup.volume import now
    from mzops.dr import report
    if fmt not in ("html", "json"):
        raise InputError(f"--format: html or json (got {fmt!r})")
    runs = list(reversed(failovers.history(plan)))
    if fmt == "json":
        text = json.dumps({"generated_at": now(), "runs": runs}, ensure_ascii=False, indent=2) + "\n"
    else:
        text = report.html(runs, now())
    common.emit_report(ctx, text, fmt, output, None, 0)


@app.command("history")
def history_cmd(ctx: typer.Context, plan: Optional[str] = typer.Argument(None), as_json: bool = common.JsonOption) -> None:
    """Past DR runs: mode, result, RTO, lost WAL, per step."""
    runs = failovers.history(plan)
    if common.want_json(ctx, as_json):
        common.print_json(runs)
        return
    for run in runs:
        typer.echo(f"{run.get('run_id')} {run.get('plan')} {run.get('mode')} {run.get('result')} "
                   f"RTO {run.get('rto_seconds')} s operator {run.get('operator')}")
