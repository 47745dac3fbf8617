"""`mzops log`: the tamper-evident operation log."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import typer
from rich.table import Table

from mzops import oplog
from mzops.cli import common
from mzops.errors import InputError

app = typer.Typer(help="The operation log: who ran what, where, with what result.", no_args_is_help=True)


def _since(text: Optional[str]) -> Optional[dt.datetime]:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--since: {text!r} is not a date or time (e.g. 2026-11-28 or 2026-11-28T08:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@app.command("show")
def show(ctx: typer.Context,
         since: Optional[str] = typer.Option(None, "--since", help="Only records from this time (ISO 8601, UTC)."),
         as_json: bool = common.JsonOption) -> None:
    """Print the log (oldest first)."""
    records = oplog.read(since=_since(since))
    damaged = [r["_line"] for r in records if "_unparsable" in r or not _readable(r)]
    if common.want_json(ctx, as_json):
        common.print_json(records)
    else:
        table = Table("seq", "time", "user", "role", "command", "targets", "result", "exit")
        for r in records:
            if "_unparsable" in r or not _readable(r):
                table.add_row("?", "", "", "", f"line {r['_line']}: not a record: {r.get('_unparsable', '')}",
                              "", "damaged", "")
                continue
            targets = ", ".join(r["targets"][:5]) + (" ..." if len(r["targets"]) > 5 else "")
            when = oplog.record_time(r)
            table.add_row(str(r["seq"]), when.strftime("%Y-%m-%d %H:%M:%S %Z") if when else f"{r['time']!s} (?)",
                          str(r.get("user")), str(r.get("role")), " ".join(map(str, r["command"])), targets,
                          str(r.get("result")), str(r.get("exit_code")))
        common.stdout.print(table)
    if damaged:
        common.stderr.print(f"mzops: {len(damaged)} damaged line(s) in the log (line {damaged[0]} first): "
                            "run `mzops log verify`", markup=False, highlight=False)


def _readable(record: dict) -> bool:
    return isinstance(record.get("seq"), int) and isinstance(record.get("command"), list) \
        and isinstance(record.get("targets"), list)


@app.command("verify")
def verify(ctx: typer.Context, as_json: bool = common.JsonOption) -> None:
    """Check the hash chain; exit 1 naming the first record edited, deleted, reordered or cut."""
    verdict = oplog.verify()
    if common.want_json(ctx, as_json):
        common.print_json({"whole": verdict.whole, "records": verdict.records, "problem": verdict.problem,
                           "line": verdict.line, "path": str(oplog.log_path())})
    elif verdict.whole:
        common.stdout.print(f"ok: {verdict.records} records, chain whole ({oplog.log_path()})", highlight=False)
    else:
        common.stderr.print(f"mzops: log tampered: {oplog.log_path()}: {verdict.problem}", markup=False, highlight=False)
    if not verdict.whole:
        raise typer.Exit(1)


@app.command("init")
def init(ctx: typer.Context) -> None:
    """Create the log and make it append-only in the kernel (chattr +a; needs root)."""
    path = oplog.protect()
    common.progress(ctx, f"{path}: append-only (chattr +a)")
