"""`mzops firewall`: the zone policy as code, rendered per firewall in its own syntax."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer

from mzops import run as runlayer
from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.errors import InputError
from mzops.firewall import modelio, policy, push, store, vendors

app = typer.Typer(help="Firewalls: the zone policy and management baseline per vendor; backup, drift, push.",
                  no_args_is_help=True)

LimitOption = typer.Option(None, "--limit", "-l", help="Ansible host pattern among the firewalls, e.g. 'fw-core-*'.")
ForksOption = typer.Option(10, "--forks", help="Devices worked on at once.")
ProfileOption = typer.Option("mlps3", "--profile", help="Baseline profile whose firewall parameters apply.")


@app.command("render")
def render_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A firewall of the inventory."),
    register_path: Optional[Path] = typer.Option(None, "--register", help="Account register (default: accounts.yml beside the inventory)."),
    profile: str = ProfileOption,
    as_json: bool = common.JsonOption,
) -> None:
    """What the firewall should carry: its zone policy and management plane, in its syntax."""
    estate = load_estate(ctx)
    inventory = common.options(ctx).inventory
    # Without a register, administrators come from nowhere: rendered without them.
    desired = policy.desired_for(estate, inventory, name, common.optional_register(ctx, register_path), profile)
    common.note_targets([name])
    if common.want_json(ctx, as_json):
        common.print_json({"name": name, "vendor": desired.vendor, "model": modelio.to_data(desired),
                           "configuration": vendors.get(desired.vendor, f"{name}.mzops_fw_vendor").render(desired)})
    else:
        common.stdout.print(vendors.get(desired.vendor, f"{name}.mzops_fw_vendor").render(desired), markup=False,
                            highlight=False, end="")


def _firewalls(ctx: typer.Context, limit: Optional[str]):
    estate = load_estate(ctx)
    names = estate.limit(limit)
    if limit and not names:
        raise InputError(f"--limit: {limit!r} matches no asset in {estate.source}")
    chosen = [n for n in names if estate.assets[n].kind == "firewall"]
    if not chosen:
        raise InputError(f"--limit: no firewall among the {len(names)} selected assets")
    devices, failed = push.devices(estate, chosen, common.resolver(ctx))
    return estate, devices, failed


def _run(ctx: typer.Context, what: str, chosen: list, failed: list, work, forks: int,
         drift_fails: bool = False) -> tuple[list[push.DeviceResult], runlayer.Result]:
    """WORK over the devices through the run layer; devices that failed before it
    (no credential, nothing rendered) are outcomes of the same run."""
    events = common.events(ctx)
    events.begin(f"firewall {what}", [d.asset.name for d in chosen] + [f.name for f in failed])
    for result in failed:
        events.finished(result.outcome(drift_fails))
    done = sorted(failed + push.each(chosen, work, forks, events, drift_fails), key=lambda o: o.name)
    events.end()
    run = runlayer.Result(f"firewall {what}", common.run_id(), [d.outcome(drift_fails) for d in done],
                          sum(d.seconds for d in done))
    return done, run


def _emit(ctx: typer.Context, as_json: bool, outcomes: list[push.DeviceResult], text: str, run: runlayer.Result,
          record: bool = False) -> None:
    code = run.exit_code()
    data = {"devices": [o.to_dict() for o in outcomes], "exit_code": code, "run_id": run.run_id}
    if record:
        push.RECORDS.save(run.run_id, {**run.summary(), **data})
    if common.want_json(ctx, as_json):
        common.print_json(data)
    else:
        common.stdout.print(text, markup=False, highlight=False, end="")
    if code:
        raise typer.Exit(code)


def _count(o: push.DeviceResult) -> str:
    # nftables previews a diff of its one table; the CLI vendors a list of commands.
    return f" {len(o.commands)}-line diff" if o.vendor == "nftables" else f" {len(o.commands)} commands"


def _line(o: push.DeviceResult, extra: str = "") -> str:
    detail = f"  {o.detail}" if o.detail else ""
    return f"{o.name:<16} {o.vendor:<18} {o.status:<16}{extra}{detail}\n"


def save_cmd(
    ctx: typer.Context,
    limit: Optional[str] = LimitOption,
    forks: int = ForksOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Save each firewall's running configuration under $MZOPS_HOME, timestamped (read-only on the device)."""
    _, devices, failed = _firewalls(ctx, limit)
    common.progress(ctx, f"saving the running configuration of {len(devices)} firewall(s)")
    outcomes, run = _run(ctx, "save", devices, failed, push.save_running, forks)
    text = "".join(_line(o, f" {o.snapshot}" if o.snapshot else "") for o in outcomes)
    _emit(ctx, as_json, outcomes, text, run)


