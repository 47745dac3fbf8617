"""`mzops firewall`: the zone policy as code, rendered per firewall in its own syntax."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer

from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.errors import InputError
from mzops.firewall import modelio, policy, push, store, vendors

app = typer.Typer(help="Firewalls: the zone policy and management baseline per vendor; backup, drift, push.",
                  no_args_is_help=True)

LimitOption = typer.Option(None, "--limit", "-l", help="Ansible host pattern among the firewalls, e.g. 'fw-core-*'.")
ForksOption = typer.Option(10, "--forks", help="Devices worked on at once.")
# A push whose outcome is one of these fails the command (exit 1); unreachable: exit 3.
FAILING = (push.FAILED, push.ROLLED_BACK, push.ROLLBACK_FAILED)


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
    # Without a register, administrators come from nowhere: rendered without them.
    desired = policy.desired_for(estate, inventory, name, common.optional_register(ctx, register_path))
    common.note_targets([name])
    if common.want_json(ctx, as_json):
        common.print_json({"name": name, "vendor": desired.vendor, "model": modelio.to_data(desired),
                           "configuration": vendors.get(desired.vendor).render(desired)})
    else:
        common.stdout.print(vendors.get(desired.vendor).render(desired), markup=False, highlight=False, end="")


def _firewalls(ctx: typer.Context, limit: Optional[str]):
    estate = load_estate(ctx)
    names = estate.limit(limit)
    if limit and not names:
        raise InputError(f"--limit: {limit!r} matches no asset in {estate.source}")
    chosen = [n for n in names if estate.assets[n].kind == "firewall"]
    if not chosen:
        raise InputError(f"--limit: no firewall among the {len(names)} selected assets")
    common.note_targets(chosen)
    devices, failed = push.devices(estate, chosen, common.resolver(ctx))
    return estate, devices, failed


def _exit_code(outcomes: list[push.Outcome]) -> int:
    if any(o.status in FAILING for o in outcomes):
        return 1
    return 3 if any(o.status == push.UNREACHABLE for o in outcomes) else 0


def _emit(ctx: typer.Context, as_json: bool, outcomes: list[push.Outcome], text: str, code: int) -> None:
    outcomes = sorted(outcomes, key=lambda o: o.name)
    if common.want_json(ctx, as_json):
        common.print_json({"devices": [o.to_dict() for o in outcomes], "exit_code": code})
    else:
        common.stdout.print(text, markup=False, highlight=False, end="")
    if code:
        raise typer.Exit(code)


def _count(o: push.Outcome) -> str:
    # nftables previews a diff of its one table; the CLI vendors a list of commands.
    return f" {len(o.commands)}-line diff" if o.vendor == "nftables" else f" {len(o.commands)} commands"


def _line(o: push.Outcome, extra: str = "") -> str:
    detail = f"  {o.detail}" if o.detail else ""
    return f"{o.name:<16} {o.vendor:<18} {o.status:<16}{extra}{detail}\n"


@app.command("backup")
def backup_cmd(
    ctx: typer.Context,
    limit: Optional[str] = LimitOption,
    forks: int = ForksOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Save each firewall's running configuration under $MZOPS_HOME, timestamped (read-only on the device)."""
    _, devices, outcomes = _firewalls(ctx, limit)
    common.progress(ctx, f"backing up {len(devices)} firewall(s)")
    outcomes += push.each(devices, push.backup, forks)
    text = "".join(_line(o, f" {o.snapshot}" if o.snapshot else "") for o in sorted(outcomes, key=lambda o: o.name))
    _emit(ctx, as_json, outcomes, text, _exit_code(outcomes))


