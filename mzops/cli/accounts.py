"""`mzops accounts check`: shared, redundant, expired and dormant accounts, role conflicts."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Optional

import typer

from mzops import accounts
from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.compliance import accounts_check
from mzops.errors import InputError
from mzops.inventory import register as register_file
from mzops.inventory import validate
from mzops.report import accounts as report
from mzops.secrets import Resolver

app = typer.Typer(help="Account hygiene on servers and databases (read-only).", no_args_is_help=True)


@app.command("check")
def check(
    ctx: typer.Context,
    limit: Optional[str] = typer.Option(None, "--limit", "-l", help="Ansible host pattern."),
    register_path: Optional[Path] = typer.Option(None, "--register", help="Account register (default: accounts.yml beside the inventory)."),
    dormant_days: int = typer.Option(90, "--dormant-days", help="No login for this many days is dormant."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or html."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the report to this file."),
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
    common.note_targets(a.name for a in chosen)
    inv = common.options(ctx).inventory
    policy = accounts.Policy(today=dt.date.today(), dormant_days=dormant_days)
    result = accounts_check.run(estate, chosen, reg, policy, Resolver(base=inv if inv.is_dir() else inv.parent),
                                forks=forks, progress=lambda m: common.progress(ctx, m))
    text = report.render(result, fmt)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        common.progress(ctx, f"{fmt} report written to {output}")
    elif fmt == "table":
        common.stdout.print(text, markup=False, highlight=False, end="")
    else:
        sys.stdout.write(text)
    code = result.exit_code()
    if code:
        raise typer.Exit(code)
