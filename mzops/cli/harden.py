"""`mzops harden`: MLPS baseline through Ansible. Preview by default, --apply to change."""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from typing import Iterator, Optional

import typer

from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.compliance import audit, catalogue
from mzops.errors import InputError
from mzops.harden import rollback as hrollback
from mzops.harden import run as hrun
from mzops.paths import mzops_home
from mzops.report import harden as report
from mzops.secrets import Resolver

app = typer.Typer(help="Harden hosts to the baseline: preview, apply in batches, verify, roll back.",
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


@contextmanager
def _exclusive() -> Iterator[None]:
    """One change at a time on this controller (a timer and an engineer may collide)."""
    folder = mzops_home() / "harden"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"another mzops harden run or rollback holds {folder / '.lock'}") from None
        yield


def _resolver(ctx: typer.Context) -> Resolver:
    inv = common.options(ctx).inventory
    return Resolver(base=inv if inv.is_dir() else inv.parent)


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    limit: Optional[str] = typer.Option(None, "--limit", "-l", help="Ansible host pattern."),
    rules: Optional[str] = typer.Option(None, "--rules", help="Only these rule ids (comma-separated, prefix* allowed)."),
    skip: Optional[str] = typer.Option(None, "--skip", help="Leave these rule ids out (prefix* allowed)."),
    apply_changes: bool = typer.Option(False, "--apply", help="Change the hosts (default: preview in check mode)."),
    disruptive: bool = typer.Option(False, "--disruptive", help="Also apply rules that can cut off access (SSH lockdown, PAM lockout, root login)."),
    batch: str = typer.Option("1,10", "--batch", help="Hosts per batch: first batch, then each next one (e.g. 1,10)."),
    profile: str = typer.Option("mlps3", "--profile"),
    forks: int = typer.Option(10, "--forks"),
    as_json: bool = common.JsonOption,
) -> None:
    """Preview (default) or --apply the baseline. Exit 0 all applied rules pass, 1 failed or refused, 3 unreachable."""
    if rules and skip:
        raise InputError("give --rules or --skip, not both")
    cat = catalogue.load(profile)
    selected = cat.select(_ids(rules) or None)
    try:
        skipped = {r.id for r in cat.select(_ids(skip))} if skip else set()
    except InputError as exc:
        raise InputError(str(exc).replace("--rules:", "--skip:", 1)) from None
    estate = load_estate(ctx)
    chosen = audit.targets(estate, limit)
    common.note_targets(a.name for a in chosen)
    request = hrun.HardenRequest(cat, selected, skipped, disruptive, apply_changes, _batches(batch),
                                 common.RUN["run_id"], forks=forks, resolver=_resolver(ctx))
    say = lambda m: common.progress(ctx, m)  # noqa: E731
    with _exclusive():
        record = (hrun.apply if apply_changes else hrun.preview)(estate, chosen, request, say)
    if common.want_json(ctx, as_json):
        common.print_json(record.to_dict())
    else:
        common.stdout.print(report.render_run(record), markup=False, highlight=False, end="")
    if record.exit_code():
        raise typer.Exit(record.exit_code())


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
    cat = catalogue.load(profile)
    with _exclusive():
        result = hrollback.rollback(estate, cat, run_id, limit, check, _resolver(ctx),
                                    progress=lambda m: common.progress(ctx, m))
    common.note_targets(h.name for h in result.hosts)
    if common.want_json(ctx, as_json):
        common.print_json(result.to_dict())
    else:
        common.stdout.print(report.render_rollback(result), markup=False, highlight=False, end="")
    if result.exit_code():
        raise typer.Exit(result.exit_code())


@app.command("history")
def history_cmd(ctx: typer.Context, as_json: bool = common.JsonOption) -> None:
    """Hardening runs recorded on this controller, newest first."""
    folder = mzops_home() / "harden"
    records = []
    for path in sorted(folder.glob("*/run.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        records.append(hrun.load(path.parent.name))
    if common.want_json(ctx, as_json):
        common.print_json([r.to_dict() for r in records])
    else:
        common.stdout.print(report.render_history(records), markup=False, highlight=False, end="")
