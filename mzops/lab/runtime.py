"""Bring the lab up and down, report on it, run commands on its hosts.

Safety (shared/notes/lab.md): while the lab is up the root namespace routes the lab
subnet to `unreachable`, the lab has no link to the root namespace at all, and the
only way in is a relay started inside the lab control namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mzops import run as runlayer
from mzops.errors import InputError, OperationFailed
from mzops.lab import backup as lab_backup
from mzops.lab import files, mirror, rootfs, topology
from mzops.lab.topology import LabHost
from mzops.paths import mzops_home

REQUIRED_TOOLS = ("ip", "unshare", "nsenter", "setpriv", "socat", "ssh", "ssh-keygen", "chroot")
READY_TIMEOUT = 90.0


def lab_dir() -> Path:
    return mzops_home() / "lab"


def state_file() -> Path:
    return lab_dir() / "state.json"


def require_root() -> None:
    if os.geteuid() != 0:
        raise InputError("the lab needs root (network namespaces, mounts): run as root or with sudo")


def _sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise OperationFailed(f"{' '.join(cmd)}: {proc.stderr.strip() or 'exit ' + str(proc.returncode)}")
    return proc


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    prefix = ("ip", "-n", netns) if netns else ("ip",)
    return _sh(*prefix, *args, check=check)


def lab_netns() -> list[str]:
    out = _sh("ip", "netns", "list", check=False).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n.startswith(topology.NETNS_PREFIX)]


def is_up() -> bool:
    return state_file().exists() or bool(lab_netns())


# ---------------------------------------------------------------- up

@dataclass
class UpResult:
    hosts: list[LabHost]
    inventory: Path
    seconds: float


def up(hosts: int = 3, databases: bool = False, systemd: bool = False, firewall: bool = False,
       backup: bool = False, log=print) -> UpResult:
    require_root()
    missing = [tool for tool in REQUIRED_TOOLS if not shutil.which(tool)]
    if missing:
        raise InputError(f"missing tools for the lab: {', '.join(missing)} (see README, set-up)")
    try:
        planned = topology.plan(hosts, databases, systemd, firewall, backup)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if is_up():
        raise InputError("the lab is already up (run `mzops lab down` first)")
    if len(str(lab_dir() / "cm")) + 42 > 104:
        raise InputError(f"MZOPS_HOME is too long for ssh control sockets: {mzops_home()}")

    start = time.monotonic()
    lowers = {flag: rootfs.ensure(rootfs.top_layer(systemd, flag), log=log) for flag in {False, databases}}
    mirror.ensure(log=log)
    if systemd:
        rootfs.nspawn()
    try:
        _network(planned)
        _prepare_files(planned)
        mirror.serve(topology.CONTROL_NETNS, lab_dir() / "mirror.log")
        log(f"starting {len(planned)} lab hosts")
        state = {"hosts": [], "subnet": str(topology.SUBNET), "started": time.time(), "mirror": mirror.url()}
        procs = {}
        for host in planned:
            procs[host.name] = _start_host(host, lowers[host.databases])
            state["hosts"].append({**host.to_dict(), "pid": procs[host.name].pid})
        inv = _write_inventory(planned)
        state["inventory"] = str(inv)
        if backup:
            state["backup"] = str(lab_backup.prepare(planned, lab_dir(), inv))
        state_file().write_text(json.dumps(state, indent=2))
        _wait_ready(planned, procs)
    except BaseException as exc:
        log("lab up failed: clearing what was created")
        down(log=lambda *_: None)
        if isinstance(exc, OSError):
            raise OperationFailed(f"lab up failed: {exc.strerror or exc}: {exc.filename or ''}") from None
        raise
    return UpResult(planned, inv, time.monotonic() - start)


def _network(hosts: list[LabHost]) -> None:
    # Safety first: before any lab address exists, the root namespace can't send there.
    _ip("route", "replace", "unreachable", str(topology.SUBNET))
    ctl = topology.CONTROL_NETNS
    _ip("netns", "add", ctl)
    _ip("link", "set", "lo", "up", netns=ctl)
    _ip("addr", "add", f"{topology.MIRROR_ADDRESS}/32", "dev", "lo", netns=ctl)
    _sh("ip", "netns", "exec", ctl, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    for seg in topology.segments(hosts):
        _ip("link", "add", seg.bridge, "type", "bridge", netns=ctl)
        _ip("addr", "add", f"{seg.gateway}/24", "dev", seg.bridge, netns=ctl)
        _ip("link", "set", seg.bridge, "up", netns=ctl)
    for host in hosts:
        ns, peer = host.netns, f"v-{host.name}"[:15]
        _ip("netns", "add", ns)
        _ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer, "netns", ctl)
        _ip("link", "set", peer, "master", host.segment.bridge, "up", netns=ctl)
        _ip("link", "set", "lo", "up", netns=ns)
        _ip("addr", "add", f"{host.address}/24", "dev", "eth0", netns=ns)
        _ip("link", "set", "eth0", "up", netns=ns)
        # No default route: hosts reach the lab subnet and nothing else.
        _ip("route", "add", str(topology.SUBNET), "via", host.segment.gateway, netns=ns)
        for zone, interface, seg, address in host.legs:
            leg_peer = f"{interface}-{host.name}"[:15]
            _ip("link", "add", interface, "netns", ns, "type", "veth", "peer", "name", leg_peer, "netns", ctl)
            _ip("link", "set", leg_peer, "master", seg.bridge, "up", netns=ctl)
            _ip("addr", "add", f"{address}/24", "dev", interface, netns=ns)
            _ip("link", "set", interface, "up", netns=ns)
        if host.legs:
            _sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        if host.databases:
            if not _ip("link", "show", topology.SERVICE_BRIDGE, netns=ctl, check=False).returncode == 0:
                _ip("link", "add", topology.SERVICE_BRIDGE, "type", "bridge", netns=ctl)
                _ip("addr", "add", f"{topology.SERVICE_NETWORK.network_address + 1}/24", "dev",
                    topology.SERVICE_BRIDGE, netns=ctl)
                _ip("link", "set", topology.SERVICE_BRIDGE, "up", netns=ctl)
            port = topology.service_port(host.name)
            _ip("link", "add", topology.SERVICE_DEVICE, "netns", ns, "type", "veth", "peer", "name", port,
                "netns", ctl)
            _ip("link", "set", port, "master", topology.SERVICE_BRIDGE, "up", netns=ctl)
            _ip("link", "set", topology.SERVICE_DEVICE, "up", netns=ns)
    for name, routes in topology.firewall_routes(hosts).items():
        for network, via in routes:
            _ip("route", "add", network, "via", via, netns=topology.NETNS_PREFIX + name)


def _host_dir(host: LabHost) -> Path:
    return lab_dir() / "hosts" / host.name


def _prepare_files(hosts: list[LabHost]) -> None:
    base = lab_dir()
    for sub in ("ssh", "cm", "hosts"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(base / "ssh", 0o700)
    os.chmod(base / "cm", 0o700)
    key = base / "ssh" / "id_ed25519"
    if not key.exists():
        _sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mzops-lab", "-f", str(key))
    pubkey = (base / "ssh" / "id_ed25519.pub").read_text()
    etc_hosts = _etc_hosts([(h.address, h.name) for h in hosts])
    known = runlayer.each(hosts, lambda h: _prepare_host(h, pubkey, etc_hosts), forks=8)
    (base / "ssh" / "known_hosts").write_text("".join(known))
    (base / "ssh" / "config").write_text(files.ssh_config(hosts, base))


def _prepare_host(host: LabHost, pubkey: str, etc_hosts: str, host_keys: dict[str, bytes] | None = None) -> str:
    """Write the host's own files into a fresh upper dir; return its known_hosts line."""
    hdir = _host_dir(host)
    upper = hdir / "upper"
    for sub in ("root", "work"):
        (hdir / sub).mkdir(parents=True, exist_ok=True)
    for path, mode in (("etc/ssh", 0o755), ("root/.ssh", 0o700), ("usr/local/sbin", 0o755)):
        (upper / path).mkdir(parents=True, exist_ok=True)
        os.chmod(upper / path, mode)
    os.chmod(upper / "root", 0o700)
    if host_keys:
        for name, data in host_keys.items():
            (upper / "etc/ssh" / name).write_bytes(data)
            os.chmod(upper / "etc/ssh" / name, 0o644 if name.endswith(".pub") else 0o600)
    else:
        _sh("ssh-keygen", "-A", "-f", str(upper))
    (upper / "root/.ssh/authorized_keys").write_text(pubkey)
    os.chmod(upper / "root/.ssh/authorized_keys", 0o600)
    for path, data in mirror.host_files().items():
        (upper / path).parent.mkdir(parents=True, exist_ok=True)
        (upper / path).write_bytes(data)
    (upper / "etc/hostname").write_text(host.name + "\n")
    (upper / "etc/hosts").write_text(etc_hosts)
    init = upper / files.INIT_PATH.lstrip("/")
    init.write_text(files.INIT_PROGRAM)
    os.chmod(init, 0o755)
    hostkey = (upper / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
    return f"{host.address} {hostkey[0]} {hostkey[1]}\n"


def _start_host(host: LabHost, lowers: list[Path]) -> subprocess.Popen:
    hdir = _host_dir(host)
    script = hdir / "boot.sh"
    if host.systemd:
        nspawn, libdir = rootfs.nspawn()
        script.write_text(files.systemd_boot_script(host, lowers, hdir / "upper", hdir / "work", hdir / "root",
                                                    nspawn, libdir))
        # nsenter, not `ip netns exec`: that remounts /sys and hides the cgroup mounts.
        argv = ["nsenter", f"--net=/run/netns/{host.netns}", "unshare", "--mount", "--propagation", "private",
                "/bin/sh", str(script)]
    else:
        script.write_text(files.boot_script(host, lowers, hdir / "upper", hdir / "work", hdir / "root"))
        argv = ["ip", "netns", "exec", host.netns, "unshare", "--mount", "--uts", "--ipc", "--pid",
                "--fork", "--kill-child", "--propagation", "private", "/bin/sh", str(script)]
    console = open(hdir / "console.log", "wb")
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
        start_new_session=True, close_fds=True,
    )
    console.close()
    return proc


