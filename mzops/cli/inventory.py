"""`mzops inventory`: list, show and validate the estate and the account register."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from mzops.backup import policy as backup_policy
from mzops.dr import plan as dr_plans
from mzops.cli import common
from mzops.compliance import catalogue, waivers
from mzops.errors import InputError, MzopsError
from mzops.inventory import loader, register, validate
from mzops.firewall import policy

app = typer.Typer(help="The estate: assets, zones, sites and the account register.", no_args_is_help=True)


def load_estate(ctx: typer.Context):
    """Load and validate the inventory; refuse (exit 2) on the first problem."""
    estate = loader.load(common.options(ctx).inventory)
    problems = validate.estate_problems(estate)
    if problems:
        more = f" (and {len(problems) - 1} more: run `mzops inventory validate`)" if len(problems) > 1 else ""
        raise InputError(problems[0] + more)
    return estate


@app.command("list")
def list_assets(
    ctx: typer.Context,
    kind: Optional[str] = typer.Option(None, "--kind", help="host, database or firewall"),
    zone: Optional[str] = typer.Option(None, "--zone", help="A zone id, e.g. core"),
    site: Optional[str] = typer.Option(None, "--site", help="A site id, e.g. primary"),
    as_json: bool = common.JsonOption,
) -> None:
    """List assets, optionally filtered by kind, zone and site."""
    estate = load_estate(ctx)
    for value, known, what in ((kind, ("host", "database", "firewall"), "kind"),
                               (zone, estate.zones, "zone"), (site, estate.sites, "site")):
        if value is not None and value not in known:
            raise InputError(f"--{what}: unknown {what} {value!r} (one of: {', '.join(known)})")
    assets = sorted(estate.select(kind, zone, site), key=lambda a: (a.site, a.zone, a.kind, a.name))
    if common.want_json(ctx, as_json):
        common.print_json([a.to_dict() for a in assets])
        return
    table = Table("name", "kind", "zone", "site", "platform", "address", "criticality")
    for a in assets:
        platform = a.platform or a.db_engine or ""
        table.add_row(a.name, a.kind, a.zone, a.site, platform, a.address or "", a.criticality)
    common.stdout.print(table)
    common.progress(ctx, f"{len(assets)} of {len(estate.assets)} assets")


@app.command("show")
def show(ctx: typer.Context, name: str = typer.Argument(..., help="Asset name"),
         as_json: bool = common.JsonOption) -> None:
    """Everything the inventory says about one asset."""
    estate = load_estate(ctx)
    asset = estate.assets.get(name)
    if asset is None:
        raise InputError(f"{estate.source}: no asset named {name!r}")
    common.note_targets([name])
    data = asset.to_dict()
    data["defined_at"] = estate.where(name)
    if common.want_json(ctx, as_json):
        common.print_json(data)
        return
    table = Table("key", "value", show_header=False)
    zone = estate.zones.get(asset.zone)
    site = estate.sites.get(asset.site)
    for key, value in data.items():
        if key == "zone" and zone:
            value = f"{value} ({zone.name} / {zone.name_zh})"
        if key == "site" and site:
            value = f"{value} ({site.name} / {site.name_zh})"
        if isinstance(value, (list, dict)):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else ", ".join(value)
        table.add_row(key, "" if value is None else str(value))
    common.stdout.print(table)


@app.command("validate")
def validate_cmd(
    ctx: typer.Context,
    register_file: Optional[Path] = typer.Option(None, "--register", help="Account register (default: accounts.yml beside the inventory)"),
    as_json: bool = common.JsonOption,
) -> None:
    """Check the inventory, the account register, the zone policy and the backup policy; exit 2 listing every problem."""
    problems: list[str] = []
    try:
        estate = loader.load(common.options(ctx).inventory)
    except MzopsError as exc:
        problems, estate = [str(exc)], None
    if estate is not None:
        problems += validate.estate_problems(estate)
        try:
            catalogues = catalogue.load_profile("mlps3")
            problems += validate.parameter_problems(estate, catalogues)
        except MzopsError as exc:
            problems.append(str(exc))
            catalogues = {}
        try:
            reg = register.load(common.register_path(ctx, register_file))
            problems += validate.register_problems(reg, estate)
        except MzopsError as exc:
            problems.append(str(exc))
        inv = common.options(ctx).inventory
        if ((inv if inv.is_dir() else inv.parent) / "zone_policy.yml").exists():
            try:
                policy.load(inv, estate)
            except MzopsError as exc:
                problems.append(str(exc))
        waiver_file = (inv if inv.is_dir() else inv.parent) / "waivers.yml"
        if waiver_file.exists() and catalogues:
            try:
                waivers.load(waiver_file, {r for c in catalogues.values() for r in c.rules},
                             set(estate.assets) | set(estate.groups))
            except MzopsError as exc:
                problems.append(str(exc))
        if backup_policy.folder_of(inv).is_dir():
            try:
                backup_policy.load(backup_policy.folder_of(inv), estate)
            except MzopsError as exc:
                problems.append(str(exc))
            for name in dr_plans.names(inv):
                try:
                    dr_plans.load(inv, name, estate)
                except MzopsError as exc:
                    problems.append(str(exc))
    if common.want_json(ctx, as_json):
        common.print_json({"valid": not problems, "problems": problems})
    else:
        for line in problems:
            common.stderr.print(line, markup=False, highlight=False)
        if not problems:
            common.progress(ctx, f"ok: {len(estate.assets)} assets, register consistent")
    if problems:
        raise typer.Exit(2)
