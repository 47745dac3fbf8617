"""Cartridges leaving and entering libraries (the off-site copy), and reading a whole
library back (a catalogue rebuild). The catalogue keeps where each volume is: a slot of
a library, an import/export slot, in transit to a vault."""

from __future__ import annotations

from mzops.backup import volume
from mzops.backup.catalogue import Catalogue, Volume
from mzops.backup.tape import TapeError
from mzops.errors import InputError


def locate(catalogue: Catalogue, barcode: str, where: str) -> None:
    with catalogue.session() as session, session.begin():
        row = session.get(Volume, barcode)
        if row is None:
            raise InputError(f"{barcode}: not in the catalogue")
        row.location = where


def _empty_drive(changer, drive_of, number: int = 0) -> None:
    loaded = changer.status().drives[number]
    if loaded.full:
        drive_of(number).close()
        changer.unload(loaded.source or changer.status().free_slots()[0].number, number)


def export(changer, drive_of, library: str, barcodes: list[str], vault: str, catalogue: Catalogue) -> None:
    """Each cartridge to a free import/export slot; a file library's operator takes it
    out at once (in transit to VAULT), a real one's does so by hand."""
    for barcode in barcodes:
        status = changer.status()
        where = status.where(barcode)
        if where is None:
            raise InputError(f"{barcode}: not in library {library}")
        free = [s for s in status.slots if s.kind == "ie" and not s.full]
        if not free:
            raise InputError(f"{library}: every import/export slot is full: empty them first")
        if where.kind == "drive":
            drive_of(where.number).close()
            changer.unload(free[0].number, where.number)
        else:
            changer.transfer(where.number, free[0].number)
        locate(catalogue, barcode, f"{library} import/export slot {free[0].number}, for {vault}")
        if hasattr(changer, "remove"):
            changer.remove(free[0].number)
            locate(catalogue, barcode, f"in transit to {vault}")


def import_(changer, drive_of, library: str, catalogue: Catalogue, cartridges=()) -> list[str]:
    """What is in the import/export slots into free storage slots, each label checked
    against its barcode; the cartridges moved."""
    for cartridge in cartridges:
        free = [s for s in changer.status().slots if s.kind == "ie" and not s.full]
        if not free or not hasattr(changer, "insert"):
            raise InputError(f"{library}: no empty import/export slot (or not a file library)")
        changer.insert(free[0].number, cartridge)
    moved = []
    for element in [s for s in changer.status().slots if s.kind == "ie" and s.full]:
        slots = changer.status().free_slots()
        if not slots:
            raise InputError(f"{library}: no empty storage slot")
        changer.transfer(element.number, slots[0].number)
        _empty_drive(changer, drive_of)
        changer.load(slots[0].number, 0)
        label = volume.read_label(drive_of(0))
        drive_of(0).close()
        changer.unload(slots[0].number, 0)
        if label.get("volume") != element.barcode:
            raise InputError(f"{element.barcode}: labelled {label.get('volume')!r}: not the cartridge its barcode says")
        locate(catalogue, element.barcode, f"{library} slot {slots[0].number}")
        moved.append(element.barcode)
    return moved


def read_library(changer, drive_of) -> tuple[dict, dict, list[str]]:
    """(labels, manifests, skipped) of every cartridge in the library's storage slots."""
    labels, manifests, skipped = {}, {}, []
    _empty_drive(changer, drive_of)
    drive = drive_of(0)
    for element in changer.status().slots:
        if not element.full or element.kind == "ie":
            continue
        changer.load(element.number, 0)
        try:
            labels[element.barcode] = volume.read_label(drive)
            manifests[element.barcode] = volume.read_manifests(drive)
        except TapeError as exc:
            skipped.append(f"{element.barcode}: {exc}")
        drive.close()
        changer.unload(element.number, 0)
    return labels, manifests, skipped