def _write_inventory(hosts: list[LabHost]) -> Path:
    inv = lab_dir() / "inventory"
    for rel, text in files.inventory(hosts, lab_dir()).items():
        path = inv / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return inv


def ssh_command(host: str, *command: str) -> list[str]:
    return ["ssh", "-F", str(lab_dir() / "ssh" / "config"), host, *command]


def _console_tail(host: LabHost) -> str:
    lines = (_host_dir(host) / "console.log").read_text(errors="replace").strip().splitlines()
    return " | ".join(line.strip() for line in lines[-3:])


def _wait_ready(hosts: list[LabHost], procs: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT

    def wait(host: LabHost) -> None:
        while True:
            if procs[host.name].poll() is not None:
                raise OperationFailed(f"lab host {host.name} stopped while booting: {_console_tail(host)}")
            # systemd hosts are ready when boot has finished (degraded: a unit the
            # container cannot run failed, which is expected here).
            ready = (["systemctl is-system-running | grep -qxE 'running|degraded'"]  # one remote shell line
                     if host.systemd else ["test", "-e", files.READY_FILE])
            proc = subprocess.run(
                ssh_command(host.name, *ready),
                capture_output=True, text=True, stdin=subprocess.DEVNULL,
            )
            if proc.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise OperationFailed(
                    f"lab host {host.name} ({host.address}) not ready after {READY_TIMEOUT:.0f} s: "
                    f"{proc.stderr.strip() or 'no answer'}; console: {_console_tail(host)}"
                )
            time.sleep(0.2)

    runlayer.each(hosts, wait, forks=10)


# ---------------------------------------------------------------- down

def down(log=print) -> list[str]:
    """Remove everything a lab (or a failed `up`) created. Safe to call any time."""
    require_root()
    removed: list[str] = []
    sockets = [s for sub in ("cm", "cms") if (lab_dir() / sub).is_dir() for s in sorted((lab_dir() / sub).glob("*"))]
    for sock in sockets:
        subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "lab"],
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=10)
        removed.append(f"control socket {sock.name}")
    namespaces = lab_netns()
    _kill_namespace_processes(namespaces)
    for ns in namespaces:
        _ip("netns", "del", ns, check=False)
        removed.append(f"namespace {ns}")
    removed += _remove_cgroups()
    route = _ip("route", "show", "type", "unreachable", str(topology.SUBNET), check=False).stdout
    if route.strip():
        _ip("route", "del", "unreachable", str(topology.SUBNET))
        removed.append(f"route unreachable {topology.SUBNET}")
    for mount in leftover_mounts():
        _sh("umount", "-l", mount, check=False)
        removed.append(f"mount {mount}")
    (lab_dir() / "mirror.log").unlink(missing_ok=True)
    for sub in ("hosts", "cm", "cms", "ssh", "inventory", "server-inventory", "backup"):
        path = lab_dir() / sub
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    if state_file().exists():
        state_file().unlink()
        removed.append("lab state")
    (lab_dir() / ".state.lock").unlink(missing_ok=True)
    for line in removed:
        log(f"removed {line}")
    return removed


