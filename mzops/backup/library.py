"""A pool's volumes in its library: which cartridge to write next, loading it, checking
its label, and the next one when it fills (labelling a blank one from the pool's label
format). The catalogue says which volumes belong to which pool and what state they are
in; the changer says where they are."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import defaultdict
from typing import Iterator

from mzops.backup import volume
from mzops.backup.catalogue import Catalogue, Volume
from mzops.backup.policy import LibrarySpec, Policy
from mzops.backup.tape import ChangerError, Drive, TapeError, changer, st
from mzops.backup.tape.filelibrary import FileLibrary
from mzops.errors import InputError, OperationFailed


def open_library(name: str, spec: LibrarySpec):
    """(changer, drive(n)) of a library in the policy."""
    if spec.kind == "file":
        lib = FileLibrary(spec.path, name)
        return lib, lib.drive
    mtx = changer.MtxChanger(spec.changer, name)
    drives = [st.StDrive(device, f"{name}:{device}") for device in spec.drives]
    return mtx, lambda n: drives[n]


# One robot per library: choosing a cartridge and moving it is done by one thread at a time,
# so two drives never pick the same volume.
_ROBOT: dict[str, threading.RLock] = defaultdict(threading.RLock)


class Drives:
    """The drives of each library, lent to one job at a time (one job per drive)."""

    def __init__(self, policy: Policy):
        self.free: dict[str, queue.Queue[int]] = {}
        for name, spec in policy.libraries.items():
            self.free[name] = queue.Queue()
            for number in range(spec.drive_count):
                self.free[name].put(number)

    @contextlib.contextmanager
    def lend(self, library: str) -> Iterator[int]:
        number = self.free[library].get()
        try:
            yield number
        finally:
            self.free[library].put(number)


class Mounter:
    """Loads the pool's volumes into drive DRIVE of the pool's library, one at a time."""

    def __init__(self, policy: Policy, pool_name: str, catalogue: Catalogue, drive: int = 0,
                 library: str | None = None):
        """LIBRARY: another library than the pool's (a restore from the DR site's copy)."""
        self.pool_name, self.pool = pool_name, policy.pools[pool_name]
        self.library_name = library or self.pool.library
        self.changer, self._drive = open_library(self.library_name, policy.libraries[self.library_name])
        self.catalogue, self.drive_number = catalogue, drive
        self.mounted_label: dict[str, str] = {}      # of the volume last mounted

    @property
    def drive(self) -> Drive:
        return self._drive(self.drive_number)

    def mount(self, barcode: str) -> Drive:
        """The drive with volume BARCODE loaded and its label checked."""
        with _ROBOT[self.library_name]:
            return self._mount(barcode)

    def _mount(self, barcode: str) -> Drive:
        status = self.changer.status()
        loaded = status.drives[self.drive_number]
        if loaded.barcode != barcode:
            if loaded.full:
                self.drive.close()
                self.changer.unload(loaded.source or self._free_slot(status), self.drive_number)
                status = self.changer.status()
            where = status.where(barcode)
            if where is None:
                raise OperationFailed(f"volume {barcode} is not in library {self.library_name} "
                                      f"(catalogue: {self._location(barcode)})")
            if where.kind == "drive":
                # left in another drive by an earlier job (writers never take a volume another
                # drive holds: `_available`): back to its slot, then into this drive
                self._drive(where.number).close()
                self.changer.unload(where.source or self._free_slot(status), where.number)
                where = self.changer.status().where(barcode)
            self.changer.load(where.number, self.drive_number)
        try:
            found = volume.read_label(self.drive)
        except TapeError as exc:
            raise OperationFailed(f"wrong tape: the cartridge with barcode {barcode} does not carry its label "
                                  f"({exc})") from None
        if found.get("volume") != barcode:
            raise OperationFailed(f"wrong tape: the cartridge with barcode {barcode} is labelled "
                                  f"{found.get('volume')!r}")
        self.mounted_label = found
        return self.drive

    def _free_slot(self, status) -> int:
        free = status.free_slots()
        if not free:
            raise ChangerError(f"{self.library_name}: no empty slot to unload into")
        return free[0].number

    def _location(self, barcode: str) -> str:
        with self.catalogue.session() as session:
            found = session.get(Volume, barcode)
            return found.location if found and found.location else "unknown"

    def _available(self, status, barcode: str) -> bool:
        """In the library and not in another drive (where another job is writing)."""
        where = status.where(barcode)
        return where is not None and where.kind != "ie" and not (
            where.kind == "drive" and where.number != self.drive_number)

    def writable(self) -> tuple[Drive, str]:
        """A volume of the pool open for appending (or a blank one, labelled now), loaded:
        the one in this drive first, so a drive keeps its tape between jobs."""
        with _ROBOT[self.library_name]:
            return self._writable()

    def _writable(self) -> tuple[Drive, str]:
        status = self.changer.status()
        loaded = status.drives[self.drive_number].barcode
        volumes = sorted(self.catalogue.volumes(self.pool_name), key=lambda v: v.barcode != loaded)
        for vol in volumes:
            if vol.state == "append" and self._available(status, vol.barcode):
                return self._mount(vol.barcode), vol.barcode
        for vol in volumes:
            if vol.state == "recycled" and self._available(status, vol.barcode):
                drive = self._mount(vol.barcode)
                volume.label(drive, vol.barcode, self.pool_name, self.pool.block_size, force=True)
                with self.catalogue.session() as session, session.begin():
                    row = session.get(Volume, vol.barcode)
                    row.state, row.bytes, row.labelled_at = "append", 0, volume.now()
                return drive, vol.barcode
        known = {v.barcode for v in self.catalogue.volumes()}
        for element in status.slots + status.drives:
            if (element.full and element.barcode and element.barcode not in known
                    and self._available(status, element.barcode)):
                drive = self._try_blank(element.barcode)
                if drive is not None:
                    return drive, element.barcode
        raise OperationFailed(f"pool {self.pool_name}: no volume to write in library {self.library_name} "
                              "(load blank cartridges)")

    def _try_blank(self, barcode: str) -> Drive | None:
        status = self.changer.status()
        where = status.where(barcode)
        loaded = status.drives[self.drive_number]
        if where.kind != "drive":
            if loaded.full:
                self.drive.close()
                self.changer.unload(loaded.source or self._free_slot(status), self.drive_number)
            self.changer.load(where.number, self.drive_number)
        try:
            volume.read_label(self.drive)
            return None                                 # labelled by someone else: not ours to take
        except TapeError:
            pass
        volume.label(self.drive, barcode, self.pool_name, self.pool.block_size)
        with self.catalogue.session() as session, session.begin():
            session.add(Volume(barcode=barcode, pool=self.pool_name, library=self.library_name,
                               labelled_at=volume.now(), state="append",
                               location=self.library_name))
        return self.drive

    def label(self, barcode: str, force: bool = False) -> None:
        """Load cartridge BARCODE and label it for the pool (a labelled one only with FORCE)."""
        status = self.changer.status()
        where = status.where(barcode)
        if where is None:
            raise InputError(f"{barcode}: not in library {self.library_name}")
        if where.kind != "drive":
            loaded = status.drives[self.drive_number]
            if loaded.full:
                self.drive.close()
                self.changer.unload(loaded.source or self._free_slot(status), self.drive_number)
            self.changer.load(where.number, self.drive_number)
        volume.label(self.drive, barcode, self.pool_name, self.pool.block_size, force=force)
        with self.catalogue.session() as session, session.begin():
            session.merge(Volume(barcode=barcode, pool=self.pool_name, library=self.library_name,
                                 labelled_at=volume.now(), state="append", location=self.library_name))
        self.drive.close()

    def full(self, barcode: str) -> tuple[Drive, str]:
        """BARCODE is full: mark it, and give the next writable volume."""
        self.mark(barcode, "full")
        return self.writable()

    def failed(self, barcode: str, why: str) -> tuple[Drive, str]:
        """A write to BARCODE failed: it is written no more (what it holds stays readable
        and catalogued), and the next writable volume is given."""
        self.mark(barcode, "error", why)
        return self.writable()

    def mark(self, barcode: str, state: str, why: str = "") -> None:
        with self.catalogue.session() as session, session.begin():
            found = session.get(Volume, barcode)
            if found is not None:
                found.state = state
                if why:
                    found.problem = why[:256]
