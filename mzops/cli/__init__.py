"""The `mzops` command: global options and the sub-command tree."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mzops import __version__
from mzops import access, oplog, secrets
from mzops.cli import accounts, audit, backup, common, dr, firewall, harden, inventory, lab, log, secrets_cmd
from mzops.errors import InputError, MzopsError

app = typer.Typer(
    name="mzops",
    help="MLPS 2.0 level-3 compliance and operations for the ministry's estate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(inventory.app, name="inventory")
app.add_typer(lab.app, name="lab")
app.add_typer(audit.app, name="audit")
app.add_typer(accounts.app, name="accounts")
app.add_typer(harden.app, name="harden")
app.add_typer(firewall.app, name="firewall")
app.add_typer(backup.app, name="backup")
app.add_typer(dr.app, name="dr")
app.add_typer(log.app, name="log")
app.add_typer(secrets_cmd.app, name="secrets")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mzops {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    inventory_path: Path = typer.Option(
        Path("inventory"), "-i", "--inventory", envvar="MZOPS_INVENTORY",
        help="Ansible inventory (folder or file) of the estate.", show_default=True,
    ),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable output alone on stdout."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress messages on stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    ctx.obj = common.Options(inventory=inventory_path, json=json_output, quiet=quiet)


# Typer vendors click privately; its public BadParameter still derives from click's
# ClickException, which every usage error (unknown option, missing argument) is.
ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


GLOBAL_WITH_VALUE = ("-i", "--inventory")
RESULTS = {0: "ok", 1: "findings or failure", 2: "usage or validation error", 3: "targets unreachable"}


def command_path(argv: list[str]) -> str:
    """The sub-command named on the command line ("audit run"), skipping options."""
    words, skip = [], False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in GLOBAL_WITH_VALUE:
            skip = True
            continue
        if token == "--":
            break
        if token.startswith("-"):
            continue
        words.append(token)
        if len(words) == 2:
            break
    return " ".join(words)


def main() -> None:
    """Authorize the command for the user's role, run it, and log it (also refusals)."""
    argv = sys.argv[1:]
    command = command_path(argv)
    logged = bool(command) and not any(a in ("--help", "--version") for a in argv)
    user, uid = oplog.current_user()
    role, result, code = access.UNRESTRICTED, None, 0
    try:
        if logged:
            decision = access.authorize(command, user, uid)
            role = decision.role
            if not decision.allowed:
                common.stderr.print(f"mzops: error: refused: {decision.reason}", markup=False, highlight=False)
                result, code = "refused", 2
        if result is None:
            code = _run()
    except InputError as exc:  # a broken roles file refuses everything
        common.stderr.print(f"mzops: error: {exc}", markup=False, highlight=False)
        result, code = "refused", exc.exit_code
    if logged:
        try:
            oplog.append([secrets.redact(a) for a in ["mzops", *argv]], role, common.logged_targets(),
                         result or RESULTS.get(code, "error"), code, common.run_id())
        except MzopsError as exc:
            common.stderr.print(f"mzops: error: {exc}", markup=False, highlight=False)
            code = code or exc.exit_code
    sys.exit(code)


def _run() -> int:
    try:
        code = app(standalone_mode=False)
        return code if isinstance(code, int) else 0
    except ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.ctx.get_help())
            return 0
        # Usage errors as one line, like every other mzops error (exit 2).
        where = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
        common.stderr.print(f"mzops: error: {exc.format_message()}{where}", markup=False, highlight=False)
        return exc.exit_code
    except typer.Abort:
        common.stderr.print("mzops: aborted")
        return 130
    except MzopsError as exc:
        common.stderr.print(f"mzops: error: {secrets.redact(str(exc))}", markup=False, highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        common.stderr.print("mzops: interrupted")
        return 130