def _remove_cgroups() -> list[str]:
    """The per-host cgroups of systemd hosts (empty once their processes are gone)."""
    removed = []
    for top in sorted(Path("/sys/fs/cgroup").glob(f"*/{files.CGROUP_ROOT}")) + \
            sorted(Path("/sys/fs/cgroup").glob(files.CGROUP_ROOT)):
        for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            _remove_cgroup(folder)
        _remove_cgroup(top)
        removed.append(f"cgroup {top}")
    return removed


def _remove_cgroup(folder: Path, timeout: float = 15.0) -> None:
    """rmdir one cgroup, killing what is still in it. A killed task leaves its cgroup
    a moment after it is gone from the namespace (the kernel releases it after exit),
    so EBUSY is retried for a while before it is an error."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pids = (folder / "cgroup.procs").read_text().split()
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as err:
            if time.monotonic() > deadline:
                left = f" (processes {', '.join(pids)})" if pids else ""
                raise OperationFailed(f"cannot remove cgroup {folder}: {err.strerror}{left}") from None
        time.sleep(0.1)


def _kill_namespace_processes(namespaces: list[str]) -> None:
    """SIGKILL every process in these network namespaces (unshare ignores TERM while it
    waits for its child) and wait until none is left."""
    for _ in range(50):
        pids = [int(p) for ns in namespaces
                for p in _sh("ip", "netns", "pids", ns, check=False).stdout.split()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    raise OperationFailed(f"lab processes survive SIGKILL in {', '.join(namespaces)}")


def leftover_mounts() -> list[str]:
    """Mounts in this (root) mount namespace below the lab folder: there should be none."""
    prefix = str(lab_dir()) + "/"
    out = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                out.append(point)
    return sorted(out, key=len, reverse=True)


def reset(names: list[str], log=print) -> None:
    """Restart hosts from a pristine root filesystem (same name, address and keys)."""
    require_root()
    state = _state()
    by_name = {h["name"]: h for h in state["hosts"]}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise InputError(f"no lab host named {unknown[0]!r} (lab hosts: {', '.join(by_name)})")
    for name in names:
        entry = by_name[name]
        host = LabHost(entry["name"], entry["site"], entry["zone"], entry["address"], entry["databases"],
                       entry.get("systemd", False), entry.get("firewall", False))
        _kill_namespace_processes([host.netns])
        _reset_net_sysctls(host)
        if host.databases:          # a service address a DR run moved here goes with the reset
            _ip("addr", "flush", "dev", topology.SERVICE_DEVICE, netns=host.netns, check=False)
        hdir = _host_dir(host)
        keep = {p.name: p.read_bytes() for p in (hdir / "upper/etc/ssh").glob("ssh_host_*")}
        for sub in ("upper", "work"):
            shutil.rmtree(hdir / sub)
        etc_hosts = _etc_hosts([(h["address"], h["name"]) for h in state["hosts"]])
        _prepare_host(host, (lab_dir() / "ssh" / "id_ed25519.pub").read_text(), etc_hosts, keep)
        layer = rootfs.top_layer(host.systemd, host.databases)
        proc = _start_host(host, [rootfs.layer_dir(item) for item in layer.chain()])
        _record_pid(name, proc.pid)
        _wait_ready([host], {host.name: proc})
        log(f"{name}: reset")


def _reset_net_sysctls(host: LabHost) -> None:
    """net.* settings live in the network namespace, which a reset keeps (same veth and
    address): give them the values of a brand-new namespace, device settings included."""
    fresh = f"mzl-fresh-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", fresh], check=True, capture_output=True)
    try:
        listing = subprocess.run(["ip", "netns", "exec", fresh, "sysctl", "-a"], capture_output=True,
                                 text=True).stdout
    finally:
        subprocess.run(["ip", "netns", "delete", fresh], capture_output=True)
    values = {}
    for line in listing.splitlines():
        key, sep, value = line.partition(" = ")
        if sep and key.startswith("net.") and ".conf.lo." not in key:
            values[key] = value
            for family in ("ipv4", "ipv6"):     # the host's eth0 starts from the defaults
                prefix = f"net.{family}.conf.default."
                if key.startswith(prefix):
                    values[f"net.{family}.conf.eth0." + key[len(prefix):]] = value
    # Forwarding first: writing it resets net.ipv4.conf.all.accept_redirects.
    ordered = sorted(values.items(), key=lambda kv: ("forward" not in kv[0], kv[0]))
    text = "".join(f"{k} = {v}\n" for k, v in ordered)
    subprocess.run(["ip", "netns", "exec", host.netns, "sysctl", "-q", "-e", "-p", "-"], input=text, text=True,
                   capture_output=True)


def _record_pid(name: str, pid: int) -> None:
    """Update one host's PID in the state file. Resets may run in parallel (tests,
    benchmarks): re-read under a lock and replace atomically, or they undo each other."""
    with open(lab_dir() / ".state.lock", "w") as lock, runlayer.serialised(lock):
        state = _state()
        for entry in state["hosts"]:
            if entry["name"] == name:
                entry["pid"] = pid
        tmp = state_file().with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, state_file())


def _state() -> dict:
    if not state_file().exists():
        raise InputError("the lab is not up (run `mzops lab up`)")
    return json.loads(state_file().read_text())


def _etc_hosts(entries: list[tuple[str, str]]) -> str:
    return "127.0.0.1\tlocalhost\n" + "".join(f"{address}\t{name}\n" for address, name in entries)


# ---------------------------------------------------------------- status / exec

def status() -> dict:
    if not state_file().exists():
        return {"up": False, "inventory": None, "hosts": [], "stale_namespaces": lab_netns()}
    state = json.loads(state_file().read_text())
    hosts = []
    for entry in state["hosts"]:
        alive = Path(f"/proc/{entry['pid']}").exists()
        hosts.append({
            "name": entry["name"], "address": entry["address"], "zone": entry["zone"],
            "site": entry["site"], "databases": entry["databases"], "systemd": entry.get("systemd", False),
            "firewall": entry.get("firewall", False), "backup": entry.get("backup", False),
            "state": "running" if alive else "stopped",
        })
    return {"up": True, "inventory": state["inventory"], "subnet": state["subnet"],
            "ssh_config": str(lab_dir() / "ssh" / "config"), "backup": state.get("backup"), "mirror": state.get("mirror"), "hosts": hosts}


# ---------------------------------------------------------------- the metro link

LINK_TABLE = "mzops_link"


def link_rules(hosts: list[dict]) -> str:
    """nftables rules of the lab router for a cut metro link: nothing routed between the
    sites' networks, no frame between the sites' ports of the stretched segment, and the
    controller (which stands at the DR site when the primary site is cut off) reaches
    nothing at the primary site."""
    primary, dr = (str(topology.SITE_NETWORKS[s]) for s in ("primary", "dr"))
    ports = {site: [topology.service_port(h["name"]) for h in hosts if h["databases"] and h["site"] == site]
             for site in ("primary", "dr")}
    names = lambda items: "{ " + ", ".join(f'"{i}"' for i in items) + " }" if items else '{ "none" }'  # noqa: E731
    return f"""table inet {LINK_TABLE} {{
  chain forward {{ type filter hook forward priority -10; policy accept;
    ip saddr {primary} ip daddr {dr} drop
    ip saddr {dr} ip daddr {primary} drop
  }}
  chain output {{ type filter hook output priority -10; policy accept;
    ip daddr {primary} drop
  }}
}}
table bridge {LINK_TABLE} {{
  chain forward {{ type filter hook forward priority -10; policy accept;
    iifname {names(ports['primary'])} oifname {names(ports['dr'])} drop
    iifname {names(ports['dr'])} oifname {names(ports['primary'])} drop
  }}
  chain output {{ type filter hook output priority -10; policy accept;
    oifname {names(ports['primary'])} drop
  }}
}}
"""


def link(cut: bool, log=print) -> str:
    """Cut or mend the metro link between the lab's two sites (idempotent)."""
    require_root()
    state = _state()
    ctl = topology.CONTROL_NETNS
    for family in ("inet", "bridge"):
        _sh("ip", "netns", "exec", ctl, "nft", "delete", "table", family, LINK_TABLE, check=False)
    if cut:
        done = subprocess.run(["ip", "netns", "exec", ctl, "nft", "-f", "-"], input=link_rules(state["hosts"]),
                              text=True, capture_output=True)
        if done.returncode != 0:
            raise OperationFailed(f"lab link cut: nft refused the rules: {done.stderr.strip()}")
    said = "cut: the sites reach each other no more; the controller stands at the DR site" if cut else \
        "restored: the sites reach each other again"
    log(f"metro link {said}")
    return "cut" if cut else "up"