@app.command("history")
def history_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A firewall of the inventory."),
    diff_from: Optional[str] = typer.Option(None, "--diff", help="Show the changes from this version (index, -1 = newest, or stamp)."),
    diff_to: str = typer.Option("-1", "--to", help="... to this version (default: the newest)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Saved configurations of a firewall, or the diff between two of them."""
    common.note_targets([name])
    if diff_from is not None:
        a, b = store.pick(name, diff_from, "--diff"), store.pick(name, diff_to, "--to")
        text = store.diff(a, b)
        if common.want_json(ctx, as_json):
            common.print_json({"name": name, "from": a.to_dict(), "to": b.to_dict(), "diff": text})
        else:
            common.stdout.print(text or f"versions {a.index} and {b.index} are identical\n", markup=False,
                                highlight=False, end="")
        return
    found = store.versions(name)
    if common.want_json(ctx, as_json):
        common.print_json({"name": name, "versions": [v.to_dict() for v in found]})
        return
    if not found:
        common.stdout.print(f"{name}: no saved configuration\n", markup=False, end="")
        return
    for v in found:
        common.stdout.print(f"{v.index:>3}  {v.stamp}  {v.reason:<15} {v.path.stat().st_size:>8} B  {v.sha256[:12]}",
                            markup=False, highlight=False)


def _wanted(ctx: typer.Context, estate, devices, register_path):
    return push.wanted(estate, common.options(ctx).inventory, devices,
                       common.optional_register(ctx, register_path))


@app.command("diff")
def diff_cmd(
    ctx: typer.Context,
    limit: Optional[str] = LimitOption,
    register_path: Optional[Path] = typer.Option(None, "--register", help="Account register (default: accounts.yml beside the inventory)."),
    forks: int = ForksOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Drift: each firewall's running configuration against the desired one, as the commands a push would send."""
    estate, devices, outcomes = _firewalls(ctx, limit)
    wants, failed = _wanted(ctx, estate, devices, register_path)
    outcomes += failed
    chosen = [d for d in devices if d.asset.name in wants]
    common.progress(ctx, f"reading {len(chosen)} firewall(s)")
    outcomes += push.each(chosen, lambda d: push.drift(d, wants[d.asset.name]), forks)
    text = ""
    for o in sorted(outcomes, key=lambda o: o.name):
        status = "in line" if o.status == push.UNCHANGED else ("drift" if o.status == push.PREVIEW else o.status)
        text += f"{o.name:<16} {o.vendor:<18} {status}" + (f" ({_count(o).strip()})" if o.commands else "") + \
            (f"  {o.detail}" if o.detail else "") + "\n"
        text += "".join(f"    {c}\n" for c in o.commands)
    code = _exit_code(outcomes) or (1 if any(o.status == push.PREVIEW for o in outcomes) else 0)
    _emit(ctx, as_json, outcomes, text, code)


@app.command("push")
def push_cmd(
    ctx: typer.Context,
    limit: Optional[str] = LimitOption,
    apply: bool = typer.Option(False, "--apply", help="Send the changes (without it: a preview of the commands)."),
    register_path: Optional[Path] = typer.Option(None, "--register", help="Account register (default: accounts.yml beside the inventory)."),
    forks: int = ForksOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Bring firewalls to the desired configuration: preview, or with --apply: snapshot, push the
    difference in one session, verify, and roll back to the snapshot on any failure."""
    estate, devices, outcomes = _firewalls(ctx, limit)
    wants, failed = _wanted(ctx, estate, devices, register_path)
    outcomes += failed
    chosen = [d for d in devices if d.asset.name in wants]
    common.progress(ctx, f"{'pushing to' if apply else 'previewing'} {len(chosen)} firewall(s)")
    with (store.lock() if apply else contextlib.nullcontext()):
        outcomes += push.each(chosen, lambda d: push.push(d, wants[d.asset.name], apply), forks)
    text = ""
    for o in sorted(outcomes, key=lambda o: o.name):
        text += _line(o, _count(o) if o.commands else "")
        if o.status in (push.PREVIEW, push.FAILED, push.ROLLED_BACK, push.ROLLBACK_FAILED) or \
                (o.status == push.CHANGED and not common.options(ctx).quiet):
            text += "".join(f"    {c}\n" for c in o.commands)
        if o.snapshot:
            text += f"    snapshot: {o.snapshot}\n"
    _emit(ctx, as_json, outcomes, text, _exit_code(outcomes))
