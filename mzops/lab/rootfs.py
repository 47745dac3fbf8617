"""Root filesystems for lab hosts: a debootstrapped Debian base plus optional layers.

Each layer is a plain directory under the machine-wide cache, named by a hash of what
went into it, so a changed package list builds a new layer and a cached one starts in
no time. Hosts stack the layers read-only (overlayfs lowerdir) under a private upper
directory, so nothing a host does can alter the cache.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mzops import run as runlayer
from mzops.errors import OperationFailed
from mzops.paths import cache_dir

SUITE = "bookworm"
# Bump when the build steps change in a way the package lists do not show.
BUILD_REVISION = "1"


@dataclass(frozen=True)
class Layer:
    name: str
    packages: tuple[str, ...]
    parent: Layer | None = None
    # Shell run inside the finished tree (chroot), e.g. to strip per-machine state.
    finish: str = ""

    @property
    def key(self) -> str:
        text = "|".join(
            [BUILD_REVISION, SUITE, self.name, " ".join(sorted(self.packages)), self.finish,
             self.parent.key if self.parent else ""]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def chain(self) -> list[Layer]:
        """This layer and its ancestors, top first (overlayfs lowerdir order)."""
        out: list[Layer] = []
        layer: Layer | None = self
        while layer is not None:
            out.append(layer)
            layer = layer.parent
        return out


BASE = Layer(
    name="base",
    packages=(
        "openssh-server", "openssh-client", "python3", "python3-apt", "sudo", "passwd",
        "login", "libpam-pwquality", "libpam-modules", "cron", "iproute2", "procps",
        "rsyslog", "logrotate", "iputils-ping", "netcat-openbsd", "nftables", "tar", "chrony", "aide",
        "aide-common",
        "zstd",
    ),
    # Host keys are made per lab host at start-up: every host must have its own.
    finish="rm -f /etc/ssh/ssh_host_*; apt-get clean; rm -rf /var/lib/apt/lists/*",
)

# systemd as PID 1 (lab up --systemd): services, units and timers as on a real server.
SYSTEMD = Layer(
    name="systemd",
    packages=("systemd", "systemd-sysv", "dbus", "libpam-systemd"),
    parent=BASE,
    # Host keys are made per host; no first-boot wizard; the console must not wait.
    finish="rm -f /etc/ssh/ssh_host_*; systemctl mask systemd-firstboot.service getty@tty1.service "
           "console-getty.service systemd-timesyncd.service >/dev/null 2>&1 || true; "
           "apt-get clean; rm -rf /var/lib/apt/lists/*",
)

DB_PACKAGES = ("postgresql", "postgresql-15-pgaudit", "mariadb-server", "mariadb-client", "mariadb-backup")
DATABASES = Layer(name="db", packages=DB_PACKAGES, parent=BASE,
                  finish="apt-get clean; rm -rf /var/lib/apt/lists/*")
DATABASES_SYSTEMD = Layer(name="db-systemd", packages=DB_PACKAGES, parent=SYSTEMD,
                          finish="apt-get clean; rm -rf /var/lib/apt/lists/*")


def top_layer(systemd: bool, databases: bool) -> Layer:
    if systemd:
        return DATABASES_SYSTEMD if databases else SYSTEMD
    return DATABASES if databases else BASE


# systemd-nspawn runs systemd hosts; it is taken from Debian's packages by `apt-get
# download` + `dpkg -x` (with the libsystemd-shared it was built against), never
# installed on the machine.
NSPAWN_PACKAGES = ("systemd-container", "systemd", "libsystemd-shared")


def nspawn() -> tuple[Path, Path]:
    """(systemd-nspawn binary, folder of its private library)."""
    root = cache_dir() / "nspawn"
    binary, libdir = root / "usr/bin/systemd-nspawn", root / "usr/lib/x86_64-linux-gnu/systemd"
    if (root / ".mzops-complete").exists():
        return binary, libdir
    cache_dir().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".nspawn-", dir=cache_dir()))
    try:
        run_tool(["sh", "-c", f"cd {work} && apt-get download -q {' '.join(NSPAWN_PACKAGES)}"], "apt-get download systemd-nspawn")
        tree = work / "tree"
        for deb in sorted(work.glob("*.deb")):
            run_tool(["dpkg", "-x", str(deb), str(tree)], f"unpacking {deb.name}")
        (tree / ".mzops-complete").write_text("\n")
        if root.exists():
            shutil.rmtree(root)
        os.rename(tree, root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return binary, libdir


def layer_dir(layer: Layer) -> Path:
    return cache_dir() / "rootfs" / f"{layer.name}-{layer.key}"


def is_built(layer: Layer) -> bool:
    return (layer_dir(layer) / ".mzops-complete").is_file()


def debian_mirror() -> str:
    """The mirror this machine's apt already uses (deb822 URIs: line or sources.list)."""
    candidates = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in candidates:
        for line in path.read_text().splitlines():
            match = re.match(r"\s*URIs:\s*(\S+)", line)
            if match and "security" not in match.group(1):
                return match.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and "security" not in parts[1]:
                return parts[1]
    raise OperationFailed("no Debian mirror found in /etc/apt/sources.list.d/*.sources or sources.list")


