"""`mzops firewall`: the zone policy as code, rendered per firewall in its own syntax."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.firewall import modelio, policy, vendors
from mzops.inventory import register as register_file

app = typer.Typer(help="Firewalls: the zone policy and management baseline, rendered per vendor.",
                  no_args_is_help=True)


def _register(ctx: typer.Context, given: Optional[Path]):
    inv = common.options(ctx).inventory
    default = (inv if inv.is_dir() else inv.parent) / "accounts.yml"
    if given is None and not default.exists():
        return None  # administrators then come from nowhere: rendered without them
    return register_file.load(common.register_path(ctx, given))


@app.command("render")
def render_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A firewall of the inventory."),
    register_path: Optional[Path] = typer.Option(None, "--register", help="Account register (default: accounts.yml beside the inventory)."),
    as_json: bool = common.JsonOption,
) -> None:
    """What the firewall should carry: its zone policy and management plane, in its syntax."""
    estate = load_estate(ctx)
    inventory = common.options(ctx).inventory
    desired = policy.desired_for(estate, inventory, name, _register(ctx, register_path))
    common.note_targets([name])
    if common.want_json(ctx, as_json):
        common.print_json({"name": name, "vendor": desired.vendor, "model": modelio.to_data(desired),
                           "configuration": vendors.get(desired.vendor).render(desired)})
    else:
        common.stdout.print(vendors.get(desired.vendor).render(desired), markup=False, highlight=False, end="")
