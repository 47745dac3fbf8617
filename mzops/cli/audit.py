"""`mzops audit`: read-only MLPS compliance audit of the estate, with reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from mzops import report
from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.compliance import audit, catalogue, history, merge, waivers
from mzops import paths
from mzops.errors import InputError, OperationFailed
from mzops.report import site, table
from mzops.results import Run

app = typer.Typer(help="Read-only MLPS compliance audit: evidence per rule per asset.", no_args_is_help=True)

FormatOption = typer.Option("table", "--format", "-f", help="table, json, jsonl (a target per line), junit or html.")
# One file of every asset's evidence stops being readable at about this many assets.
FOLDER_ADVISED = 200


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


def _check_report_options(ctx: typer.Context, fmt: str, output: Optional[Path], as_json: bool) -> None:
    """Before the run: an unknown format, or a folder for a report that is one file, would
    otherwise be found only when the run is over."""
    if fmt not in report.FORMATS:
        raise InputError(f"--format: unknown format {fmt!r} (one of: {', '.join(report.FORMATS)})")
    single_file = common.want_json(ctx, as_json) or fmt != "html"
    if output is not None and single_file and output.is_dir():
        raise InputError(f"-o {output} is a folder: name a file (a folder holds an html report, -f html)")


def _emit(ctx: typer.Context, run: Run, fmt: str, output: Optional[Path], as_json: bool) -> None:
    if as_json:
        fmt = "json"
    if fmt not in report.FORMATS:
        raise InputError(f"--format: unknown format {fmt!r} (one of: {', '.join(report.FORMATS)})")
    summary = None if as_json or output is None else table.summary(run)   # shown beside a written report
    if fmt == "html" and output is not None and site.is_folder_output(output):
        records = history.load(run.profile, last=site.TREND_RUNS, skip=run.run_id)
        try:
            size = site.write(run, output, records)
        except OSError as exc:
            # The run is done: its report is kept, not lost with the path that failed.
            kept = paths.mzops_home() / "reports" / f"unsaved-{common.run_id()}.zip"
            site.write(run, kept, records)
            raise OperationFailed(f"-o {output}: cannot write the report ({exc.strerror}); it is kept in {kept}") \
                from None
        common.progress(ctx, f"html report written to {output}: a summary ({size / 1e6:.2f} MB) "
                             f"and {len(run.targets)} asset pages")
        if summary and not common.options(ctx).json:
            common.stdout.print(summary, markup=False, highlight=False, end="")
        if run.exit_code():
            raise typer.Exit(run.exit_code())
        return
    if fmt == "html" and len(run.targets) > FOLDER_ADVISED:
        common.progress(ctx, f"{len(run.targets)} assets in one HTML file is hard to open and to read: "
                             "-o FOLDER (or FILE.zip) writes a summary and a page per asset")
    common.emit_report(ctx, lambda: report.stream(run, fmt), fmt, output, summary, run.exit_code())


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
    output: Optional[Path] = common.ReportOutputOption,
    waiver_file: Optional[Path] = typer.Option(None, "--waivers", help="Waivers YAML (default: waivers.yml beside the inventory, if any)."),
    forks: int = typer.Option(10, "--forks", help="Assets assessed in parallel."),
    save_facts: Optional[Path] = typer.Option(None, "--save-facts", help="Keep each asset's fact bundle in this folder."),
    as_json: bool = common.JsonOption,
) -> None:
    """Audit hosts, databases (one SSH round trip each) and firewalls (their running configuration, read-only).
    Exit 0 compliant, 1 findings, 3 unreachable."""
    _check_report_options(ctx, fmt, output, as_json)
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
    output: Optional[Path] = common.ReportOutputOption,
    waiver_file: Optional[Path] = typer.Option(None, "--waivers"),
    as_json: bool = common.JsonOption,
) -> None:
    """Audit a saved firewall configuration against the baseline (no device access)."""
    from mzops.firewall import audit_config   # napalm's drivers: imported by the command that uses them

    _check_report_options(ctx, fmt, output, as_json)
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
    output: Optional[Path] = common.ReportOutputOption,
    waiver_file: Optional[Path] = typer.Option(None, "--waivers"),
    as_json: bool = common.JsonOption,
) -> None:
    """Evaluate saved fact bundles offline (no target is contacted)."""
    _check_report_options(ctx, fmt, output, as_json)
    inv = common.options(ctx).inventory
    estate = load_estate(ctx) if inv.exists() else None
    request = _request(ctx, profile, rules, waiver_file, 1, None, estate)
    result = audit.evaluate_saved(folder, estate, request)
    _emit(ctx, result, fmt, output, common.want_json(ctx, as_json))


@app.command("merge")
def merge_cmd(
    ctx: typer.Context,
    reports: list[Path] = typer.Argument(..., help="JSON or JSON Lines reports of audits (audit run -f json|jsonl)."),
    fmt: str = FormatOption,
    output: Optional[Path] = common.ReportOutputOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Join audits collected in several places (control nodes, AWX jobs) into one run and
    report, recorded like any audit (history and trends see it). No target is contacted.
    Exit codes as for audit run."""
    _check_report_options(ctx, fmt, output, as_json)
    parts = [(path, merge.load(path)) for path in reports]
    result, notes = merge.merge(parts, run_id=common.run_id())
    for note in notes:
        common.progress(ctx, note)
    common.progress(ctx, f"merged {len(parts)} reports: {len(result.targets)} targets")
    common.note_targets(t.name for t in result.targets)
    audit.record(result, merged_from=[str(p) for p in reports])
    _emit(ctx, result, fmt, output, common.want_json(ctx, as_json))


