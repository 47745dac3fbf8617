"""`mzops audit`: read-only MLPS compliance audit of the estate, with reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from mzops import report
from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.compliance import audit, catalogue, waivers
from mzops.firewall import audit_config
from mzops.errors import InputError
from mzops.results import Run

app = typer.Typer(help="Read-only MLPS compliance audit: evidence per rule per asset.", no_args_is_help=True)

FormatOption = typer.Option("table", "--format", "-f", help="table, json, junit or html.")


def _request(ctx: typer.Context, profile: str, rules: Optional[str], waiver_file: Optional[Path],
             forks: int, save_facts: Optional[Path], estate=None) -> audit.AuditRequest:
    catalogues = catalogue.load_profile(profile)
    ids = [r.strip() for r in rules.split(",") if r.strip()] if rules else None
    selected = catalogue.select_across(catalogues, ids)
    in_force, expired = [], []
    path = waiver_file
    if path is None:
        inv = common.options(ctx).inventory
        default = (inv if inv.is_dir() else inv.parent) / "waivers.yml"
        path = default if default.exists() else None
    if path is not None:
        known = {rule_id for c in catalogues.values() for rule_id in c.rules}
        names = set(estate.assets) | set(estate.groups) if estate is not None else None
        in_force, expired = waivers.split(waivers.load(path, known, names), dt.date.today())
        for w in expired:
            common.progress(ctx, f"waiver expired on {w.expires}: {w.rule} for {w.targets} (not applied)")
    if forks < 1:
        raise InputError("--forks must be at least 1")
    resolver = common.resolver(ctx)
    suites = {family: audit.Suite(catalogues[family], chosen) for family, chosen in selected.items()}
    return audit.AuditRequest(suites, in_force, expired, forks=forks, save_facts=save_facts, resolver=resolver)


def _emit(ctx: typer.Context, run: Run, fmt: str, output: Optional[Path], as_json: bool) -> None:
    if as_json:
        fmt = "json"
    if fmt not in report.FORMATS:
        raise InputError(f"--format: unknown format {fmt!r} (one of: {', '.join(report.FORMATS)})")
    summary = None if as_json else report.render(run, "table")
    common.emit_report(ctx, report.render(run, fmt), fmt, output, summary, run.exit_code())


def _has_family(asset) -> bool:
    try:
        audit.family_of(asset)
        return True
    except InputError:
        return False


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    limit: Optional[str] = typer.Option(None, "--limit", "-l", help="Ansible host pattern, e.g. 'zone_core:&primary'."),
    profile: str = typer.Option("mlps3", "--profile", help="Baseline profile (folder under baselines/)."),
    rules: Optional[str] = typer.Option(None, "--rules", help="Comma-separated rule ids (prefix* allowed)."),
    fmt: str = FormatOption,
    output: Optional[Path] = common.OutputOption,
    waiver_file: Optional[Path] = typer.Option(None, "--waivers", help="Waivers YAML (default: waivers.yml beside the inventory, if any)."),
    forks: int = typer.Option(10, "--forks", help="Assets assessed in parallel."),
    save_facts: Optional[Path] = typer.Option(None, "--save-facts", help="Keep each asset's fact bundle in this folder."),
    as_json: bool = common.JsonOption,
) -> None:
    """Audit hosts, databases (one SSH round trip each) and firewalls (their running configuration, read-only).
    Exit 0 compliant, 1 findings, 3 unreachable."""
    if fmt not in report.FORMATS:
        raise InputError(f"--format: unknown format {fmt!r} (one of: {', '.join(report.FORMATS)})")
    estate = load_estate(ctx)
    request = _request(ctx, profile, rules, waiver_file, forks, save_facts, estate)
    request.register = common.optional_register(ctx)      # firewall administrators
    chosen = audit.targets(estate, limit, set(request.suites))
    kinds = ", ".join(f"{sum(a.kind == k for a in chosen)} {k}(s)" for k in audit.AUDITED_KINDS
                      if any(a.kind == k for a in chosen))
    rule_count = sum(len(request.suites[f].rules) for f in {audit.family_of(a) for a in chosen if _has_family(a)})
    common.progress(ctx, f"auditing {kinds} against {rule_count} rules ({profile})")
    result = audit.run(estate, chosen, request, common.events(ctx), run_id=common.run_id())
    audit.record(result)
    _emit(ctx, result, fmt, output, common.want_json(ctx, as_json))


@app.command("config")
def config_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A firewall's saved running configuration (an export)."),
    vendor: str = typer.Option(..., "--vendor", help="huawei_usg, h3c_secpath, hillstone_stoneos or nftables."),
    profile: str = typer.Option("mlps3", "--profile"),
    rules: Optional[str] = typer.Option(None, "--rules"),
    fmt: str = FormatOption,
    output: Optional[Path] = common.OutputOption,
    waiver_file: Optional[Path] = typer.Option(None, "--waivers"),
    as_json: bool = common.JsonOption,
) -> None:
    """Audit a saved firewall configuration against the baseline (no device access)."""
    if fmt not in report.FORMATS:
        raise InputError(f"--format: unknown format {fmt!r} (one of: {', '.join(report.FORMATS)})")
    bundle = audit_config.from_file(path, vendor)
    request = _request(ctx, profile, rules, waiver_file, 1, None)
    if "firewall" not in request.suites:
        raise InputError("--rules: no firewall rule selected (fw.*)")
    request.suites = {"firewall": request.suites["firewall"]}
    result = audit.evaluate_config(bundle, request, str(path))
    _emit(ctx, result, fmt, output, common.want_json(ctx, as_json))


@app.command("evaluate")
def evaluate_cmd(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="Folder of bundles saved with --save-facts."),
    profile: str = typer.Option("mlps3", "--profile"),
    rules: Optional[str] = typer.Option(None, "--rules"),
    fmt: str = FormatOption,
    output: Optional[Path] = common.OutputOption,
    waiver_file: Optional[Path] = typer.Option(None, "--waivers"),
    as_json: bool = common.JsonOption,
) -> None:
    """Evaluate saved fact bundles offline (no target is contacted)."""
    inv = common.options(ctx).inventory
    estate = load_estate(ctx) if inv.exists() else None
    request = _request(ctx, profile, rules, waiver_file, 1, None, estate)
    result = audit.evaluate_saved(folder, estate, request)
    _emit(ctx, result, fmt, output, common.want_json(ctx, as_json))
