"""A tape library on disk: slots, import/export slots and `FileDrive`s, with the moves
and refusals of a SCSI medium changer as mtx reports them. Stands in for a real
library in the tests and the lab (the README says so); `mtx_status()` prints its state
in mtx's own format, so the parser of real libraries reads it too.

    ROOT/library.json     drives, slots, import/export slots, what is where
    ROOT/media/BARCODE/   the cartridges inside the library (see filedrive.Cartridge)
    ROOT/outside/BARCODE/ cartridges taken out through an import/export slot
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from mzops.backup.tape import ChangerError, ChangerStatus, Element
from mzops.backup.tape.filedrive import Cartridge, FileDrive
from mzops.run import lock as runlock


class FileLibrary:
    def __init__(self, root: Path, name: str | None = None):
        self.root = Path(root)
        self.name = name or self.root.name
        if not (self.root / "library.json").is_file():
            raise ChangerError(f"{self.root}: no file-backed library here (library.json missing)")
        self._drives: dict[int, FileDrive] = {}

    # -------------------------------------------------------------- creation

    @staticmethod
    def create(root: Path, drives: int, slots: int, ie: int = 0, name: str | None = None) -> "FileLibrary":
        root = Path(root)
        (root / "media").mkdir(parents=True, exist_ok=True)
        (root / "outside").mkdir(exist_ok=True)
        state = {"drives": drives, "slots": slots, "ie": ie, "elements": {}}
        (root / "library.json").write_text(json.dumps(state, indent=1))
        return FileLibrary(root, name)

    def add_cartridge(self, slot: int, barcode: str, **settings) -> Path:
        """Put a new blank cartridge in an empty storage slot (as an operator would)."""
        with self._state() as state:
            self._check_slot(state, slot)
            if f"slot:{slot}" in state["elements"]:
                raise ChangerError(f"{self.name}: Storage Element {slot} is Already Full")
            path = Cartridge.create(self.root / "media", barcode, **settings)
            state["elements"][f"slot:{slot}"] = {"barcode": barcode}
        return path

    # -------------------------------------------------------------- state

    @contextmanager
    def _state(self) -> Iterator[dict]:
        """The state, for one changer at a time; written back (atomically) when the
        block ends without an error, so a refused move changes nothing."""
        with open(self.root / ".lock", "w") as handle, runlock.serialised(handle):
            path = self.root / "library.json"
            state = json.loads(path.read_text())
            yield state
            temp = path.with_suffix(".tmp")
            temp.write_text(json.dumps(state, indent=1))
            os.replace(temp, path)

    def _check_slot(self, state: dict, slot: int) -> None:
        if not 1 <= slot <= state["slots"] + state["ie"]:
            raise ChangerError(f"{self.name}: Invalid storage element number {slot}")

    def _check_drive(self, state: dict, drive: int) -> None:
        if not 0 <= drive < state["drives"]:
            raise ChangerError(f"{self.name}: illegal drive number {drive}")

    # -------------------------------------------------------------- Changer

    def status(self) -> ChangerStatus:
        state = json.loads((self.root / "library.json").read_text())
        elements = state["elements"]
        drives = [Element("drive", n, elements.get(f"drive:{n}", {}).get("barcode"),
                          elements.get(f"drive:{n}", {}).get("source")) for n in range(state["drives"])]
        slots = [Element("ie" if n > state["slots"] else "slot", n, elements.get(f"slot:{n}", {}).get("barcode"))
                 for n in range(1, state["slots"] + state["ie"] + 1)]
        return ChangerStatus(drives, slots)

    def load(self, slot: int, drive: int) -> None:
        with self._state() as state:
            self._check_slot(state, slot)
            self._check_drive(state, drive)
            elements = state["elements"]
            if f"drive:{drive}" in elements:
                raise ChangerError(f"{self.name}: Drive {drive} Full (Storage Element "
                                   f"{elements[f'drive:{drive}'].get('source')} loaded)")
            if f"slot:{slot}" not in elements:
                raise ChangerError(f"{self.name}: Source Element Address {slot} is Empty")
            barcode = elements.pop(f"slot:{slot}")["barcode"]
            self.drive(drive).load(self.root / "media" / barcode)
            elements[f"drive:{drive}"] = {"barcode": barcode, "source": slot}

    def unload(self, slot: int, drive: int) -> None:
        with self._state() as state:
            self._check_slot(state, slot)
            self._check_drive(state, drive)
            elements = state["elements"]
            if f"drive:{drive}" not in elements:
                raise ChangerError(f"{self.name}: Data Transfer Element {drive} is Empty")
            if f"slot:{slot}" in elements:
                raise ChangerError(f"{self.name}: Storage Element {slot} is Already Full")
            self.drive(drive).eject()
            elements[f"slot:{slot}"] = {"barcode": elements.pop(f"drive:{drive}")["barcode"]}

    def transfer(self, source: int, destination: int) -> None:
        with self._state() as state:
            self._check_slot(state, source)
            self._check_slot(state, destination)
            elements = state["elements"]
            if f"slot:{source}" not in elements:
                raise ChangerError(f"{self.name}: Source Element Address {source} is Empty")
            if f"slot:{destination}" in elements:
                raise ChangerError(f"{self.name}: Destination Element Address {destination} is Already Full")
            elements[f"slot:{destination}"] = elements.pop(f"slot:{source}")

    # -------------------------------------------------------------- drives and the outside

    def drive(self, number: int) -> FileDrive:
        """The drive object of drive NUMBER (one per library object, holding its position)."""
        if number not in self._drives:
            drive = FileDrive(f"{self.name}:drive{number}")
            state = json.loads((self.root / "library.json").read_text())
            loaded = state["elements"].get(f"drive:{number}")
            if loaded:
                drive.load(self.root / "media" / loaded["barcode"])
            self._drives[number] = drive
        return self._drives[number]

    def remove(self, slot: int) -> Path:
        """An operator takes the cartridge out of import/export slot SLOT."""
        with self._state() as state:
            self._check_slot(state, slot)
            if slot <= state["slots"]:
                raise ChangerError(f"{self.name}: Storage Element {slot} is not an import/export slot")
            if f"slot:{slot}" not in state["elements"]:
                raise ChangerError(f"{self.name}: Storage Element {slot} is Empty")
            barcode = state["elements"].pop(f"slot:{slot}")["barcode"]
            target = self.root / "outside" / barcode
            shutil.move(str(self.root / "media" / barcode), target)
        return target

    def insert(self, slot: int, cartridge: Path) -> None:
        """An operator puts CARTRIDGE (a cartridge folder) into import/export slot SLOT."""
        with self._state() as state:
            self._check_slot(state, slot)
            if slot <= state["slots"]:
                raise ChangerError(f"{self.name}: Storage Element {slot} is not an import/export slot")
            if f"slot:{slot}" in state["elements"]:
                raise ChangerError(f"{self.name}: Storage Element {slot} is Already Full")
            barcode = Cartridge.read(cartridge).barcode
            shutil.move(str(cartridge), self.root / "media" / barcode)
            state["elements"][f"slot:{slot}"] = {"barcode": barcode}

    def mtx_status(self) -> str:
        """The state as `mtx status` prints it (mtx.c's formats)."""
        status = self.status()
        ie = sum(1 for s in status.slots if s.kind == "ie")
        out = [f"  Storage Changer {self.root}:{len(status.drives)} Drives, {len(status.slots)} Slots "
               f"( {ie} Import/Export )"]
        for d in status.drives:
            out.append(f"Data Transfer Element {d.number}:" + (
                "Empty" if not d.full else
                f"Full (Storage Element {d.source} Loaded)" + (f":VolumeTag = {d.barcode:<32}" if d.barcode else "")))
        for s in status.slots:
            out.append(f"      Storage Element {s.number}{' IMPORT/EXPORT' if s.kind == 'ie' else ''}:"
                       + ("Empty" if not s.full else "Full " + (f":VolumeTag={s.barcode:<32}" if s.barcode else "")))
        return "\n".join(out) + "\n"
