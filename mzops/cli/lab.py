"""`mzops lab`: a local lab of real Debian hosts reachable by SSH (root only)."""

from __future__ import annotations

from typing import List

import typer
from rich.table import Table

from mzops.cli import common
from mzops.errors import InputError
from mzops.lab import runtime

app = typer.Typer(help="A lab of real SSH hosts in network namespaces, for tests and demos.",
                  no_args_is_help=True)


@app.command("up")
def up(
    ctx: typer.Context,
    hosts: int = typer.Option(3, "--hosts", "-n", help="Number of general hosts (1-60)."),
    db: bool = typer.Option(False, "--db", help="Add labdb1 (primary) and labdb2 (DR) running PostgreSQL 15 and MariaDB."),
    systemd: bool = typer.Option(False, "--systemd", help="Boot systemd as PID 1 in each host (systemd-nspawn)."),
    firewall: bool = typer.Option(False, "--firewall", help="Add labfw1, an nftables firewall between the primary user and core zones."),
    backup: bool = typer.Option(False, "--backup", help="Add the backup servers labbk1 (primary) and labbk2 (DR) "
                                "with their file-backed tape libraries and a backup policy (see `lab server`)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Start the lab and write its inventory (use it with `mzops -i`)."""
    result = runtime.up(hosts=hosts, databases=db, systemd=systemd, firewall=firewall, backup=backup,
                        log=lambda m: common.progress(ctx, m))
    common.note_targets(h.name for h in result.hosts)
    common.progress(ctx, f"lab up: {len(result.hosts)} hosts in {result.seconds:.1f} s")
    _render_status(ctx, as_json)


@app.command("down")
def down(ctx: typer.Context) -> None:
    """Stop every lab host and remove namespaces, routes, sockets and files."""
    removed = runtime.down(log=lambda m: None)
    common.progress(ctx, f"lab down: removed {len(removed)} items" if removed else "lab down: nothing to remove")


@app.command("reset")
def reset(ctx: typer.Context, hosts: List[str] = typer.Argument(..., help="Lab host names")) -> None:
    """Restart hosts from a pristine root filesystem (tests use this for a clean slate)."""
    common.note_targets(hosts)
    runtime.reset(list(hosts), log=lambda m: common.progress(ctx, m))


link_app = typer.Typer(help="The metro link between the lab's two sites: cut, restore.", no_args_is_help=True)
app.add_typer(link_app, name="link")


@link_app.command("cut")
def link_cut(ctx: typer.Context) -> None:
    """Cut the metro link: no traffic between the sites; the controller stays at the DR site."""
    runtime.link(True, log=lambda m: common.progress(ctx, m))


@link_app.command("restore")
def link_restore(ctx: typer.Context) -> None:
    """Mend the metro link."""
    runtime.link(False, log=lambda m: common.progress(ctx, m))


@app.command("status")
def status(ctx: typer.Context, as_json: bool = common.JsonOption) -> None:
    """Show the lab's hosts and inventory path."""
    _render_status(ctx, as_json)


def _render_status(ctx: typer.Context, as_json: bool) -> None:
    data = runtime.status()
    if common.want_json(ctx, as_json):
        common.print_json(data)
        return
    if not data["up"]:
        common.stdout.print("lab is down")
        if data["stale_namespaces"]:
            common.stdout.print(f"stale namespaces: {', '.join(data['stale_namespaces'])} (run `mzops lab down`)")
        return
    table = Table("name", "address", "site", "zone", "role", "state")
    for h in data["hosts"]:
        role = ("firewall (nftables)" if h.get("firewall") else "databases" if h["databases"] else
                "backup server" if h.get("backup") else "")
        table.add_row(h["name"], h["address"], h["site"], h["zone"], role, h["state"])
    common.stdout.print(table)
    common.stdout.print(f"inventory: {data['inventory']}", highlight=False, markup=False)


@app.command("server", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def server(
    ctx: typer.Context,
    site: str = typer.Option("primary", "--site", help="Whose backup server: primary (labbk1) or dr (labbk2)."),
    args: List[str] = typer.Argument(None, help="mzops arguments, after --"),
) -> None:
    """Run mzops as a lab backup server (`lab up --backup`): inside its network namespace,
    reaching the lab's hosts over the lab network, with its own catalogue; e.g.
    `mzops lab server -- backup run`. Its exit code is passed through."""
    if not args:
        raise InputError("no mzops arguments given (mzops lab server -- backup run)")
    raise typer.Exit(runtime.run_as_server(site, list(args)))


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(
    ctx: typer.Context,
    host: str = typer.Argument(..., help="Lab host name, e.g. lab01"),
    command: List[str] = typer.Argument(None, help="Command and arguments, after --"),
) -> None:
    """Run a command as root on a lab host; its exit code is passed through."""
    if not command:
        raise InputError("no command given (mzops lab exec HOST -- CMD ...)")
    common.note_targets([host])
    raise typer.Exit(runtime.exec_on(host, list(command)))
