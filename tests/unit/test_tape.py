"""The tape layer: the file-backed drive keeps st(4)'s semantics (records, file marks,
end of data, writing mid-tape, early warning then ENOSPC, write protection, injected
errors), the file-backed library moves cartridges as a SCSI changer does and refuses
what mtx refuses, `mtx status` is read as mtx.c prints it, and the real st driver's
ioctls are linux/mtio.h's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mzops.backup.tape import (BlockTooLarge, ChangerError, EarlyWarning, MediaError, MediumFull, NoMedium, Position,
                               TapeError, WriteProtected, changer, st)
from mzops.backup.tape.filedrive import Cartridge, FileDrive
from mzops.backup.tape.filelibrary import FileLibrary

MTX = Path(__file__).resolve().parent.parent / "fixtures" / "mtx"


def drive_with(tmp_path, **settings) -> FileDrive:
    drive = FileDrive("d0")
    drive.load(Cartridge.create(tmp_path, "T00001L8", **settings))
    return drive


# ------------------------------------------------------------------ the drive

def test_records_file_marks_and_end_of_data(tmp_path):
    d = drive_with(tmp_path)
    assert d.status().bot and d.status().eod
    d.write(b"a" * 100)
    d.write(b"b" * 50)
    d.write_filemark()
    d.write(b"c" * 10)
    d.close()                                   # closing after a write writes the mark
    assert d.status().position == Position(2, 0) and d.status().eod
    d.rewind()
    assert d.read(1000) == b"a" * 100           # variable mode: one record per read
    assert d.read(1000) == b"b" * 50
    assert d.read(1000) == b""                  # the file mark
    assert d.status().position == Position(1, 0)
    assert d.read(1000) == b"c" * 10
    assert d.read(1000) == b""                  # mark of file 1
    assert d.read(1000) == b""                  # end of data: a second empty read
    with pytest.raises(MediaError, match="past the end of data"):
        d.read(1000)


def test_a_short_read_buffer_is_enomem_and_fixed_blocks_read_several(tmp_path):
    d = drive_with(tmp_path)
    d.write(b"x" * 4096)
    d.rewind()
    with pytest.raises(BlockTooLarge) as caught:
        d.read(1024)
    assert caught.value.errno == 12
    d.rewind()
    d.set_block_size(512)
    d.write(b"y" * 2048)                        # four fixed records in one call
    with pytest.raises(TapeError, match="not a multiple of the block size"):
        d.write(b"z" * 100)
    d.rewind()
    assert d.read(1024) == b"y" * 1024 and d.status().position == Position(0, 2)


def test_writing_mid_tape_truncates_what_follows(tmp_path):
    d = drive_with(tmp_path)
    for content in (b"one", b"two", b"three"):
        d.write(content)
        d.write_filemark()
    d.rewind()
    d.forward_files(1)
    d.write(b"TWO")
    d.close()
    d.rewind()
    d.forward_files(1)
    assert d.read(100) == b"TWO"
    assert d.read(100) == b""                   # its mark
    assert d.status().eod                       # "three" is gone
    with pytest.raises(MediaError):
        d.forward_files(5)


def test_early_warning_then_trailer_then_end_of_medium(tmp_path):
    d = drive_with(tmp_path, capacity=10_000, early_warning=2_000)
    for _ in range(8):
        d.write(b"x" * 1000)                    # the eighth reaches the early-warning point
    with pytest.raises(EarlyWarning) as caught:
        d.write(b"x" * 1000)
    assert caught.value.errno == 28             # ENOSPC
    d.write(b"trailer" * 100)                   # allowed after the warning
    d.write(b"x" * 1000)
    with pytest.raises(MediumFull):
        d.write(b"x" * 1000)


def test_write_protect_no_medium_and_injected_errors(tmp_path):
    d = drive_with(tmp_path)
    d.write(b"data")
    d.eject()
    assert d.status().flags == ["DR_OPEN"]
    with pytest.raises(NoMedium):
        d.read(10)
    cart = tmp_path / "T00001L8"
    meta = Cartridge.read(cart)
    meta.write_protected = True
    meta.save(cart)
    d.load(cart)
    assert "WR_PROT" in d.status().flags
    with pytest.raises(WriteProtected):
        d.write(b"more")
    with pytest.raises(WriteProtected):
        d.write_filemark()
    assert d.read(10) == b"data"
    d.eject()
    faulty = drive_with(tmp_path / "f", fail_write_after=2)
    faulty.write(b"1")
    faulty.write(b"2")
    with pytest.raises(MediaError, match="write error"):
        faulty.write(b"3")


def test_a_tape_file_is_restored_with_dd_and_tar_alone(tmp_path):
    """What the drive writes is what dd reads from the tape after `mt fsf N`."""
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    stream = subprocess.run(["tar", "--format=posix", "-C", str(tree), "-cf", "-", "."], capture_output=True,
                            check=True).stdout
    d = drive_with(tmp_path)
    d.write(b"label")
    d.write_filemark()
    for offset in range(0, len(stream), 10240):
        d.write(stream[offset:offset + 10240])
    d.close()
    out = tmp_path / "out"
    out.mkdir()
    dd = subprocess.run(f"dd if={tmp_path}/T00001L8/file-1.dat bs=10k status=none | tar -xf - -C {out}",
                        shell=True, capture_output=True, text=True)
    assert dd.returncode == 0, dd.stderr
    assert (out / "etc" / "hosts").read_text() == "127.0.0.1 localhost\n"


# ------------------------------------------------------------------ the library

def test_library_moves_and_refusals(tmp_path):
    lib = FileLibrary.create(tmp_path / "lib", drives=2, slots=4, ie=1)
    lib.add_cartridge(1, "A00001L8")
    lib.add_cartridge(2, "A00002L8")
    lib.load(1, 0)
    status = lib.status()
    assert status.drives[0].barcode == "A00001L8" and status.drives[0].source == 1 and not status.slots[0].full
    lib.drive(0).write(b"hello")
    with pytest.raises(ChangerError, match="Drive 0 Full"):
        lib.load(2, 0)
    with pytest.raises(ChangerError, match="Source Element Address 3 is Empty"):
        lib.load(3, 1)
    with pytest.raises(ChangerError, match="Storage Element 2 is Already Full"):
        lib.unload(2, 0)
    with pytest.raises(ChangerError, match="Invalid storage element number 9"):
        lib.transfer(9, 1)
    before = (tmp_path / "lib" / "library.json").read_text()
    with pytest.raises(ChangerError):
        lib.transfer(3, 4)
    assert (tmp_path / "lib" / "library.json").read_text() == before     # a refused move changes nothing
    lib.unload(1, 0)                                                      # eject closes the file: mark written
    again = FileLibrary(tmp_path / "lib")
    again.load(1, 1)
    assert again.drive(1).read(100) == b"hello"


def test_export_through_the_mail_slot_and_import_at_another_library(tmp_path):
    primary = FileLibrary.create(tmp_path / "primary", drives=1, slots=3, ie=1)
    dr = FileLibrary.create(tmp_path / "dr", drives=1, slots=3, ie=1)
    primary.add_cartridge(1, "OFF001L8")
    primary.transfer(1, 4)                       # to the import/export slot
    assert primary.status().slots[3].kind == "ie" and primary.status().slots[3].barcode == "OFF001L8"
    carried = primary.remove(4)
    assert primary.status().where("OFF001L8") is None
    dr.insert(4, carried)
    dr.transfer(4, 2)
    assert dr.status().where("OFF001L8").number == 2
    with pytest.raises(ChangerError, match="not an import/export slot"):
        dr.remove(2)


# ------------------------------------------------------------------ mtx

@pytest.mark.parametrize("name,drives,slots,ie,full_drives", [
    ("hpe-msl2024.txt", 2, 24, 1, 1), ("ibm-ts3100.txt", 1, 24, 1, 1),
    ("quantum-superloader3-nobarcode.txt", 1, 16, 0, 1), ("dell-tl2000.txt", 2, 24, 1, 2)])
def test_mtx_status_of_several_libraries(name, drives, slots, ie, full_drives):
    status = changer.parse_status((MTX / name).read_text())
    assert len(status.drives) == drives and len(status.slots) == slots
    assert sum(s.kind == "ie" for s in status.slots) == ie
    assert sum(d.full for d in status.drives) == full_drives
    assert all(not (e.barcode or "").endswith(" ") for e in status.drives + status.slots)   # padding stripped


def test_mtx_details():
    msl = changer.parse_status((MTX / "hpe-msl2024.txt").read_text())
    assert msl.drives[0].source == 3 and msl.drives[0].barcode == "MZA003L8" and not msl.slots[2].full
    assert msl.where("CLN001L1").number == 22
    ibm = changer.parse_status((MTX / "ibm-ts3100.txt").read_text())
    assert ibm.drives[0].source is None and ibm.drives[0].barcode == "IBM101L7"    # Unknown Storage Element
    dell = changer.parse_status((MTX / "dell-tl2000.txt").read_text())
    assert dell.drives[0].barcode == "DEL001L6"                                     # AlternateVolumeTag apart
    quantum = changer.parse_status((MTX / "quantum-superloader3-nobarcode.txt").read_text())
    assert quantum.slots[0].full and quantum.slots[0].barcode == ""                 # full, no barcode reader
    cut = "\n".join((MTX / "hpe-msl2024.txt").read_text().splitlines()[:10])
    with pytest.raises(ValueError, match="cut off"):
        changer.parse_status(cut)
    with pytest.raises(ValueError, match="line 2: not mtx status output: 'something else'"):
        changer.parse_status("mtx: Request Sense: Long Report=yes\nsomething else\n")


def test_the_file_library_prints_what_the_mtx_parser_reads(tmp_path):
    lib = FileLibrary.create(tmp_path / "lib", drives=2, slots=5, ie=1)
    for slot, barcode in ((1, "B00001L8"), (3, "B00003L8"), (6, "B00006L8")):
        lib.add_cartridge(slot, barcode)
    lib.load(3, 1)
    assert changer.parse_status(lib.mtx_status()) == lib.status()


def test_mtx_changer_runs_mtx_and_reports_its_refusal():
    calls = []

    def fake(argv):
        calls.append(argv)
        if argv[3] == "status":
            return subprocess.CompletedProcess(argv, 0, (MTX / "hpe-msl2024.txt").read_text(), "")
        return subprocess.CompletedProcess(argv, 1, "", "Storage Element 4 is Already Full\n")

    c = changer.MtxChanger("/dev/sg4", run=fake)
    assert c.status().drives[0].barcode == "MZA003L8"
    with pytest.raises(ChangerError, match="mtx unload 4 0 failed: Storage Element 4 is Already Full"):
        c.unload(4, 0)
    assert calls[-1] == ["mtx", "-f", "/dev/sg4", "unload", "4", "0"]


# ------------------------------------------------------------------ the st driver

def test_st_ioctl_numbers_are_linux_mtio_h():
    # _IOW('m', 1, struct mtop) and _IOR('m', 2, struct mtget) on x86_64 (8 and 48 bytes)
    assert st.MTIOCTOP == 0x40086D01 and st.MTIOCGET == 0x80306D02


def test_st_refuses_what_is_not_a_tape(tmp_path):
    plain = tmp_path / "not-a-tape"
    plain.write_bytes(b"")
    drive = st.StDrive(str(plain))
    with pytest.raises(TapeError, match="not a tape device"):
        drive.rewind()
    drive.close()
    with pytest.raises(TapeError, match="/dev/nst9"):
        st.StDrive("/dev/nst9").status()
