"""The `mzops` command: global options and the sub-command tree."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mzops import __version__
from mzops.cli import audit, common, inventory, lab
from mzops.errors import MzopsError

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


def main() -> None:
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.ctx.get_help())
            sys.exit(0)
        # Usage errors as one line, like every other mzops error (exit 2).
        where = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
        common.stderr.print(f"mzops: error: {exc.format_message()}{where}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        common.stderr.print("mzops: aborted")
        sys.exit(130)
    except MzopsError as exc:
        common.stderr.print(f"mzops: error: {exc}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        common.stderr.print("mzops: interrupted")
        sys.exit(130)
