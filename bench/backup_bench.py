#!/usr/bin/env python3
"""File backup, side by side in one run: mzops, GNU tar alone (the floor: what mzops
runs on the client) and Bacula 9.6 (Debian's bacula-director-sqlite3, bacula-sd with a
File device, bacula-fd), on one tree of many small files on this machine's disk.

Rows: the full; an incremental after 1 % of the files changed (the median of six, levels
1 to 6); a single-file restore from that seven-level chain;
catalogue bytes per file; throughput of a large-file tree to the file-backed drive
against a raw `tar | dd` into a file (the limit) and the same with one SHA-256 on a tee.

mzops runs its engine with the LocalTarget (the scripts it sends over SSH, run with sh
here): its own costs (indexing every member with its SHA-256, the tape format, the
catalogue) are all in; the SSH transport is not, as Bacula's fd-to-sd TCP on loopback
is not a WAN either. Bacula runs its three daemons on 127.0.0.1 with a SQLite catalogue
and SHA256 signatures; tar writes its archives to files.

    sudo .venv/bin/python bench/backup_bench.py [--files 1000000] [--big-mib 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from mzops.backup import engine, restore  # noqa: E402
from mzops.backup.catalogue import Catalogue  # noqa: E402
from mzops.backup.policy import JobSpec, LibrarySpec, Policy, PoolSpec  # noqa: E402
from mzops.backup.tape.filelibrary import FileLibrary  # noqa: E402

PER_DIR = 1000


def make_tree(root: Path, files: int) -> list[Path]:
    rng = random.Random(7)
    paths = []
    for n in range(files):
        folder = root / f"d{n // PER_DIR:05d}"
        if n % PER_DIR == 0:
            folder.mkdir(parents=True)
        path = folder / f"f{n:07d}.txt"
        path.write_bytes(rng.randbytes(rng.randint(100, 2000)))
        paths.append(path)
    return paths


def change(paths: list[Path], fraction: float, seed: int) -> None:
    rng = random.Random(seed)
    for path in rng.sample(paths, max(1, int(len(paths) * fraction))):
        path.write_bytes(rng.randbytes(rng.randint(100, 2000)))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def sh(*argv, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, **kw)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(map(str, argv))}: exit {proc.returncode}: {proc.stderr[-500:]}")
    return proc


# ------------------------------------------------------------------ GNU tar alone

class Tar:
    def __init__(self, work: Path, tree: Path):
        self.work, self.tree, self.level = work, tree, -1
        work.mkdir(parents=True)

    def backup(self) -> None:
        self.level += 1
        snar = self.work / f"level-{self.level}.snar"
        if self.level:
            shutil.copy(self.work / f"level-{self.level - 1}.snar", snar)
        sh("tar", "--create", "--format=posix", f"--listed-incremental={snar}", "--sparse", "--one-file-system",
           f"--file={self.work / f'level-{self.level}.tar'}", str(self.tree))

    def restore_file(self, member: str, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for level in range(self.level + 1):      # what a person does with tar alone: every level in turn
            subprocess.run(["tar", "-x", "--listed-incremental=/dev/null", "-f", str(self.work / f"level-{level}.tar"),
                            "-C", str(out), member], capture_output=True)


# ------------------------------------------------------------------ mzops

class Mzops:
    def __init__(self, work: Path, tree: Path, block: int = 256 * 1024):
        self.work, self.tree = work, tree
        lib = FileLibrary.create(work / "lib", drives=1, slots=4)
        lib.add_cartridge(1, "B001", capacity=1 << 40)
        self.policy = Policy(work, {"lib": LibrarySpec(site="primary", kind="file", path=str(work / "lib"), drives=1,
                                                       slots=4)},
                             {"p": PoolSpec(library="lib", label="B{n:03d}", block_size=block)},
                             {"j": JobSpec(assets=["h"], paths=[str(tree)], pool="p",
                                           levels={"full_every_days": 366}, retention={"restorable_days": 35})}, {})
        self.catalogue = Catalogue(f"sqlite:///{work}/catalogue.sqlite")
        self.target = engine.LocalTarget("h", str(work / "state"))
        self.runs = 0

    def backup(self) -> None:
        outcome = engine.back_up(self.policy, "j", None, "h", self.catalogue, f"r{self.runs}", target=self.target,
                                 requested=None if self.runs else "full")
        if outcome.state != "changed":
            raise SystemExit(f"mzops: {outcome.message}")
        self.runs += 1

    def restore_file(self, member: str, out: Path) -> None:
        restore.restore(self.policy, self.catalogue, "j", "h", out, paths=["/" + member])

    def catalogue_bytes(self) -> int:
        """The catalogue at rest: its write-ahead log checkpointed into the database first."""
        with sqlite3.connect(self.work / "catalogue.sqlite") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(p.stat().st_size for p in self.work.glob("catalogue.sqlite*"))


# ------------------------------------------------------------------ Bacula

DIR_CONF = """
Director {{ Name = bench-dir; DIRport = 19101; DirAddress = 127.0.0.1; QueryFile = "/etc/bacula/scripts/query.sql"
  WorkingDirectory = "{w}"; PidDirectory = "{w}"; Maximum Concurrent Jobs = 1; Password = "dirpw"; Messages = Daemon }}
