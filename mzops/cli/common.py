"""What every sub-command shares: global options, output channels, exit codes.

Conventions (README, "CLI conventions"): machine output alone on stdout with --json,
human tables on stdout otherwise, progress and logs on stderr, -q quiets progress.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import typer
from rich.console import Console

from mzops import run as runlayer
from mzops.errors import InputError, OperationFailed
from mzops.paths import mzops_home
from mzops.inventory import register
from mzops.secrets import Resolver

# Piped output keeps whole cells: 80 columns would cut names and addresses.
stdout = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, soft_wrap=True)


@dataclass
class Options:
    inventory: Path
    json: bool = False
    quiet: bool = False


def options(ctx: typer.Context) -> Options:
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options(inventory=Path(os.environ.get("MZOPS_INVENTORY", "inventory")))
    return root.obj


def want_json(ctx: typer.Context, local_flag: bool) -> bool:
    return local_flag or options(ctx).json


def progress(ctx: typer.Context, message: str) -> None:
    if not options(ctx).quiet:
        stderr.print(message, highlight=False, markup=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _write(path: Path, pieces: Iterable[str]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for piece in pieces:
            out.write(piece)


def emit_report(ctx: typer.Context, text: str | Callable[[], Iterable[str]], fmt: str, output: Path | None,
                summary: str | None, exit_code: int) -> None:
    """A report to a file (with the summary table on stdout), or to stdout; then the
    command ends with the run's exit code. TEXT may be a function giving the report in
    pieces (a large estate's JSON is written a target at a time)."""
    pieces = (lambda: [text]) if isinstance(text, str) else text
    if output:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            _write(output, pieces())
        except OSError as exc:
            # The run is done: its report is kept, not lost with the path that failed.
            kept = mzops_home() / "reports" / f"unsaved-{run_id()}.{ 'txt' if fmt == 'table' else fmt}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            _write(kept, pieces())
            raise OperationFailed(f"-o {output}: cannot write the report ({exc.strerror}); it is kept in {kept}") \
                from None
        progress(ctx, f"{fmt} report written to {output}")
        if summary and not options(ctx).json:
            stdout.print(summary, markup=False, highlight=False, end="")
    elif fmt == "table":
        stdout.print("".join(pieces()), markup=False, highlight=False, end="")
    else:
        for piece in pieces():
            sys.stdout.write(piece)
    if exit_code:
        raise typer.Exit(exit_code)


def register_path(ctx: typer.Context, given: Path | None) -> Path:
    """The account register: given explicitly, else accounts.yml in the inventory folder."""
    if given is not None:
        return given
    inv = options(ctx).inventory
    folder = inv if inv.is_dir() else inv.parent
    path = folder / "accounts.yml"
    if not path.exists():
        raise InputError(f"{path}: no account register (give --register FILE)")
    return path


def inventory_folder(ctx: typer.Context) -> Path:
    inv = options(ctx).inventory
    return inv if inv.is_dir() else inv.parent


def optional_register(ctx: typer.Context, given: Path | None = None):
    """The account register given, else accounts.yml beside the inventory, else None."""
    if given is None and not (inventory_folder(ctx) / "accounts.yml").exists():
        return None
    return register.load(register_path(ctx, given))


def resolver(ctx: typer.Context):
    """Credential references resolve relative to the inventory folder (ansible-vault files)."""
    return Resolver(base=inventory_folder(ctx))


JsonOption = typer.Option(False, "--json", help="Machine-readable output alone on stdout.")


def _checked_output(value: Path | None, folder_ok: bool) -> Path | None:
    """-o must name a file (or, for a report that is a folder, a folder) mzops can write,
    checked before the run (an hour's audit must not end in a path that cannot be written)."""
    if value is None:
        return None
    try:
        if value.is_dir() and not folder_ok:
            raise typer.BadParameter(f"{value} is a folder: name a file")
        folder = value.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise typer.BadParameter(f"{folder} is not a folder")
        if not os.access(folder if not value.exists() else value, os.W_OK):
            raise typer.BadParameter(f"{value}: not writable by this user")
    except OSError as exc:          # a name too long, a loop of links
        raise typer.BadParameter(f"{str(value)[:80]}: {exc.strerror}") from None
    return value


def writable_output(value: Path | None) -> Path | None:
    # One parameter: Typer hands a callback's other parameters the click context.
    return _checked_output(value, folder_ok=False)


OutputOption = typer.Option(None, "-o", "--output", help="Write the report to this file.", callback=writable_output)


def writable_report_output(value: Path | None) -> Path | None:
    """As writable_output, and a folder only where a report may replace what is there."""
    value = _checked_output(value, folder_ok=True)
    if value is not None and value.is_dir():
        from mzops.report import site

        if not site.replaceable(value):
            raise typer.BadParameter(f"{value}: a folder that is not an mzops report: give a new or empty folder")
    return value


ReportOutputOption = typer.Option(
    None, "-o", "--output", callback=writable_report_output,
    help="Write the report to this file; for html, a folder (a name without a suffix) or a .zip "
         "gives a summary page and a page per asset.")


def _flag_shows_no_type(option, ctx):
    """Typer 0.29's help shows a flag as `--json <bool>`, as if it took a value: a flag
    takes none, so its type column stays empty (click's own help shows none either)."""
    return None if option.is_flag else _typer_display_type_rich(option, ctx)


_typer_display_type_rich = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_shows_no_type

# What the running command acted on, for its operation-log record (one command per process):
# the targets its runs announce reach it as events (see `events`).
TARGETS = runlayer.events.Targets()
RUN = {"run_id": runlayer.new_run_id()}


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """TEXT with control characters shown as escapes (\\x1b, not an escape sequence the
    terminal would act on): an error may quote what a user typed or a file holds."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def run_id() -> str:
    return RUN["run_id"]


def logged_targets() -> list[str]:
    return sorted(TARGETS.names)


def note_targets(names) -> None:
    """Targets a command acts on without a run (render, history)."""
    TARGETS.names |= set(names)


def events(ctx: typer.Context) -> runlayer.Events:
    """The command's progress: a bar on a terminal, plain lines on a pipe, nothing with
    -q; and always the targets for the operation-log record."""
    out = runlayer.Events([TARGETS])
    if not options(ctx).quiet:
        if stderr.is_terminal:
            out.subscribe(runlayer.events.Terminal(stderr))
        else:
            out.subscribe(runlayer.events.Lines(lambda m: stderr.print(m, highlight=False, markup=False)))
    return out
