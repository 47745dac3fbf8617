"""The lab's package mirror: Debian packages fetched once on this machine, served inside
the lab, so package-installing rules and patch-level checks run for real.

Lab hosts have no route out of the lab (shared/notes/lab.md), as production hosts reach
only the ministry's internal mirror. The mirror is a partial copy of Debian: the packages
hardening installs or the benchmarks need, with what they depend on beyond the root
filesystems, and the security updates of a few installed packages, so a fresh host has
security updates pending (linux.updates.security fails) until it upgrades (it passes).

Built with apt's own tools (apt-get download, apt-ftparchive) from this machine's
sources into a private apt state, signed with a lab key hosts trust by `Signed-By`,
cached under the machine-wide cache by a hash of what went in (like the root
filesystems), and served over HTTP from the lab control namespace.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mzops import run as runlayer
from mzops.errors import OperationFailed
from mzops.lab import rootfs, topology
from mzops.paths import cache_dir

# What hosts can install beyond their root filesystem: auditd and a telnet server
# (the hardening rules that install or remove them), Patroni with etcd (the DR bench's
# anchor, bench/dr_bench.py).
PACKAGES = ("auditd", "telnetd", "patroni", "python3-etcd", "etcd-server", "etcd-client")
# Installed packages whose security updates the mirror carries: small, and nothing the
# lab's own machinery depends on while it upgrades.
SECURITY_SAMPLE = ("zstd", "libzstd1")
# The layers whose installed set the dependencies are resolved against.
LAYERS = (rootfs.BASE, rootfs.DATABASES)
REVISION = "1"
KEYRING = "usr/share/keyrings/mzops-lab-mirror.gpg"
SOURCES = "etc/apt/sources.list.d/mzops-lab.sources"
# Suites as Debian names them, so apt on a lab host says what it says on a real one
# ("Debian-Security:12/..." marks a security update).
SUITES = {
    "main": {"Suite": rootfs.SUITE, "Codename": rootfs.SUITE, "Origin": "Debian", "Label": "Debian"},
    "security": {"Suite": f"{rootfs.SUITE}-security", "Codename": f"{rootfs.SUITE}-security",
                 "Origin": "Debian", "Label": "Debian-Security"},
}


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    suites: frozenset[str]      # main, security or both: where Debian publishes this version


def key() -> str:
    text = "|".join([REVISION, " ".join(PACKAGES), " ".join(SECURITY_SAMPLE), *(layer.key for layer in LAYERS)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def tree() -> Path:
    return cache_dir() / "mirror" / key()


def is_built() -> bool:
    return (tree() / ".mzops-complete").is_file()


def url() -> str:
    return f"http://{topology.MIRROR_ADDRESS}:{topology.MIRROR_PORT}/debian"


def parse_simulation(text: str) -> list[Package]:
    """Packages apt would install, from `apt-get -s` output.

    apt-pkg's simulator prints `Inst NAME [OLD] (VERSION ORIGINS [ARCH])`, ORIGINS being
    `Label:Version/Archive` of every source that has this version, comma separated
    (apt-pkg/algorithms.cc, pkgSimulate::Describe and RelStr).
    """
    out = []
    for line in text.splitlines():
        match = re.match(r"^Inst (\S+) (?:\[[^]]*\] )?\((\S+) (.+?) \[[^]]+\]\)", line)
        if not match:
            continue
        origins = [o.strip() for o in match.group(3).split(",")]
        suites = frozenset("security" if "-Security:" in o else "main" for o in origins)
        out.append(Package(match.group(1), match.group(2), suites))
    return out


def sources_file() -> str:
    """The lab hosts' one apt source: the mirror, both suites, verified by the lab key."""
    return (f"# The lab's mirror (mzops lab): the only package source a lab host reaches.\n"
            f"Types: deb\nURIs: {url()}\n"
            f"Suites: {SUITES['main']['Suite']} {SUITES['security']['Suite']}\n"
            f"Components: main\nSigned-By: /{KEYRING}\n")


def host_files() -> dict[str, bytes]:
    """Files every lab host gets in its upper directory (paths relative to its root)."""
    return {
        SOURCES: sources_file().encode(),
        # debootstrap's sources.list names deb.debian.org, which no lab host reaches
        "etc/apt/sources.list": b"# see sources.list.d/mzops-lab.sources\n",
        KEYRING: (tree() / "mzops-lab-mirror.gpg").read_bytes(),
    }


def ensure(log=print) -> Path:
    """Build the mirror unless the cache has it; return its tree."""
    if is_built():
        return tree()
    base = cache_dir() / "mirror"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock, runlayer.serialised(lock):
        if is_built():
            return tree()
        for layer in LAYERS:
            rootfs.ensure(layer, log=log)
        log("building the lab's package mirror (cold, under a minute)")
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
        try:
            _build(work)
            if tree().exists():
                shutil.rmtree(tree())
            os.rename(work / "tree", tree())
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return tree()


def _run(cmd: list[str], what: str, cwd: Path | None = None, env: dict | None = None) -> str:
    return rootfs.run_tool(cmd, f"lab mirror: {what}", cwd=cwd, env=env)