Job {{ Name = bench; Type = Backup; Level = Incremental; Client = bench-fd; FileSet = bench-fs; Storage = bench-sd
  Messages = Standard; Pool = bench-pool; Write Bootstrap = "{w}/bench.bsr"; Accurate = no }}
Job {{ Name = bench-restore; Type = Restore; Client = bench-fd; FileSet = bench-fs; Storage = bench-sd
  Pool = bench-pool; Messages = Standard; Where = "{w}/restored" }}
FileSet {{ Name = bench-fs; Include {{ Options {{ signature = SHA256 }}; File = "{tree}" }} }}
Client {{ Name = bench-fd; Address = 127.0.0.1; FDPort = 19102; Catalog = cat; Password = "fdpw"
  AutoPrune = no }}
Storage {{ Name = bench-sd; Address = 127.0.0.1; SDPort = 19103; Password = "sdpw"; Device = bench-dev
  Media Type = File }}
Catalog {{ Name = cat; dbname = "bacula"; dbuser = ""; dbpassword = "" }}
Messages {{ Name = Standard; append = "{w}/log" = all, !skipped; catalog = all, !skipped, !saved }}
Messages {{ Name = Daemon; append = "{w}/log" = all, !skipped }}
Pool {{ Name = bench-pool; Pool Type = Backup; Label Format = "Vol-"; Maximum Volume Bytes = 100G
  AutoPrune = no; Recycle = no }}
"""

SD_CONF = """
Storage {{ Name = bench-sd; SDPort = 19103; SDAddress = 127.0.0.1; WorkingDirectory = "{w}"; Pid Directory = "{w}" }}
Director {{ Name = bench-dir; Password = "sdpw" }}
Device {{ Name = bench-dev; Media Type = File; Archive Device = "{w}/volumes"; LabelMedia = yes
  Random Access = yes; AutomaticMount = yes; RemovableMedia = no; AlwaysOpen = no }}
