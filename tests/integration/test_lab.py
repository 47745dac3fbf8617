"""The lab of real SSH hosts: reachable, isolated, usable by Ansible, and gone after down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

from conftest import REPO, run_mzops
from mzops.connect import ansible

pytestmark = pytest.mark.lab

LAB_NET = "10.77.0.0/16"


def leftovers(home: Path) -> list[str]:
    """Everything a lab could leave behind: namespaces, route, processes, mounts, files."""
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {line.split()[0]}" for line in netns.splitlines() if line.startswith("mzl-")]
    route = subprocess.run(["ip", "route", "show", "type", "unreachable", LAB_NET],
                           capture_output=True, text=True).stdout
    if route.strip():
        found.append(f"route {route.strip()}")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (str(home) in cmdline or "10.77." in cmdline):
            found.append(f"process {proc.name}: {cmdline.strip()}")
    with open("/proc/self/mountinfo") as info:
        found += [f"mount {line.split()[4]}" for line in info if str(home) in line]
    lab = home / "lab"
    found += [f"file {lab / name}" for name in ("hosts", "cm", "ssh", "inventory", "state.json")
              if (lab / name).exists()]
    return found


def test_every_host_answers_over_ssh(lab):
    """testinfra's ssh backend, through the lab's ssh config (relay into the lab namespace)."""
    ssh_config = Path(lab["inventory"]).parent / "ssh" / "config"
    assert lab["hosts"] and all(h["state"] == "running" for h in lab["hosts"])
    for entry in lab["hosts"]:
        host = testinfra.get_host(f"ssh://{entry['name']}", ssh_config=str(ssh_config))
        assert host.check_output("hostname") == entry["name"]
        assert entry["address"] in host.check_output("ip -4 -o addr show dev eth0")
        assert host.file("/etc/os-release").contains("bookworm")
        assert host.process.filter(comm="sshd"), "sshd runs"
        assert host.user().name == "root"


def test_ansible_ping_through_ansible_runner(lab, tmp_path):
    result = ansible.run_module(tmp_path, lab["inventory"], "hosts", "ping")
    assert result.status == "successful", result.stdout.read()
    ok = {e["event_data"]["host"] for e in result.events if e["event"] == "runner_on_ok"}
    assert ok == {h["name"] for h in lab["hosts"] if not h.get("firewall") and not h.get("backup")}


def test_lab_inventory_is_an_mzops_estate(lab):
    proc = run_mzops("-i", lab["inventory"], "--json", "inventory", "list")
    assert proc.returncode == 0, proc.stderr
    assets = {a["name"]: a for a in json.loads(proc.stdout)}
    for entry in lab["hosts"]:
        if entry.get("backup"):             # the lab's backup servers: infrastructure, not assets
            assert entry["name"] not in assets
            continue
        asset = assets[entry["name"]]
        kind = "firewall" if entry.get("firewall") else "host"
        assert (asset["kind"], asset["zone"], asset["site"], asset["address"]) == \
            (kind, entry["zone"], entry["site"], entry["address"])
    assert run_mzops("-i", lab["inventory"], "inventory", "validate").returncode == 0
    # Hosts spread over zones and both sites.
    assert {h["site"] for h in lab["hosts"]} == {"primary", "dr"}
    assert len({h["zone"] for h in lab["hosts"]}) >= 2


def test_lab_exec_passes_exit_code(lab_session, lab):
    proc = lab_session.run("lab", "exec", "lab01", "--", "sh", "-c", "hostname; exit 7")
    assert proc.returncode == 7 and proc.stdout.strip() == "lab01"
    unknown = lab_session.run("lab", "exec", "lab99", "--", "true")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith("mzops: error: no lab host named 'lab99'")


def test_reset_restores_network_settings_too(lab_session, lab):
    """net.* sysctls live in the host's network namespace, which a reset keeps."""
    keys = "net.ipv4.ip_forward net.ipv4.conf.all.accept_redirects net.ipv4.conf.eth0.send_redirects"
    read = lambda: lab_session.run("lab", "exec", "lab03", "--", "sh", "-c", f"sysctl -n {keys}").stdout  # noqa: E731
    pristine = read()
    changed = lab_session.run("lab", "exec", "lab03", "--", "sysctl", "-qw", "net.ipv4.ip_forward=1",
                              "net.ipv4.conf.all.accept_redirects=0", "net.ipv4.conf.eth0.send_redirects=0")
    assert changed.returncode == 0 and read() != pristine
    assert lab_session.run("-q", "lab", "reset", "lab03").returncode == 0
    assert read() == pristine == "0\n1\n1\n"