def _build(work: Path) -> None:
    for tool in ("apt-get", "apt-ftparchive", "gpg"):
        if not shutil.which(tool):
            raise OperationFailed(f"lab mirror: {tool} is not installed (scripts/setup.sh installs it)")
    # A private apt state: this machine's sources, lists and cache of its own, so the
    # build neither needs nor changes the machine's package lists.
    state = work / "apt"
    for sub in ("lists/partial", "cache/archives/partial"):
        (state / sub).mkdir(parents=True)
    apt = ["apt-get", "-q", "-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state / 'cache'}",
           "-o", "Debug::NoLocking=1"]
    _run(apt + ["update"], "apt-get update")
    wanted: dict[tuple[str, str], Package] = {}
    for layer in LAYERS:
        status = ["-o", f"Dir::State::status={rootfs.layer_dir(layer) / 'var/lib/dpkg/status'}"]
        for request in (["install", "--no-install-recommends", *PACKAGES],
                        ["install", "--only-upgrade", *SECURITY_SAMPLE]):
            for package in parse_simulation(_run(apt + status + ["-s", *request], "apt-get -s " + request[0])):
                wanted[(package.name, package.version)] = package
    if not any("security" in p.suites for p in wanted.values()):
        raise OperationFailed("lab mirror: no security update of " + ", ".join(SECURITY_SAMPLE) +
                              " in this machine's sources: linux.updates.security could not fail in the lab")
    archive = work / "tree" / "debian"
    pool = archive / "pool" / "main"
    pool.mkdir(parents=True)
    _run(apt + ["download", *sorted(f"{n}={v}" for n, v in wanted)], "apt-get download", cwd=pool)
    debs = {}
    for path in pool.glob("*.deb"):
        name, version, arch = path.name.removesuffix(".deb").split("_")
        version = version.replace("%3a", ":")
        # Debian's pool names leave out the epoch (and so no '%' travels in a URL)
        debs[(name, version)] = path.rename(pool / f"{name}_{version.split(':', 1)[-1]}_{arch}.deb")
    missing = sorted(f"{n}={v}" for n, v in wanted if (n, v) not in debs)
    if missing:
        raise OperationFailed(f"lab mirror: apt-get download did not fetch {', '.join(missing)}")
    _index(archive, {name: [debs[k] for k, p in wanted.items() if name in p.suites] for name in SUITES})
    _sign(work, archive)
    (work / "tree" / ".mzops-complete").write_text(key() + "\n")


def _index(archive: Path, by_suite: dict[str, list[Path]]) -> None:
    """Packages and Release of each suite, by apt-ftparchive (one pool, two suites)."""
    for name, debs in by_suite.items():
        fields = SUITES[name]
        dist = archive / "dists" / fields["Suite"]
        binary = dist / "main" / "binary-amd64"
        binary.mkdir(parents=True)
        packages = _packages(archive, debs)
        (binary / "Packages").write_text(packages)
        with gzip.open(binary / "Packages.gz", "wt") as out:
            out.write(packages)
        options = [f"-oAPT::FTPArchive::Release::{field}={value}" for field, value in fields.items()]
        options += ["-oAPT::FTPArchive::Release::Architectures=amd64",
                    "-oAPT::FTPArchive::Release::Components=main",
                    "-oAPT::FTPArchive::Release::Version=12"]
        release = _run(["apt-ftparchive", *options, "release", "."], "apt-ftparchive release", cwd=dist)
        (dist / "Release").write_text(release)


def _packages(archive: Path, debs: list[Path]) -> str:
    """One suite's Packages index: apt-ftparchive over a directory holding just its debs
    (hard links into the pool, the Filename fields rewritten to the pool path)."""
    with tempfile.TemporaryDirectory(dir=archive) as scratch:
        for deb in debs:
            os.link(deb, Path(scratch) / deb.name)
        rel = Path(scratch).relative_to(archive)
        text = _run(["apt-ftparchive", "packages", str(rel)], "apt-ftparchive packages", cwd=archive)
    return text.replace(f"Filename: {rel}/", "Filename: pool/main/")


def _sign(work: Path, archive: Path) -> None:
    """InRelease and Release.gpg by a key made for this mirror (a lab key: nothing else
    trusts it); hosts get its public half as the source's Signed-By keyring."""
    home = work / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(home)]
    env = {**os.environ, "GNUPGHOME": str(home)}
    _run(gpg + ["--passphrase", "", "--quick-gen-key", "mzops lab mirror <lab@mzops.invalid>", "ed25519", "sign",
                "never"], "gpg --quick-gen-key", env=env)
    for fields in SUITES.values():
        dist = archive / "dists" / fields["Suite"]
        _run(gpg + ["--yes", "--clearsign", "-o", str(dist / "InRelease"), str(dist / "Release")],
             "gpg --clearsign", env=env)
        _run(gpg + ["--yes", "-abs", "-o", str(dist / "Release.gpg"), str(dist / "Release")], "gpg -abs", env=env)
    _run(gpg + ["--yes", "-o", str(work / "tree" / "mzops-lab-mirror.gpg"), "--export"], "gpg --export", env=env)
    _run(["gpgconf", "--homedir", str(home), "--kill", "all"], "gpgconf --kill")


def serve(netns: str, log_path: Path) -> subprocess.Popen:
    """An HTTP server for the mirror at its lab address, inside the control namespace
    (it dies with the namespace's processes at `lab down`). Its signed indexes are dated
    now, as a mirror in service republishes them (apt keeps the server's Last-Modified
    as a list's time, and linux.updates.security trusts no list older than a fortnight);
    their content and signatures stay as built."""
    for index in list(tree().glob("dists/*/Release")) + list(tree().glob("dists/*/InRelease")):
        index.touch()
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-m", "http.server", str(topology.MIRROR_PORT),
             "--bind", topology.MIRROR_ADDRESS, "--directory", str(tree())],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    finally:
        log.close()
