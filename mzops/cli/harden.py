"""`mzops harden`: MLPS baseline through Ansible. Preview by default, --apply to change."""

from __future__ import annotations

from typing import Any, Optional

import typer

from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.compliance import audit, catalogue
from mzops.errors import InputError
from mzops.harden import rollback as hrollback
from mzops.harden.roles import ROLES
from mzops.harden import run as hrun
from mzops.inventory.model import STRATEGIES
from mzops.report import harden as report

app = typer.Typer(help="Harden hosts and databases to the baseline: preview, apply in batches, verify, roll back.",
                  no_args_is_help=True)


def _ids(text: Optional[str]) -> list[str]:
    return [i.strip() for i in (text or "").split(",") if i.strip()]


def _batches(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(s < 1 for s in sizes):
        raise InputError(f"--batch: {text!r} is not a list of host counts like 1,10")
    return sizes


def _emit(ctx: typer.Context, as_json: bool, data: Any, text: str, exit_code: int = 0) -> None:
    if common.want_json(ctx, as_json):
        common.print_json(data)
    else:
        common.stdout.print(text, markup=False, highlight=False, end="")
    if exit_code:
        raise typer.Exit(exit_code)


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    limit: Optional[str] = typer.Option(None, "--limit", "-l", help="Ansible host pattern."),
    rules: Optional[str] = typer.Option(None, "--rules", help="Only these rule ids (comma-separated, prefix* allowed)."),
    skip: Optional[str] = typer.Option(None, "--skip", help="Leave these rule ids out (prefix* allowed)."),
    apply_changes: bool = typer.Option(False, "--apply", help="Change the hosts (default: preview in check mode)."),
    disruptive: bool = typer.Option(False, "--disruptive", help="Also apply rules that can cut off access (SSH lockdown, PAM lockout, root login)."),
    restart: bool = typer.Option(False, "--restart", help="Also apply database settings read only at start: one controlled restart per server."),
    batch: str = typer.Option("1,10", "--batch", help="Hosts per batch: first batch, then each next one (e.g. 1,10)."),
    profile: str = typer.Option("mlps3", "--profile"),
    forks: int = typer.Option(10, "--forks"),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="Ansible execution strategy: mitogen (the "
                                           "default; linear where it cannot run, said per host) or linear; "
                                           "else each host's mzops_ansible_strategy."),
    as_json: bool = common.JsonOption,
) -> None:
    """Preview (default) or --apply the baseline. Exit 0 all applied rules pass, 1 failed or refused, 3 unreachable."""
    if rules and skip:
        raise InputError("give --rules or --skip, not both")
    if strategy is not None and strategy not in STRATEGIES:
        raise InputError(f"--strategy {strategy}: one of {', '.join(STRATEGIES)}")
    # Firewalls are brought to their baseline by `mzops firewall push`, not by Ansible.
    catalogues = {f: c for f, c in catalogue.load_profile(profile).items() if f in ROLES}
    selected = catalogue.select_across(catalogues, _ids(rules) or None)
    skipped = {r.id for rs in catalogue.select_across(catalogues, _ids(skip), option="--skip").values()
               for r in rs} if skip else set()
    estate = load_estate(ctx)
    named = estate.limit(limit)
    if named and all(estate.assets[n].kind == "firewall" for n in named):
        raise InputError("--limit: only firewalls selected: they are hardened by `mzops firewall push`")
    chosen = audit.targets(estate, limit, set(selected))
    suites = {family: audit.Suite(catalogues[family], rs) for family, rs in selected.items()}
    request = hrun.HardenRequest(suites, skipped, disruptive, apply_changes, _batches(batch),
                                 common.run_id(), forks=forks, resolver=common.resolver(ctx), restart=restart,
                                 strategy=strategy)
    with hrun.exclusive():
        record = (hrun.apply if apply_changes else hrun.preview)(estate, chosen, request, common.events(ctx))
    _emit(ctx, as_json, record.to_dict(), report.render_run(record), record.exit_code())


@app.command("rollback")
def rollback_cmd(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="Run id printed by `harden run --apply` (see `harden history`)."),
    limit: Optional[str] = typer.Option(None, "--limit", "-l", help="Only these hosts of the run."),
    check: bool = typer.Option(False, "--check", help="Show what would be restored; change nothing."),
    profile: str = typer.Option("mlps3", "--profile"),
    as_json: bool = common.JsonOption,
) -> None:
    """Restore every file the run changed, exactly, then re-audit. Exit 0 restored, 1 not."""
    estate = load_estate(ctx)
    catalogues = catalogue.load_profile(profile)
    with hrun.exclusive():
        result = hrollback.rollback(estate, catalogues, run_id, limit, check, common.resolver(ctx),
                                    progress=lambda m: common.progress(ctx, m))
    common.note_targets(h.name for h in result.hosts)
    _emit(ctx, as_json, result.to_dict(), report.render_rollback(result), result.exit_code())


@app.command("history")
def history_cmd(ctx: typer.Context, as_json: bool = common.JsonOption) -> None:
    """Hardening runs recorded on this controller, newest first."""
    records = hrun.history()
    _emit(ctx, as_json, [r.to_dict() for r in records], report.render_history(records))