def test_parallel_resets_keep_every_host_running(lab_session, lab):
    """Resets update the shared state file; in parallel they must not undo each other."""
    import concurrent.futures

    names = [h["name"] for h in lab["hosts"]]
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        codes = list(pool.map(lambda n: lab_session.run("-q", "lab", "reset", n).returncode, names))
    assert codes == [0] * len(names)
    status = json.loads(lab_session.run("lab", "status", "--json").stdout)
    assert [h["state"] for h in status["hosts"]] == ["running"] * len(names)
    for name in names:
        assert lab_session.run("lab", "exec", name, "--", "hostname").stdout.strip() == name


def test_isolation(lab_session, lab):
    """Nothing in the root namespace can reach the lab; hosts reach each other only."""
    address = lab["hosts"][0]["address"]
    route = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True)
    assert route.returncode != 0 and "No route to host" in route.stderr
    on_host = lambda *cmd: lab_session.run("lab", "exec", "lab01", "--", *cmd)  # noqa: E731
    assert "default" not in on_host("ip", "route").stdout
    dr_host = next(h for h in lab["hosts"] if h["site"] == "dr")
    assert on_host("ping", "-c1", "-W2", dr_host["address"]).returncode == 0, "sites are linked"
    # The shared kernel is off limits: sysctls outside net.* are read-only, and the
    # capabilities that act on the kernel (audit control above all) are gone.
    assert on_host("sh", "-c", "echo 1 > /proc/sys/kernel/sysrq").returncode != 0
    assert on_host("sysctl", "-w", "net.ipv4.ip_forward=1").returncode == 0
    bounding = int(next(line.split()[1] for line in on_host("cat", "/proc/self/status").stdout.splitlines()
                        if line.startswith("CapBnd:")), 16)
    for cap in (30, 21, 16, 25):  # audit_control, sys_admin, sys_module, sys_time
        assert not bounding & (1 << cap), cap