def run_as_server(site: str, args: list[str]) -> int:
    """mzops ARGS run as the lab's backup server of SITE (inside its network namespace,
    with its own MZOPS_HOME); its exit code."""
    if site not in lab_backup.SERVERS:
        raise InputError(f"--site: one of {', '.join(lab_backup.SERVERS)} (got {site!r})")
    require_root()
    if not state_file().exists():
        raise InputError("the lab is not up (run `mzops lab up --backup`)")
    if not json.loads(state_file().read_text()).get("backup"):
        raise InputError("the lab has no backup servers (run `mzops lab up --backup`)")
    argv, env = lab_backup.server_command(lab_dir(), site, args)
    return subprocess.run(argv, env=env).returncode


def _init_pid(unshare_pid: int) -> int | None:
    try:
        children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def exec_on(name: str, command: list[str], interactive: bool = True) -> int:
    """Run a command as root on a lab host, inside all its namespaces; return its exit code."""
    require_root()
    if not state_file().exists():
        raise InputError("the lab is not up (run `mzops lab up`)")
    state = json.loads(state_file().read_text())
    entry = next((h for h in state["hosts"] if h["name"] == name), None)
    if entry is None:
        known = ", ".join(h["name"] for h in state["hosts"])
        raise InputError(f"no lab host named {name!r} (lab hosts: {known})")
    if not command:
        raise InputError("no command given (mzops lab exec HOST -- CMD ...)")
    pid = _init_pid(entry["pid"])
    if pid is None:
        raise OperationFailed(f"lab host {name} is not running")
    argv = ["nsenter", "--target", str(pid), "--mount", "--uts", "--ipc", "--net", "--pid",
            "--root", "--wd", "--", *files.SETPRIV.split(), *command]
    env = {"PATH": files.HOST_PATH, "HOME": "/root", "LANG": "C.UTF-8",
           "TERM": os.environ.get("TERM", "dumb")}
    return subprocess.call(argv, env=env, stdin=None if interactive else subprocess.DEVNULL)
