"""Text of the files the lab generates: boot script, PID 1, ssh config, inventory."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import yaml

from mzops.lab import topology
from mzops.lab.topology import LabHost

# Capabilities no lab host may use: they act on the shared kernel, not the host.
# CAP_AUDIT_CONTROL above all: audit rules are kernel-global (shared/notes/lab.md).
# CAP_SYS_ADMIN too, so a host cannot remount /proc/sys read-write.
DROPPED_CAPS = (
    "sys_module", "sys_time", "sys_rawio", "audit_control", "audit_read", "sys_boot",
    "mac_admin", "mac_override", "syslog", "wake_alarm", "block_suspend", "sys_admin",
    "sys_resource", "sys_pacct", "lease", "sys_tty_config",
)
SETPRIV = "setpriv --bounding-set " + ",".join("-" + c for c in DROPPED_CAPS)
INIT_PATH = "/usr/local/sbin/mzops-lab-init"
READY_FILE = "/run/mzops-lab-ready"
# How PID 1 starts each service (bookworm's rsyslog ships no init script).
BASE_SERVICES = ("/usr/sbin/rsyslogd", "/etc/init.d/ssh start", "/etc/init.d/cron start")
DB_SERVICES = ("/etc/init.d/postgresql start", "/etc/init.d/mariadb start")
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def boot_script(host: LabHost, lowers: list[Path], upper: Path, work: Path, root: Path) -> str:
    """Runs as PID 1 of the host's new PID and mount namespaces, then becomes its init.

    Every mount here lives only in the host's private mount namespace, so it vanishes
    with the host: `lab down` has nothing to unmount even after a failed `up`.
    """
    r = shlex.quote(str(root))
    lowerdir = ":".join(str(p) for p in lowers)
    devices = " ".join(("null", "zero", "full", "random", "urandom", "tty"))
    services = BASE_SERVICES + (DB_SERVICES if host.databases else ())
    return f"""#!/bin/sh
set -e
R={r}
mount -t overlay overlay -o lowerdir={lowerdir},upperdir={upper},workdir={work} "$R"
hostname {host.name}
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
# /proc/sys is read-only except net.*: kernel.* and vm.* are the machine's own.
mount --bind "$R/proc/sys" "$R/proc/sys"
mount --bind "$R/proc/sys/net" "$R/proc/sys/net"
mount -o remount,bind,ro,nosuid,nodev,noexec "$R/proc/sys"
if [ -e "$R/proc/sysrq-trigger" ]; then
  mount --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"
  mount -o remount,bind,ro "$R/proc/sysrq-trigger"
fi
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t tmpfs -o mode=755,nosuid,size=4m dev "$R/dev"
for d in {devices}; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"
mount -t tmpfs -o mode=755,nosuid,nodev run "$R/run"
exec env -i PATH={HOST_PATH} HOME=/root LANG=C.UTF-8 \\
  {SETPRIV} chroot "$R" {INIT_PATH} {' '.join(shlex.quote(s) for s in services)}
"""


CGROUP_ROOT = "mzops-lab"


def cgroup_dirs(host_name: str) -> list[str]:
    """This host's own cgroup in each hierarchy systemd-nspawn uses (hybrid or unified):
    without it nspawn files every host under the machine's root cgroup."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):  # pure cgroup v2
        return [f"/sys/fs/cgroup/{CGROUP_ROOT}/{host_name}"]
    return [f"/sys/fs/cgroup/{h}/{CGROUP_ROOT}/{host_name}" for h in ("systemd", "unified")
            if os.path.isdir(f"/sys/fs/cgroup/{h}")]


def systemd_boot_script(host: LabHost, lowers: list[Path], upper: Path, work: Path, root: Path,
                        nspawn: Path, libdir: Path) -> str:
    """Runs in the host's network namespace and a private mount namespace: mount the
    overlay, enter the host's own cgroup, then become systemd-nspawn booting systemd."""
    r = shlex.quote(str(root))
    lowerdir = ":".join(str(p) for p in lowers)
    cgroups = " ".join(shlex.quote(d) for d in cgroup_dirs(host.name))
    return f"""#!/bin/sh
set -e
mount -t overlay overlay -o lowerdir={lowerdir},upperdir={upper},workdir={work} {r}
for cg in {cgroups}; do mkdir -p "$cg"; echo $$ > "$cg/cgroup.procs"; done
exec env LD_LIBRARY_PATH={shlex.quote(str(libdir))} SYSTEMD_NSPAWN_TMPFS_TMP=0 \\
  {shlex.quote(str(nspawn))} --quiet --boot --directory={r} --machine={host.name} \\
  --register=no --keep-unit --capability=CAP_NET_ADMIN --drop-capability={",".join("CAP_" + c.upper() for c in ("audit_control", "sys_module", "sys_time", "sys_rawio", "sys_boot"))}
"""