def test_hosts_install_packages_from_the_lab_mirror_only(lab_session, lab):
    """apt on a lab host reads the lab's signed mirror and nothing else, installs from it,
    and refuses an index whose signature does not verify."""
    on_host = lambda script: lab_session.run("lab", "exec", "lab01", "--", "sh", "-ec", script)  # noqa: E731
    try:
        sources = on_host("apt-get update -qq && apt-get indextargets --format '$(SITE)' | sort -u")
        assert sources.stdout.split() == ["http://10.77.250.1:80/debian"], sources.stdout + sources.stderr
        installed = on_host("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                            "--no-install-recommends auditd >/dev/null && dpkg-query -W -f '${Status}' auditd")
        assert installed.returncode == 0 and installed.stdout == "install ok installed", installed.stderr
        # without the lab mirror's key, apt refuses the mirror's indexes
        keyless = on_host("rm -rf /var/lib/apt/lists/*; : > /usr/share/keyrings/mzops-lab-mirror.gpg; "
                          "apt-get update 2>&1 || true")
        assert "NO_PUBKEY" in keyless.stdout or "not signed" in keyless.stdout, keyless.stdout[-800:]
    finally:
        lab_session.run("lab", "reset", "lab01")


def test_database_layer(lab_session):
    status = lab_session.ensure_up()
    db_hosts = [h for h in status["hosts"] if h["databases"]]
    assert [h["site"] for h in db_hosts] == ["primary", "dr"]
    for host in db_hosts:
        pg = lab_session.run("lab", "exec", host["name"], "--", "su", "postgres", "-c",
                             "psql -tAc 'show server_version'")
        assert pg.returncode == 0 and pg.stdout.startswith("15."), pg.stderr
        my = lab_session.run("lab", "exec", host["name"], "--", "mariadb", "-NBe", "select version()")
        assert my.returncode == 0 and "10.11" in my.stdout, my.stderr
    assets = json.loads(run_mzops("-i", status["inventory"], "--json", "inventory", "list",
                                  "--kind", "database").stdout)
    assert {a["db_engine"] for a in assets} == {"postgresql", "mariadb"}


def test_second_up_is_refused(lab_session, lab):
    proc = lab_session.run("lab", "up")
    assert proc.returncode == 2 and "already up" in proc.stderr


def test_without_root_one_clear_error(tmp_path):
    """A user namespace makes this process a real non-root user (euid 65534)."""
    proc = subprocess.run(
        ["unshare", "--user", sys.executable, "-m", "mzops", "lab", "up"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "MZOPS_HOME": str(tmp_path)},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "mzops: error: the lab needs root (network namespaces, mounts): run as root or with sudo"]


def test_down_leaves_nothing(lab_session, lab):
    home = lab_session.home
    assert leftovers(home), "the lab is up: the probe must see it"
    proc = lab_session.down()
    assert proc.returncode == 0, proc.stderr
    assert leftovers(home) == []
    status = json.loads(lab_session.run("lab", "status", "--json").stdout)
    assert status["up"] is False and status["hosts"] == []


def test_failed_up_leaves_nothing(lab_session, tmp_path):
    """An `up` that fails half-way (after the network exists) clears what it made."""
    lab_session.down()
    home = Path(str(lab_session.home) + "-broken")
    (home / "lab").mkdir(parents=True)
    (home / "lab" / "hosts").write_text("a file where the hosts folder must go")
    try:
        proc = run_mzops("lab", "up", "--hosts", "2", home=home)
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines()[-1].startswith("mzops: error:")
        assert leftovers(home) == []
    finally:
        run_mzops("lab", "down", home=home)
        subprocess.run(["rm", "-rf", str(home)])


def test_systemd_lab(lab_session, tmp_path):
    """`lab up --systemd`: systemd as PID 1 (systemd-nspawn), its own cgroup per host,
    services as units; down leaves no cgroup, namespace or process behind."""
    lab_session.down()
    home = Path(str(lab_session.home) + "-systemd")
    try:
        proc = run_mzops("-q", "lab", "up", "--hosts", "2", "--systemd", "--json", home=home)
        assert proc.returncode == 0, proc.stderr
        status = json.loads(proc.stdout)
        assert all(h["systemd"] and h["state"] == "running" for h in status["hosts"])
        name = status["hosts"][0]["name"]
        state = run_mzops("lab", "exec", name, "--", "systemctl", "is-system-running", home=home)
        assert state.stdout.strip() in ("running", "degraded")
        units = run_mzops("lab", "exec", name, "--", "systemctl", "is-active", "ssh", "cron", "rsyslog", home=home)
        assert units.stdout.split() == ["active", "active", "active"]
        caps = run_mzops("lab", "exec", name, "--", "grep", "CapBnd", "/proc/1/status", home=home).stdout
        assert not int(caps.split()[1], 16) & (1 << 30), "CAP_AUDIT_CONTROL dropped"
        ping = ansible.run_module(tmp_path, status["inventory"], "hosts", "ping")
        assert ping.status == "successful"
        cgroups = [p for p in Path("/sys/fs/cgroup").glob("*/mzops-lab/*") if p.is_dir()]
        assert {p.name for p in cgroups} >= {h["name"] for h in status["hosts"]}, "a cgroup per host"
    finally:
        assert run_mzops("lab", "down", home=home).returncode == 0
    assert leftovers(home) == []
    assert list(Path("/sys/fs/cgroup").glob("*/mzops-lab")) == []
    subprocess.run(["rm", "-rf", str(home)])
