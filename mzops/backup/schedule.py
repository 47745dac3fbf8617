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


def units(inventory: Path, home: Path, at: str, user: str, jobs: list[str]) -> dict[str, str]:
    hour, minute = _time(at)
    argv = " ".join(shlex.quote(a) for a in command(inventory, jobs))
    service = f"""[Unit]
Description=mzops backups to tape ({', '.join(jobs) or 'every job'})
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User={user}
Environment=MZOPS_HOME={home}
ExecStart={argv}
StandardInput=null
Nice=10
IOSchedulingClass=idle
TimeoutStartSec=12h
"""
    timer = f"""[Unit]
Description=mzops backups to tape, nightly at {hour:02d}:{minute:02d}

[Timer]
OnCalendar=*-*-* {hour:02d}:{minute:02d}:00
Persistent=true
RandomizedDelaySec=0

[Install]
WantedBy=timers.target
"""
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def cron_line(inventory: Path, home: Path, at: str, user: str, jobs: list[str]) -> str:
    hour, minute = _time(at)
    argv = " ".join(shlex.quote(a) for a in command(inventory, jobs))
    return (f"# mzops backups to tape, nightly (written by mzops backup schedule install --cron)\n"
            f"{minute} {hour} * * * {user} MZOPS_HOME={shlex.quote(str(home))} {argv} </dev/null\n")


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
