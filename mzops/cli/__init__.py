"""The `mzops` command: global options and the sub-command tree."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import typer

import importlib

from mzops import __version__
from mzops import access, oplog, secrets
from mzops.cli import common
from mzops.errors import InputError, MzopsError
from mzops.paths import mzops_home

app = typer.Typer(
    name="mzops",
    help="MLPS 2.0 level-3 compliance and operations for the ministry's estate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)
# The command groups, in the order help lists them. A command imports only its own
# group (napalm, netmiko, SQLAlchemy are not loaded for `mzops dr failover`): a second
# of Python start-up is a second of a failover's RTO.
GROUPS = {"inventory": "inventory", "lab": "lab", "audit": "audit", "accounts": "accounts", "harden": "harden",
          "firewall": "firewall", "backup": "backup", "dr": "dr", "log": "log", "secrets": "secrets_cmd"}
_registered: set[str] = set()


def register(only: str | None = None) -> None:
    """Add the command group `only` to the app, or every group (help, tests)."""
    for name in ([only] if only in GROUPS else list(GROUPS)):
        if name not in _registered:
            module = importlib.import_module(f"mzops.cli.{GROUPS[name]}")
            _summaries_on_one_line(module.app)
            app.add_typer(module.app, name=name)
            _registered.add(name)


def _summaries_on_one_line(group: typer.Typer) -> None:
    """Each command's first paragraph as running text: a group's --help lists it with the
    docstring's line breaks kept (Typer's rich markup keeps single newlines there), where
    the command's own --help joins them."""
    for info in group.registered_commands:
        text = info.help or inspect.getdoc(info.callback) or ""
        first, gap, rest = text.partition("\n\n")
        if "\n" in first and not first.startswith("\b"):    # \b: click's "keep these lines"
            info.help = " ".join(first.split()) + gap + rest
    for sub in group.registered_groups:
        _summaries_on_one_line(sub.typer_instance)


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
RESULTS = {0: "ok", 1: "findings or failure", 2: "usage or validation error", 3: "targets unreachable",
           70: "crashed"}


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


def hoist_globals(argv: list[str]) -> list[str]:
    """-i/--inventory and -q/--quiet anywhere before `--` (the README's synopses put them
    after the sub-command, where click would not know them) moved before it."""
    front, rest, i = [], [], 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest += argv[i:]
            break
        if token in GLOBAL_WITH_VALUE and i + 1 < len(argv):
            front += argv[i:i + 2]
            i += 2
            continue
        if token.startswith("--inventory=") or token in ("-q", "--quiet"):
            front.append(token)
        else:
            rest.append(token)
        i += 1
    return front + rest


def main() -> None:
    """Authorize the command for the user's role, run it, and log it (also refusals)."""
    argv = hoist_globals(sys.argv[1:])
    sys.argv[1:] = argv
    command = command_path(argv)
    logged = bool(command) and not any(a in ("--help", "--version") for a in argv)
    user, uid = oplog.current_user()
    role, result, code = access.UNRESTRICTED, None, 0
    try:
        if logged:
            decision = access.authorize(command, user, uid)
            role = decision.role
            if not decision.allowed:
                common.stderr.print(common.printable(f"mzops: error: refused: {decision.reason}"), markup=False, highlight=False)
                result, code = "refused", 2
        if result is None:
            group = (command.split() or [None])[0]
            if any(a in ("--help", "-h") for a in argv) or (group is None and "--version" not in argv):
                register()                  # help lists every group
            elif group is not None:
                register(group)
            code = _run()
    except InputError as exc:  # a broken roles file refuses everything
        common.stderr.print(common.printable(f"mzops: error: {exc}"), markup=False, highlight=False)
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
            return 0                        # Typer has printed the group's help
        # Usage errors as one line, like every other mzops error (exit 2).
        where = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
        common.stderr.print(common.printable(f"mzops: error: {exc.format_message()}{where}"), markup=False,
                            highlight=False)
        return exc.exit_code
    except typer.Abort:
        common.stderr.print("mzops: aborted")
        return 130
    except MzopsError as exc:
        common.stderr.print(common.printable(f"mzops: error: {secrets.redact(str(exc))}"), markup=False,
                            highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        common.stderr.print("mzops: interrupted")
        return 130
    except OSError as exc:      # this machine refused a file operation (a name too long, no space)
        where = f"{str(exc.filename)[:120]}: " if exc.filename else ""
        common.stderr.print(common.printable(f"mzops: error: {where}{exc.strerror or exc}"), markup=False,
                            highlight=False)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback kept, the run logged
        return _crashed(exc)


CRASHED = 70        # EX_SOFTWARE (sysexits.h): an internal error, not the input's fault


def _crashed(exc: Exception) -> int:
    import traceback

    folder = mzops_home() / "crashes"
    text = secrets.redact("".join(traceback.format_exception(exc)))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / f"{common.run_id()}.txt"
        kept.write_text(f"mzops {__version__}: {' '.join(secrets.redact(a) for a in sys.argv)}\n{text}")
        where = f"traceback kept in {kept}"
    except OSError:
        where = "its traceback could not be kept"
    message = secrets.redact(str(exc)).splitlines()[0] if str(exc).strip() else ""
    common.stderr.print(common.printable(f"mzops: internal error: {type(exc).__name__}: {message} "
                                         f"(a bug in mzops: {where})"), markup=False, highlight=False)
    return CRASHED
