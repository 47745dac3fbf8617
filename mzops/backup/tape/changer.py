"""Tape libraries driven by `mtx` (the Debian package of that name), and its `status`
output read the way mtx.c prints it:

    "  Storage Changer DEV:D Drives, S Slots ( I Import/Export )"
    "Data Transfer Element N:Empty"
    "Data Transfer Element N:Full (Storage Element S Loaded):VolumeTag = TAG"
    "Data Transfer Element N:Full (Unknown Storage Element Loaded)"
    "      Storage Element S:Empty" / ":Full :VolumeTag=TAG" / " IMPORT/EXPORT:Full "

Drives are numbered from 0, storage elements from 1 (import/export slots among them);
volume tags come padded with blanks; an `AlternateVolumeTag` may follow. `mtx load S
D`, `unload S D` and `transfer S T` move cartridges; a refused move ends mtx with a
message ("Storage Element 3 is Already Full") and a non-zero status.
"""

from __future__ import annotations

import re
import subprocess
from typing import Callable

from mzops.backup.tape import ChangerError, ChangerStatus, Element

HEADER = re.compile(r"^\s*Storage Changer (?P<device>.*):(?P<drives>\d+) Drives, (?P<slots>\d+) Slots "
                    r"\( (?P<ie>\d+) Import/Export \)\s*$")
DRIVE = re.compile(r"^Data Transfer Element (?P<n>\d+):(?P<state>Empty|Full)"
                   r"(?: \((?:Storage Element (?P<src>\d+)|Unknown Storage Element) Loaded\))?(?P<rest>.*)$")
SLOT = re.compile(r"^\s+Storage Element (?P<n>\d+)(?P<ie> IMPORT/EXPORT)?:(?P<state>Empty|Full)\s*(?P<rest>.*)$")
TAG = re.compile(r":VolumeTag\s*=\s*(?P<tag>.*?)\s*(?=:AlternateVolumeTag|$)")


def parse_status(text: str) -> ChangerStatus:
    """The elements `mtx status` lists; ValueError naming the line it cannot read, or
    when the element counts disagree with the header (a cut-off listing)."""
    header = None
    drives: list[Element] = []
    slots: list[Element] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("mtx: "):
            continue
        found = HEADER.match(line)
        if found:
            header = found
            continue
        found = DRIVE.match(line)
        if found:
            tag = TAG.search(found.group("rest"))
            full = found.group("state") == "Full"
            drives.append(Element("drive", int(found.group("n")), (tag.group("tag") if tag else "") if full else None,
                                  int(found.group("src")) if found.group("src") else None))
            continue
        found = SLOT.match(line)
        if found:
            tag = TAG.search(found.group("rest"))
            full = found.group("state") == "Full"
            slots.append(Element("ie" if found.group("ie") else "slot", int(found.group("n")),
                                 (tag.group("tag") if tag else "") if full else None))
            continue
        raise ValueError(f"line {number}: not mtx status output: {line.strip()[:80]!r}")
    if header is None:
        raise ValueError("no 'Storage Changer' line: not mtx status output")
    if len(drives) != int(header.group("drives")) or len(slots) != int(header.group("slots")):
        raise ValueError(f"the header announces {header.group('drives')} drives and {header.group('slots')} slots, "
                         f"the listing has {len(drives)} and {len(slots)} (cut off?)")
    return ChangerStatus(drives, slots)


Run = Callable[[list[str]], subprocess.CompletedProcess]


def _local(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


class MtxChanger:
    """A SCSI medium changer (/dev/sg*, /dev/sch*) through the `mtx` command."""

    def __init__(self, device: str, name: str | None = None, run: Run = _local):
        self.device, self.name, self._run = device, name or device, run

    def _mtx(self, *words: str) -> str:
        argv = ["mtx", "-f", self.device, *words]
        try:
            done = self._run(argv)
        except FileNotFoundError:
            raise ChangerError(f"{self.name}: mtx is not installed (Debian package mtx)") from None
        except subprocess.TimeoutExpired:
            raise ChangerError(f"{self.name}: mtx {' '.join(words)} did not finish in time") from None
        if done.returncode != 0:
            said = (done.stderr or done.stdout or "").strip().splitlines()
            raise ChangerError(f"{self.name}: mtx {' '.join(words)} failed: {said[-1] if said else done.returncode}")
        return done.stdout

    def status(self) -> ChangerStatus:
        try:
            return parse_status(self._mtx("status"))
        except ValueError as exc:
            raise ChangerError(f"{self.name}: {exc}") from None

    def load(self, slot: int, drive: int) -> None:
        self._mtx("load", str(slot), str(drive))

    def unload(self, slot: int, drive: int) -> None:
        self._mtx("unload", str(slot), str(drive))

    def transfer(self, source: int, destination: int) -> None:
        self._mtx("transfer", str(source), str(destination))
