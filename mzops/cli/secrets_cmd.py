"""`mzops secrets check`: resolve every credential reference, print statuses only."""

from __future__ import annotations

import typer
from rich.table import Table

from mzops.cli import common
from mzops.cli.inventory import load_estate

app = typer.Typer(help="Credential references: where secrets live, never their values.", no_args_is_help=True)


@app.command("check")
def check(ctx: typer.Context, as_json: bool = common.JsonOption) -> None:
    """Resolve each reference in the inventory: ok | missing | denied | error."""
    estate = load_estate(ctx)
    resolver = common.resolver(ctx)
    users: dict[str, list[str]] = {}
    for asset in estate.assets.values():
        for ref in asset.credentials.values():
            users.setdefault(ref, []).append(asset.name)
    rows = []
    for ref in sorted(users):
        status, detail = resolver.check(ref)
        rows.append({"reference": ref, "status": status, "detail": detail, "assets": sorted(users[ref])})
    if common.want_json(ctx, as_json):
        common.print_json(rows)
    else:
        table = Table("reference", "status", "detail", "assets")
        for row in rows:
            table.add_row(row["reference"], row["status"], row["detail"], ", ".join(row["assets"]))
        common.stdout.print(table)
    if any(row["status"] != "ok" for row in rows):
        raise typer.Exit(1)
