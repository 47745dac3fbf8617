"""The nightly run for the scheduler: a systemd service and timer (checked with
`systemd-analyze verify` before they are put in place), or a cron line.

The service runs `mzops -q backup run --json` as a oneshot with no terminal (stdin
/dev/null: no prompt can wait), at low CPU and I/O priority; its JSON summary goes to
the journal and the run record to $MZOPS_HOME/backup/. A timer with `Persistent=true`
runs a backup missed while the machine was off at the next boot; systemd never starts
the service twice at once, and mzops's run lock refuses a second run from elsewhere.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mzops.errors import InputError, OperationFailed

UNIT = "mzops-backup"


def _time(at: str) -> tuple[int, int]:
    found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", at)
    if not found:
        raise InputError(f"--at: a time of day HH:MM (got {at!r})")
    return int(found.group(1)), int(found.group(2))


def command(inventory: Path, jobs: list[str]) -> list[str]:
    return [sys.executable, "-m", "mzops", "-q", "-i", str(inventory.resolve()), "backup", "run", "--json", *jobs]


def drill_command(inventory: Path, count: int) -> list[str]:
    return [sys.executable, "-m", "mzops", "-q", "-i", str(inventory.resolve()), "backup", "drill", "--random",
            str(count), "--json"]


# When drills run: the day's part of OnCalendar (systemd.time(7)) and of a cron line (crontab(5)).
DRILLS = {"weekly": ("Sun *-*-*", "* * 0"), "monthly": ("*-*-01", "1 * *")}


def _pair(unit: str, description: str, argv: list[str], calendar: str, user: str, home: Path) -> dict[str, str]:
    service = f"""[Unit]
Description={description}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User={user}
Environment=MZOPS_HOME={home}
ExecStart={" ".join(shlex.quote(a) for a in argv)}
StandardInput=null
Nice=10
IOSchedulingClass=idle
TimeoutStartSec=12h
"""
    timer = f"""[Unit]
Description={description}, {calendar}

[Timer]
OnCalendar={calendar}
Persistent=true
RandomizedDelaySec=0

[Install]
WantedBy=timers.target
"""
    return {f"{unit}.service": service, f"{unit}.timer": timer}


def units(inventory: Path, home: Path, at: str, user: str, jobs: list[str], drills: str | None = None,
          drill_count: int = 1, drill_at: str = "05:00") -> dict[str, str]:
    """The nightly run's service and timer; with DRILLS (weekly, monthly) a drill of
    DRILL_COUNT random assets at DRILL_AT on that day too."""
    hour, minute = _time(at)
    out = _pair(UNIT, f"mzops backups to tape ({', '.join(jobs) or 'every job'})", command(inventory, jobs),
                f"*-*-* {hour:02d}:{minute:02d}:00", user, home)
    if drills:
        hour, minute = _time(drill_at)
        out.update(_pair(f"{UNIT}-drill", f"mzops restore drills ({drill_count} random assets)",
                         drill_command(inventory, drill_count), f"{DRILLS[drills][0]} {hour:02d}:{minute:02d}:00",
                         user, home))
    return out


def cron_line(inventory: Path, home: Path, at: str, user: str, jobs: list[str], drills: str | None = None,
              drill_count: int = 1, drill_at: str = "05:00") -> str:
    hour, minute = _time(at)
    argv = " ".join(shlex.quote(a) for a in command(inventory, jobs))
    out = (f"# mzops backups to tape, nightly (written by mzops backup schedule install --cron)\n"
           f"{minute} {hour} * * * {user} MZOPS_HOME={shlex.quote(str(home))} {argv} </dev/null\n")
    if drills:
        hour, minute = _time(drill_at)
        day = DRILLS[drills][1].split()
        argv = " ".join(shlex.quote(a) for a in drill_command(inventory, drill_count))
        out += (f"# mzops restore drills, {drills}\n"
                f"{minute} {hour} {day[0]} {day[1]} {day[2]} {user} MZOPS_HOME={shlex.quote(str(home))} {argv} "
                "</dev/null\n")
    return out


def verify(files: dict[str, str]) -> None:
    """`systemd-analyze verify` on the units in a private folder; OperationFailed with its words."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        raise OperationFailed("systemd-analyze is not installed: cannot check the units (use --cron)")
    with tempfile.TemporaryDirectory(prefix="mzops-units-") as folder:
        for name, text in files.items():
            Path(folder, name).write_text(text)
        done = subprocess.run([analyze, "verify", *(str(Path(folder, n)) for n in files)], capture_output=True,
                              text=True, cwd=folder)
    said = (done.stderr + done.stdout).strip()
    if done.returncode != 0:
        raise OperationFailed(f"systemd-analyze verify refused the units: {said.splitlines()[-1] if said else ''}")


def install(folder: Path, files: dict[str, str]) -> list[Path]:
    """Put the files in FOLDER, each written whole (temp file and rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in files.items():
        target = folder / name
        temp = target.with_suffix(target.suffix + ".new")
        temp.write_text(text)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
        out.append(target)
    return out