def ensure(layer: Layer, log=print) -> list[Path]:
    """Build what is missing of the layer chain; return lowerdirs, top first."""
    for item in reversed(layer.chain()):
        if not is_built(item):
            _build(item, log)
    return [layer_dir(item) for item in layer.chain()]


def _build(layer: Layer, log) -> None:
    root = cache_dir() / "rootfs"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock, runlayer.serialised(lock):
        if is_built(layer):  # another process built it while we waited
            return
        target = layer_dir(layer)
        if target.exists():
            shutil.rmtree(target)
        work = Path(tempfile.mkdtemp(prefix=f".build-{layer.name}-", dir=root))
        try:
            log(f"building lab root filesystem layer '{layer.name}' (cold, about a minute)")
            if layer.parent is None:
                _debootstrap(layer, work / "tree")
            else:
                _apt_layer(layer, work)
            (work / "tree" / ".mzops-complete").write_text(layer.key + "\n")
            os.rename(work / "tree", target)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def run_tool(cmd: list[str], what: str, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run a build tool (debootstrap, apt, gpg, ...); its output, or OperationFailed
    naming WHAT with the tool's last lines."""
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise OperationFailed(f"{what} failed (exit {proc.returncode}): {' | '.join(tail)}")
    return proc.stdout


def _debootstrap(layer: Layer, tree: Path) -> None:
    if not shutil.which("debootstrap"):
        raise OperationFailed("debootstrap is not installed (apt-get install debootstrap)")
    run_tool(
        ["debootstrap", "--variant=minbase", f"--include={','.join(layer.packages)}",
         SUITE, str(tree), debian_mirror()],
        "debootstrap",
    )
    _chroot_shell(tree, layer.finish, f"finishing layer {layer.name}")


def _chroot_shell(tree: Path, script: str, what: str) -> None:
    if script:
        run_tool(["chroot", str(tree), "/bin/sh", "-ec", script], what)


def _apt_layer(layer: Layer, work: Path) -> None:
    """Install packages on top of the parent chain; the overlay upper dir is the layer."""
    lowers = ":".join(str(p) for p in ensure(layer.parent))
    upper, ovl_work, merged = work / "tree", work / "ovl-work", work / "merged"
    for path in (upper, ovl_work, merged):
        path.mkdir()
    packages = " ".join(layer.packages)
    # Runs in a private mount namespace: every mount vanishes with the process,
    # also when the build fails half-way.
    script = f"""
set -e
mount -t overlay overlay -o lowerdir={lowers},upperdir={upper},workdir={ovl_work} {merged}
mount -t proc proc {merged}/proc
mount --bind /dev {merged}/dev
cp /etc/resolv.conf {merged}/etc/resolv.conf
printf '#!/bin/sh\\nexit 101\\n' > {merged}/usr/sbin/policy-rc.d
chmod 755 {merged}/usr/sbin/policy-rc.d
chroot {merged} /bin/sh -ec 'export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends {packages}
{layer.finish}'
rm -f {merged}/usr/sbin/policy-rc.d
"""
    run_tool(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
         f"building layer {layer.name}")