@app.command("history")
def history_cmd(
    ctx: typer.Context,
    asset: Optional[str] = typer.Option(None, "--asset", help="One asset's score and clause changes over the audits."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Only audits of this baseline profile."),
    last: int = typer.Option(50, "--last", help="At most this many audits, the newest."),
    as_json: bool = common.JsonOption,
) -> None:
    """Audits recorded on this controller, oldest first: per audit the assets, the mean
    score and how many had findings; with --asset, that asset's score per audit and each
    clause whose verdict got worse or better since the audit before."""
    if last < 1:
        raise InputError("--last must be at least 1")
    records = history.load(profile, last=last)
    if asset is not None:
        rows = history.asset_trend(records, asset)
        if not rows:
            raise InputError(f"--asset {asset}: not in any recorded audit"
                             + (f" of profile {profile}" if profile else ""))
        if common.want_json(ctx, as_json):
            common.print_json(rows)
            return
        for row in rows:
            score = "—" if row["score"] is None else f"{row['score']:.1f}%"
            common.stdout.print(f"{row['generated_at']}  {row['run_id']:<24} {row['status']:<11} {score:>7}  "
                                f"fail {row['counts'].get('fail', 0)}, error {row['counts'].get('error', 0)}",
                                markup=False, highlight=False)
            for said in row["worse"]:
                common.stdout.print(f"    worse: {said}", markup=False, highlight=False)
            for said in row["better"]:
                common.stdout.print(f"    better: {said}", markup=False, highlight=False)
        return
    rows = [history.summary(r) for r in records]
    if common.want_json(ctx, as_json):
        common.print_json(rows)
        return
    if not rows:
        common.stdout.print("no audit recorded on this controller", highlight=False)
        return
    for row in rows:
        score = "—" if row["mean_score"] is None else f"{row['mean_score']:.1f}%"
        common.stdout.print(f"{row['generated_at']}  {row['run_id']:<24} {row['profile']:<8} {row['assets']:>5} assets, "
                            f"{row['assessed']:>5} assessed, {row['with_findings']:>5} with findings, "
                            f"{row['not_assessed']:>4} not assessed, mean {score}", markup=False, highlight=False)
