"""`mzops accounts check`: shared, redundant, expired and dormant accounts, role conflicts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from mzops import accounts
from mzops import run as runlayer
from mzops.harden import locks
from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.compliance import accounts_check
from mzops.errors import InputError
from mzops.inventory import register as register_file
from mzops.inventory import validate
from mzops.report import accounts as report

app = typer.Typer(help="Account hygiene on servers and databases (read-only).", no_args_is_help=True)


@app.command("check")
def check(
    ctx: typer.Context,
    limit: Optional[str] = typer.Option(None, "--limit", "-l", help="Ansible host pattern."),
    register_path: Optional[Path] = typer.Option(None, "--register", help="Account register (default: accounts.yml beside the inventory)."),
    dormant_days: int = typer.Option(90, "--dormant-days", help="No login for this many days is dormant."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or html."),
    output: Optional[Path] = common.OutputOption,
    forks: int = typer.Option(10, "--forks"),
    as_json: bool = common.JsonOption,
) -> None:
    """Check every account against the register. Exit 0 clean, 1 findings, 3 unreachable."""
    fmt = "json" if common.want_json(ctx, as_json) else fmt
    if fmt not in report.FORMATS:
        raise InputError(f"--format: unknown format {fmt!r} (one of: {', '.join(report.FORMATS)})")
    if dormant_days < 1:
        raise InputError("--dormant-days must be at least 1")
    estate = load_estate(ctx)
    reg = register_file.load(common.register_path(ctx, register_path))
    problems = validate.register_problems(reg, estate)
    if problems:
        raise InputError(problems[0])
    chosen = accounts_check.select(estate, limit)
    thresholds = accounts.Thresholds(today=dt.date.today(), dormant_days=dormant_days)
    result = accounts_check.run(estate, chosen, reg, thresholds, common.resolver(ctx), forks=forks,
                                progress=common.events(ctx), run_id=common.run_id())
    summary = None if fmt == "json" else report.render(result, "table")
    common.emit_report(ctx, report.render(result, fmt), fmt, output, summary, result.exit_code())


@app.command("lock")
def lock(
    ctx: typer.Context,
    account: Optional[str] = typer.Argument(None, help="Account to lock (with --asset)."),
    asset: Optional[str] = typer.Option(None, "--asset", help="Asset that holds the account."),
    fix: Optional[str] = typer.Option(None, "--fix", help="'expired': lock every expired account the check finds."),
    limit: Optional[str] = typer.Option(None, "--limit", "-l", help="With --fix: Ansible host pattern."),
    register_path: Optional[Path] = typer.Option(None, "--register"),
    apply_changes: bool = typer.Option(False, "--apply", help="Change the targets (default: preview only)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Lock accounts, never delete them: a preview by default, --apply to change."""

    estate = load_estate(ctx)
    resolver = common.resolver(ctx)
    if fix is not None:
        if fix != "expired":
            raise InputError(f"--fix: only 'expired' can be fixed automatically (got {fix!r})")
        if account or asset:
            raise InputError("--fix expired takes no ACCOUNT or --asset (use --limit)")
        reg = register_file.load(common.register_path(ctx, register_path))
        chosen = accounts_check.select(estate, limit)
        report_ = accounts_check.run(estate, chosen, reg, accounts.Thresholds(today=dt.date.today()), resolver,
                                     progress=common.events(ctx), run_id=common.run_id())
        targets = locks.expired_targets(report_.findings)
    else:
        if not account or not asset:
            raise InputError("give ACCOUNT and --asset NAME, or --fix expired")
        targets = [(asset, account)]
    planned = [locks.plan(estate, name, acct, resolver) for name, acct in targets]
    common.note_targets(p.asset for p in planned)   # planned from fresh facts, before any run
    if fix is None and planned[0].state == "absent":
        raise InputError(f"--asset {asset}: {planned[0].detail}")
    data = {"run_id": common.run_id(), "apply": apply_changes, "locks": [p.to_dict() for p in planned]}
    if apply_changes:
        with runlayer.exclusive("accounts", "accounts lock --apply"):
            locks.apply(estate, planned, locks.RECORDS.folder(common.run_id()), resolver)
        data["locks"] = [p.to_dict() for p in planned]
        locks.RECORDS.save(common.run_id(), data)
    if common.want_json(ctx, as_json):
        common.print_json(data)
    else:
        common.stdout.print(report.render_locks(planned, apply_changes), markup=False, highlight=False, end="")
    code = runlayer.exit_code(p.outcome() for p in planned)
    if code:
        raise typer.Exit(code)