# PID 1 of a lab host: start services by their init scripts, then reap orphans.
INIT_PROGRAM = f"""#!/usr/bin/python3
import os, shlex, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with open("/var/log/mzops-lab-init.log", "a") as log:
    for command in sys.argv[1:]:
        try:
            rc = subprocess.call(shlex.split(command), stdout=log, stderr=log)
        except OSError as exc:
            rc = exc
        log.write(f"{{command}}: exit {{rc}}\\n")
        log.flush()
with open("{READY_FILE}", "w") as ready:
    ready.write("ready\\n")
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(1)
"""


def ssh_config(hosts: list[LabHost], lab_dir: Path, from_server: bool = False) -> str:
    """Client config that reaches hosts only through the lab control namespace; or, for
    mzops run as a lab backup server (inside its namespace, on the lab network), directly,
    with control sockets of its own (a master of the control node's would carry its
    traffic through the relay instead)."""
    key = lab_dir / "ssh" / "id_ed25519"
    lines = []
    for host in hosts:
        lines += [f"Host {host.name}", f"  HostName {host.address}", ""]
    net = topology.SUBNET.network_address.exploded.rsplit(".", 2)[0]
    lines += [
        f"Host {' '.join(h.name for h in hosts)} {net}.*.*",
        "  User root",
        f'  IdentityFile "{key}"',
        "  IdentitiesOnly yes",
        f'  UserKnownHostsFile "{lab_dir / "ssh" / "known_hosts"}"',
        "  StrictHostKeyChecking yes",
        "  GlobalKnownHostsFile /dev/null",
        # The only way in from outside: a relay started inside the lab control namespace.
        *([] if from_server else [f"  ProxyCommand /usr/bin/nsenter --net=/run/netns/{topology.CONTROL_NETNS} "
                                  "/usr/bin/socat STDIO TCP:%h:%p"]),
        "  ControlMaster auto",
        f'  ControlPath "{lab_dir / ("cms" if from_server else "cm")}/%C"',
        "  ControlPersist 300",
        "  BatchMode yes",
        "  ConnectTimeout 10",
        "  ServerAliveInterval 15",
        "  LogLevel ERROR",
        "",
    ]
    return "\n".join(lines)


ZONE_NAMES = {
    "smc": ("Security management centre", "安全管理中心"),
    "user": ("User zone", "用户区"),
    "core": ("Core data exchange zone", "核心数据交换区"),
    "internet": ("Internet access zone", "互联网接入区"),
    "wan": ("WAN access zone", "广域网接入区"),
    "monitor": ("Monitoring and early-warning zone", "监测预警区"),
}
SITE_NAMES = {"primary": ("Lab primary site", "实验主站点"), "dr": ("Lab DR site", "实验灾备站点")}
# The servers a lab database host runs: engine -> (suffix of the asset's name, port).
LAB_DATABASES = {"postgresql": ("pg", 5432), "mariadb": ("mariadb", 3306)}