app.command("save")(save_cmd)
# The command's first name, kept for schedulers' existing timers ("backup" now means tape backup).
app.command("backup", hidden=True, deprecated=True)(save_cmd)


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


def _wanted(ctx: typer.Context, estate, devices, register_path, profile: str):
    return push.wanted(estate, common.options(ctx).inventory, devices,
                       common.optional_register(ctx, register_path), profile)



@app.command("diff")
def diff_cmd(
    ctx: typer.Context,
    limit: Optional[str] = LimitOption,
    register_path: Optional[Path] = typer.Option(None, "--register", help="Account register (default: accounts.yml beside the inventory)."),
    forks: int = ForksOption,
    profile: str = ProfileOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Drift: each firewall's running configuration against the desired one, as the commands a push would send."""
    estate, devices, failed = _firewalls(ctx, limit)
    wants, unrendered = _wanted(ctx, estate, devices, register_path, profile)
    chosen = [d for d in devices if d.asset.name in wants]
    common.progress(ctx, f"reading {len(chosen)} firewall(s)")
    outcomes, run = _run(ctx, "diff", chosen, failed + unrendered, lambda d: push.drift(d, wants[d.asset.name]),
                         forks, drift_fails=True)
    text = ""
    for o in outcomes:
        status = "in line" if o.status == push.UNCHANGED else ("drift" if o.status == push.PREVIEW else o.status)
        text += f"{o.name:<16} {o.vendor:<18} {status}" + (f" ({_count(o).strip()})" if o.commands else "") + \
            (f"  {o.detail}" if o.detail else "") + "\n"
        text += "".join(f"    {c}\n" for c in o.commands)
    _emit(ctx, as_json, outcomes, text, run)


@app.command("push")
def push_cmd(
    ctx: typer.Context,
    limit: Optional[str] = LimitOption,
    apply: bool = typer.Option(False, "--apply", help="Send the changes (without it: a preview of the commands)."),
    register_path: Optional[Path] = typer.Option(None, "--register", help="Account register (default: accounts.yml beside the inventory)."),
    forks: int = ForksOption,
    profile: str = ProfileOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Bring firewalls to the desired configuration: preview, or with --apply: snapshot, push the
    difference in one session, verify, and roll back to the snapshot on any failure."""
    estate, devices, failed = _firewalls(ctx, limit)
    wants, unrendered = _wanted(ctx, estate, devices, register_path, profile)
    chosen = [d for d in devices if d.asset.name in wants]
    common.progress(ctx, f"{'pushing to' if apply else 'previewing'} {len(chosen)} firewall(s)")
    with (push.exclusive() if apply else contextlib.nullcontext()):
        outcomes, run = _run(ctx, "push" if apply else "push preview", chosen, failed + unrendered,
                             lambda d: push.push(d, wants[d.asset.name], apply), forks)
    text = ""
    for o in outcomes:
        text += _line(o, _count(o) if o.commands else "")
        if o.status in (push.PREVIEW, push.FAILED, push.ROLLED_BACK, push.ROLLBACK_FAILED) or \
                (o.status == push.CHANGED and not common.options(ctx).quiet):
            text += "".join(f"    {c}\n" for c in o.commands)
        if o.snapshot:
            text += f"    saved configuration: {o.snapshot}\n"
    _emit(ctx, as_json, outcomes, text, run, record=apply)