Messages {{ Name = Standard; director = bench-dir = all }}
"""

FD_CONF = """
FileDaemon {{ Name = bench-fd; FDport = 19102; FDAddress = 127.0.0.1; WorkingDirectory = "{w}"; Pid Directory = "{w}" }}
Director {{ Name = bench-dir; Password = "fdpw" }}
Messages {{ Name = Standard; director = bench-dir = all, !skipped, !restored }}
"""

CONSOLE_CONF = 'Director { Name = bench-dir; DIRport = 19101; address = 127.0.0.1; Password = "dirpw" }\n'


class Bacula:
    def __init__(self, work: Path, tree: Path):
        self.work, self.tree = work, tree
        (work / "volumes").mkdir(parents=True)
        shutil.chown(work, "bacula", "bacula")
        for name, text in (("dir", DIR_CONF), ("sd", SD_CONF), ("fd", FD_CONF)):
            (work / f"bacula-{name}.conf").write_text(textwrap.dedent(text.format(w=work, tree=tree)))
        (work / "bconsole.conf").write_text(CONSOLE_CONF)
        script = Path("/usr/share/bacula-director/make_sqlite3_tables").read_text()
        script = script.replace("cd /var/lib/bacula", f"cd {work}").replace("XXX_DBNAME_XXX", "bacula")
        sh("sh", "-c", script)
        self.daemons = [subprocess.Popen([f"/usr/sbin/bacula-{name}", "-f", "-c", str(work / f"bacula-{name}.conf")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for name in ("sd", "fd", "dir")]
        for _ in range(100):
            if "Version" in self.console("version"):
                break
            time.sleep(0.2)
        else:
            raise SystemExit("bacula-dir does not answer")

    def console(self, commands: str) -> str:
        return subprocess.run(["bconsole", "-c", str(self.work / "bconsole.conf")], input=commands + "\nquit\n",
                              capture_output=True, text=True).stdout

    def _job(self, command: str) -> None:
        """COMMAND queued, waited for, and its status T (terminated normally) checked."""
        said = self.console(f"{command}\nwait")
        found = re.search(r"JobId=(\d+)", said)
        if not found:
            raise SystemExit(f"bacula: {command}: {said[-1500:]}")
        status = self.console(f"llist jobid={found.group(1)}")
        if not re.search(r"jobstatus: T\b", status, re.IGNORECASE):
            raise SystemExit(f"bacula: {command}: {status[-1500:]}\n{(self.work / 'log').read_text()[-1500:]}")

    def backup(self, level: str) -> None:
        self._job(f"run job=bench level={level} yes")

    def restore_file(self, member: str) -> None:
        self._job(f"restore client=bench-fd fileset=bench-fs where={self.work}/restored current "
                  f"file=/{member} yes")

    def catalogue_bytes(self) -> int:
        return (self.work / "bacula.db").stat().st_size

    def file_rows(self) -> int:
        with sqlite3.connect(self.work / "bacula.db") as db:
            return db.execute("select count(*) from File").fetchone()[0]

    def stop(self) -> None:
        for proc in self.daemons:
            proc.terminate()
        for proc in self.daemons:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the large-file tree for throughput")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/mzops-backup-bench"))
    parser.add_argument("--repeat", type=int, default=5, help="throughput runs of each, taken in turns")
    parser.add_argument("--throughput-only", action="store_true", help="only the large-file throughput row")
    args = parser.parse_args()
    if args.throughput_only:
        throughput(args)
        return
    if shutil.which("bacula-dir") is None and not Path("/usr/sbin/bacula-dir").exists():
        raise SystemExit("install Bacula first: apt-get install bacula-director bacula-director-sqlite3 bacula-sd "
                         "bacula-fd bacula-console")
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    tree = args.work / "tree"
    print(f"making {args.files} files ...", flush=True)
    paths = make_tree(tree, args.files)
    tar, mz, bac = Tar(args.work / "tar", tree), Mzops(args.work / "mzops", tree), Bacula(args.work / "bacula", tree)
    rows = []
    try:
        print("full ...", flush=True)
        full = (timed(tar.backup), timed(mz.backup), timed(lambda: bac.backup("Full")))
        rows.append(("full", *full))
        print("six incrementals (1 % changed before each) ...", flush=True)
        incrementals = []
        for level in range(1, 7):
            change(paths, 0.01, level)
            incrementals.append((timed(tar.backup), timed(mz.backup), timed(lambda: bac.backup("Incremental"))))
        # one incremental of either varies by a tenth from run to run: the median of the six
        rows.append(("incremental, 1 % changed", *(statistics.median(run[n] for run in incrementals) for n in range(3))))
        member = str(paths[len(paths) // 2].relative_to("/"))
        print("single-file restore from seven levels ...", flush=True)
        one = (timed(lambda: tar.restore_file(member, args.work / "out-tar")),
               timed(lambda: mz.restore_file(member, args.work / "out-mzops")),
               timed(lambda: bac.restore_file(member)))
        rows.append(("single-file restore, 7 levels", *one))
        for out in (args.work / "out-tar", args.work / "out-mzops", args.work / "bacula" / "restored"):
            assert (out / member).read_bytes() == paths[len(paths) // 2].read_bytes(), out
        with mz.catalogue.session() as session:
            from sqlalchemy import func, select
            from mzops.backup.catalogue import File
            mz_rows = session.scalar(select(func.count()).select_from(File))
        per_file = (None, mz.catalogue_bytes() / mz_rows, bac.catalogue_bytes() / bac.file_rows())
    finally:
        bac.stop()
    print_rows(args, rows, per_file)
    print("incrementals, levels 1-6 (tar alone / mzops / Bacula, s): "
          + "; ".join("/".join(f"{t:.1f}" for t in run) for run in incrementals))
    throughput(args)


def throughput(args) -> None:
    """A large-file tree to the file-backed drive by mzops, against tar | dd (the limit)
    and tar | dd with one SHA-256 beside it, taken in turns ARGS.REPEAT times, each from
    the same state (this machine's writeback makes one run vary by half): the medians,
    each as a share of tar | dd."""
    big = args.work / "big"
    shutil.rmtree(big, ignore_errors=True)
    big.mkdir(parents=True)
    for n in range(max(1, args.big_mib // 256)):
        with open(big / f"b{n}.bin", "wb") as out:
            for _ in range(256):
                out.write(os.urandom(1 << 20))
    size = sum(p.stat().st_size for p in big.iterdir())
    # tar | dd is the limit; the same with one SHA-256 of the stream on a tee
    # (openssl dgst: coreutils' sha256sum has no SHA extensions, a sixth of the speed here)
    # shows what hashing costs on this machine. mzops hashes every byte twice (each
    # member's content for the catalogue, each tape file for the manifest) and shares the
    # machine's two cores with tar, as client and server do here.
    raw = f"tar -cf - -C {big} . | dd of={args.work / 'raw.dd'} bs=256k status=none"
    hashed = (f"tar -cf - -C {big} . | tee >(openssl dgst -sha256 >/dev/null) | dd of={args.work / 'raw.dd'} "
              "bs=256k status=none")
    raw_name, hashed_name = "tar | dd", "tar | tee >(openssl sha256) | dd"
    times: dict[str, list[float]] = {raw_name: [], hashed_name: [], "mzops": []}
    cpus: dict[str, list[float]] = {name: [] for name in times}    # CPU seconds of this process and its children

    def fresh() -> None:
        """Each run in the same state: no run's output on disk, no writeback pending (a
        gigabyte just written and still cached slows the next writer here by up to half)."""
        shutil.rmtree(args.work / "mzops-big", ignore_errors=True)
        (args.work / "raw.dd").unlink(missing_ok=True)
        os.sync()

    def measured(name: str, fn) -> None:
        before = cpu_seconds()
        times[name].append(timed(fn))
        cpus[name].append(cpu_seconds() - before)

    def shell_run(name: str, command: str):
        def run() -> None:
            fresh()
            measured(name, lambda: sh("bash", "-c", command))
        return run

    def our_run() -> None:
        fresh()
        mz_big = Mzops(args.work / "mzops-big", big)
        os.sync()
        measured("mzops", mz_big.backup)

    runs = [shell_run(raw_name, raw), shell_run(hashed_name, hashed), our_run]
    for turn in range(args.repeat):      # in turns, each starting a turn as often as the others
        for run in runs[turn % 3:] + runs[:turn % 3]:
            run()
    rate = {name: size / statistics.median(seconds) / 1e6 for name, seconds in times.items()}
    limit = rate[raw_name]
    gib = size / (1 << 30)
    print(f"\nthroughput, {size >> 20} MiB of large files, median of {args.repeat} (MB/s): "
          + "; ".join(f"{name} {rate[name]:.0f} ({rate[name] / limit:.0%})" for name in times)
          + "; runs: " + "; ".join(f"{name} " + ", ".join(f"{size / t / 1e6:.0f}" for t in seconds)
                                   for name, seconds in times.items()))
    print("CPU seconds per GiB, median (all processes of the run): "
          + "; ".join(f"{name} {statistics.median(c) / gib:.2f}" for name, c in cpus.items())
          + f"; one SHA-256 pass (hashlib) {sha256_seconds(big) / gib:.2f}")


def cpu_seconds() -> float:
    """User and system CPU of this process and of its waited-for children (a pipeline's
    processes are bash's children, counted when bash has waited for them)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def sha256_seconds(folder: Path) -> float:
    """CPU seconds of SHA-256 over as many bytes as FOLDER holds: the hash alone (one MiB
    of it hashed again and again, nothing read)."""
    digest = hashlib.sha256()
    with open(next(folder.iterdir()), "rb") as first:
        chunk = first.read(1 << 20)
    total = sum(p.stat().st_size for p in folder.iterdir())
    start = time.process_time()
    for _ in range(total // len(chunk)):
        digest.update(chunk)
    return time.process_time() - start


def print_rows(args, rows, per_file) -> None:
    print(f"\n{args.files} files in {args.files // PER_DIR} directories, 100-2000 bytes each; "
          f"{os.cpu_count()} cores\n")
    print(f"{'':<32}{'tar alone':>12}{'mzops':>12}{'Bacula':>12}{'mzops/tar':>12}{'mzops/Bacula':>14}")
    for name, t, m, b in rows:
        print(f"{name:<32}{t:>11.1f}s{m:>11.1f}s{b:>11.1f}s{ratio(m, t):>12}{ratio(m, b):>14}")
    print(f"{'catalogue bytes per file':<32}{'-':>12}{per_file[1]:>12.0f}{per_file[2]:>12.0f}{'':>12}"
          f"{ratio(per_file[1], per_file[2]):>14}")


if __name__ == "__main__":
    main()