def inventory(hosts: list[LabHost], lab_dir: Path) -> dict[str, str]:
    """The lab as an mzops estate: relative path -> YAML text."""
    kinds: dict[str, dict] = {"hosts": {}, "databases": {}, "firewalls": {}}
    zones: dict[str, dict] = {}
    sites: dict[str, dict] = {}
    for host in hosts:
        if host.backup:
            continue                # the lab's backup servers: infrastructure, run as `mzops lab server`
        if host.firewall:
            kinds["firewalls"][host.name] = {"ansible_host": host.address, "mzops_platform": "debian-12",
                                             "mzops_fw_vendor": "nftables", "mzops_device_type": "linux"}
        else:
            kinds["hosts"][host.name] = {"ansible_host": host.address, "mzops_platform": "debian-12"}
        members = [host.name]
        if host.databases:
            for engine, (suffix, port) in LAB_DATABASES.items():
                name = f"{host.name}-{suffix}"
                kinds["databases"][name] = {
                    "ansible_host": host.address, "mzops_db_engine": engine,
                    "mzops_db_port": port, "mzops_db_server": host.name,
                }
                members.append(name)
        for name in members:
            zones.setdefault(f"zone_{host.zone}", {})[name] = None
            sites.setdefault(host.site, {})[name] = None
    children: dict[str, dict] = {
        "hosts": {"vars": {"mzops_kind": "host"}, "hosts": kinds["hosts"]},
    }
    if kinds["databases"]:
        children["databases"] = {"vars": {"mzops_kind": "database"}, "hosts": kinds["databases"]}
    if kinds["firewalls"]:
        children["firewalls"] = {"vars": {"mzops_kind": "firewall"}, "hosts": kinds["firewalls"]}
    for group, members in sorted(zones.items()):
        children[group] = {"vars": {"mzops_zone": group[len("zone_"):]}, "hosts": members}
    for site, members in sorted(sites.items()):
        children[site] = {"vars": {"mzops_site": site}, "hosts": members}
    doc = {"all": {
        "vars": {
            "ansible_user": "root",
            "ansible_ssh_args": f"-F {shlex.quote(str(lab_dir / 'ssh' / 'config'))}",
            "ansible_python_interpreter": "/usr/bin/python3",
        },
        "children": children,
    }}
    catalogue = {
        "mzops_zones": {z: {"name": n, "name_zh": zh} for z, (n, zh) in ZONE_NAMES.items()},
        "mzops_sites": {s: {"name": n, "name_zh": zh} for s, (n, zh) in SITE_NAMES.items()},
    }
    register = {
        "people": [{"id": "lab.admin", "name": "Lab administrator", "roles": ["sysadmin"]}],
        "accounts": [
            {"account": "root", "person": "lab.admin", "kind": "service", "assets": ["hosts", *(
                ["databases"] if kinds["databases"] else []), *(["firewalls"] if kinds["firewalls"] else [])]},
            *([{"account": "postgres", "person": "lab.admin", "kind": "service", "assets": ["databases"]},
               {"account": "mysql", "person": "lab.admin", "kind": "service", "assets": ["databases"]},
               # `mzops dr protect` creates it on both sides of the lab's PostgreSQL pair
               {"account": "mzops_replication", "person": "lab.admin", "kind": "service",
                "assets": ["databases"]},
               # the backups' login (rule pg.backup_account)
               {"account": "mzops_backup", "person": "lab.admin", "kind": "service", "assets": ["databases"]}]
              if kinds["databases"] else []),
        ],
    }
    header = "# Generated by `mzops lab up`; removed by `mzops lab down`.\n"
    dump = lambda data: header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)  # noqa: E731
    out = {
        "hosts.yml": dump(doc),
        "group_vars/all/estate.yml": dump(catalogue),
        "accounts.yml": dump(register),
    }
    firewall = next((h for h in hosts if h.firewall), None)
    if firewall is not None:
        out.update(_firewall_files(firewall, dump))
    return out


def _firewall_files(fw: LabHost, dump) -> dict[str, str]:
    """The lab firewall's zone policy: SSH from the user zone to the core zone, the rest
    denied and logged; and the baseline's site parameters (management from the lab)."""
    legs = {zone: (interface, seg) for zone, interface, seg, _ in fw.legs}
    policy = {
        "addresses": {f"{zone}-net": [str(seg.network)] for zone, (_, seg) in legs.items()},
        "services": {"ssh": {"protocol": "tcp", "ports": [22]}},
        "firewalls": {fw.name: {"zones": {zone: [interface] for zone, (interface, _) in legs.items()}}},
        "rules": [
            {"name": "user-ssh-to-core", "from": "user", "to": "core", "source": "user-net",
             "destination": "core-net", "service": "ssh", "action": "permit", "log": True},
            {"name": "deny-all", "from": "any", "to": "any", "action": "deny", "log": True},
        ],
    }
    params = {"mzops_baseline_params": {"fw_log_host": fw.segment.gateway, "fw_ntp_server": fw.segment.gateway,
                                        "fw_mgmt_sources": [str(topology.SUBNET)]}}
    return {"zone_policy.yml": dump(policy), "group_vars/firewalls.yml": dump(params)}
