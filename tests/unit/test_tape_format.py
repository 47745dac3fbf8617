"""The open tape format: a labelled volume, a stream spanning two volumes at the early
warning, restored with dd and GNU tar alone following the header's own recipe, and
manifests read back from the tape."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from mzops.backup import volume
from mzops.backup.tape.filedrive import Cartridge, FileDrive

EXTRACT = "tar -x --listed-incremental=/dev/null -f - -C /restore"


def loaded(tmp_path, barcode, **settings) -> FileDrive:
    drive = FileDrive(barcode)
    drive.load(Cartridge.create(tmp_path, barcode, **settings))
    volume.label(drive, barcode, "daily", 65536)
    return drive


def test_label_is_read_back_and_not_overwritten_without_force(tmp_path):
    d = loaded(tmp_path, "V00001L8")
    assert volume.read_label(d)["volume"] == "V00001L8"
    with pytest.raises(volume.FormatError, match="already labelled V00001L8 .*--force"):
        volume.label(d, "OTHER", "daily", 65536)
    volume.label(d, "V00001L8", "weekly", 65536, force=True)
    assert volume.read_label(d)["pool"] == "weekly"
    blank = FileDrive("blank")
    blank.load(Cartridge.create(tmp_path, "BLANK"))
    with pytest.raises(volume.FormatError, match="blank tape"):
        volume.read_label(blank)


def test_a_stream_spans_volumes_and_restores_with_dd_and_tar(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    for n in range(40):
        (tree / f"f{n}").write_bytes(os.urandom(20_000))       # incompressible, 800 kB
    stream = subprocess.run(["tar", "--format=posix", "-C", str(tree), "-cf", "-", "."], capture_output=True,
                            check=True).stdout
    first = loaded(tmp_path, "V00001L8", capacity=600_000, early_warning=100_000)
    spare = []

    def next_volume():
        first.close()
        drive = loaded(tmp_path, "V00002L8", capacity=10_000_000)
        spare.append(drive)
        return drive, "V00002L8"

    writer = volume.StreamWriter(first, "V00001L8", 65536, {"job": "files", "asset": "app-01", "level": "0"},
                                 EXTRACT, next_volume)
    parts = writer.write(stream[i:i + 10240] for i in range(0, len(stream), 10240))
    assert [(p.volume, p.file, p.number) for p in parts] == [("V00001L8", 1, 1), ("V00002L8", 1, 2)]
    assert writer.sha256() == hashlib.sha256(stream).hexdigest() and writer.bytes == len(stream)
    assert [p.sha256 for p in parts] == [hashlib.sha256(stream[:parts[0].bytes]).hexdigest(),
                                         hashlib.sha256(stream[parts[0].bytes:]).hexdigest()]
    spare[0].close()
    # the header says how, in words and commands
    header = (tmp_path / "V00002L8" / "file-1.dat").read_bytes()[:volume.HEADER_SIZE].rstrip(b"\0").decode()
    assert "part: 2" in header and "mt -f /dev/nst0 fsf 1" in header and "dd if=/dev/nst0 bs=32k count=1" in header
    out = tmp_path / "out"
    out.mkdir()
    script = (f"( dd if={tmp_path}/V00001L8/file-1.dat bs=32k skip=1 status=none; "
              f"dd if={tmp_path}/V00002L8/file-1.dat bs=32k skip=1 status=none ) | tar -xf - -C {out}")
    done = subprocess.run(script, shell=True, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert all((out / f"f{n}").read_bytes() == (tree / f"f{n}").read_bytes() for n in range(40))
    # and through the drive interface
    drive = FileDrive("r")
    drive.load(tmp_path / "V00001L8")
    found, records = volume.read_part(drive, 1, 65536)
    assert found["part"] == "1" and found["job"] == "files"
    assert hashlib.sha256(b"".join(records)).hexdigest() == parts[0].sha256


def test_manifests_are_found_on_the_tape(tmp_path):
    d = loaded(tmp_path, "V00009L8")
    writer = volume.StreamWriter(d, "V00009L8", 65536, {"job": "j"}, EXTRACT, lambda: (_ for _ in ()).throw(AssertionError))
    parts = writer.write([b"x" * 100_000])
    number = volume.manifest(d, "V00009L8", {"job": "j", "parts": [p.__dict__ for p in parts]})
    assert number == 2
    d.close()
    assert volume.read_manifests(d) == [{"job": "j", "parts": [p.__dict__ for p in parts]}]


@pytest.mark.parametrize("failing_part", [1, 2, 3])
def test_the_stream_checksum_counts_a_part_written_again_once(tmp_path, failing_part):
    """The stream's SHA-256 is taken from its parts' bytes (once per byte in the first
    part): a part written again after a write error must count once, from its start."""
    stream = os.urandom(3 * 200_000 + 12_345)
    segments = []
    for n, offset in enumerate(range(0, len(stream), 200_000)):
        segments.append(tmp_path / f"segment-{n}")
        segments[-1].write_bytes(stream[offset:offset + 200_000])
    # per load: the label, then a header and 4 records of 64 KiB per part; the error
    # comes mid-way through FAILING_PART
    bad = loaded(tmp_path, "BAD", fail_write_after=1 + (failing_part - 1) * 5 + 3)
    good = loaded(tmp_path, "GOOD")
    writer = volume.StreamWriter(bad, "BAD", 65536, {"job": "j"}, EXTRACT, lambda: (_ for _ in ()).throw(
        AssertionError("no early warning here")), failed_volume=lambda barcode, why: (good, "GOOD"))
    for segment in segments:
        with open(segment, "rb") as handle:
            writer.write_spooled(handle)
    assert len(writer.rewritten) == 1 and writer.rewritten[0].startswith(f"part {failing_part} on BAD")
    assert [p.volume for p in writer.parts] == ["BAD"] * (failing_part - 1) + ["GOOD"] * (5 - failing_part)
    assert writer.bytes == len(stream) == sum(p.bytes for p in writer.parts)
    assert writer.sha256() == hashlib.sha256(stream).hexdigest()
    offset = 0
    for p in writer.parts:
        assert p.sha256 == hashlib.sha256(stream[offset:offset + p.bytes]).hexdigest()
        offset += p.bytes
