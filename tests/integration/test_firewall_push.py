"""Firewall backup, drift, push, verify and rollback through the real CLI, against the
vendor simulators (tests/fwsim: SSH servers speaking each vendor's CLI) on loopback.

The estate is the sample inventory with its four vendor firewalls pointed at the
simulators; each simulator starts from a non-compliant configuration in the vendor's
own syntax (tests/fixtures/firewall/start/<vendor>.cfg).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mzops.firewall import delta, vendors
from conftest import SAMPLE_INVENTORY, run_mzops
from tests.fwsim.device import Device
from tests.fwsim.dialects import DIALECTS
from tests.fwsim.server import Simulators

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "firewall"
PASSWORD = "sim-Passw0rd!"
ENV = {"MZOPS_TEST_FW_PASSWORD": PASSWORD}
# The sample estate's CLI firewalls: name -> vendor.
FIREWALLS = {"fw-inet-01": "huawei_usg", "fw-core-01": "h3c_secpath", "fw-wan-01": "hillstone_stoneos",
             "fw-dr-01": "huawei_usg"}


class Estate:
    def __init__(self, root: Path, sims: Simulators):
        self.root, self.sims = root, sims
        self.inventory = root / "inventory"
        self.home = root / "home"
        self.devices: dict[str, Device] = {}
        self.ports: dict[str, int] = {}
        shutil.copytree(SAMPLE_INVENTORY, self.inventory)
        self.addresses = {name: f"127.0.0.{11 + i}" for i, name in enumerate(FIREWALLS)}   # one asset, one address
        for name, vendor in FIREWALLS.items():
            start = (FIXTURES / "start" / f"{vendor}.cfg").read_text()
            device = Device.from_text(DIALECTS[vendor], name, {"mzops": PASSWORD}, start)
            if name == "fw-dr-01":
                device.faults.hrp = "HRP_M"      # the master of a hot-standby pair
            self.devices[name] = device
            self.ports[name] = sims.add(device, host=self.addresses[name])
        doc = yaml.safe_load((self.inventory / "hosts.yml").read_text())
        firewalls = doc["all"]["children"]["firewalls"]["hosts"]
        for name in FIREWALLS:
            firewalls[name].update(ansible_host=self.addresses[name], ansible_port=self.ports[name], ansible_user="mzops",
                                   mzops_credentials={"cli": "env:MZOPS_TEST_FW_PASSWORD"})
        # The nftables firewall of the sample estate is not simulated: point it at a closed
        # loopback port, so that even a mistaken --limit sends nothing off this machine.
        firewalls["fw-smc-01"].update(ansible_host="127.0.0.10", ansible_port=9)
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump(doc, allow_unicode=True))

    def mzops(self, *args: str, env: dict | None = None):
        return run_mzops("-i", str(self.inventory), *args, env={**ENV, **(env or {})}, home=self.home)

    def set_host(self, name: str, **values) -> None:
        doc = yaml.safe_load((self.inventory / "hosts.yml").read_text())
        doc["all"]["children"]["firewalls"]["hosts"][name].update(values)
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump(doc, allow_unicode=True))


@pytest.fixture
def estate(tmp_path: Path):
    with Simulators() as sims:
        yield Estate(tmp_path, sims)


def by_name(proc) -> dict:
    return {d["name"]: d for d in json.loads(proc.stdout)["devices"]}


def same_config(vendor: str, a: str, b: str) -> bool:
    """B (the device now) equals A (its snapshot) in everything mzops manages: the models
    match and mzops has no command left to send to take B to A. A service switched on by the push and off again by the rollback shows
    as `undo X` where the snapshot said nothing: both are the default, off."""
    v = vendors.get(vendor)
    normal = lambda text: v.render(v.parse(text))  # noqa: E731

    def model(text: str):
        cfg = v.parse(text)
        for toggle in ("telnet", "ssh", "http", "https"):
            if getattr(cfg.management, toggle) is None:
                setattr(cfg.management, toggle, False)
        cfg.management.admins.sort(key=lambda a: a.name)
        return cfg.ruleset, cfg.management
    return model(a) == model(b) and delta.delta(normal(b), normal(a), v.syntax) == []


def test_preview_then_push_then_in_line(estate: Estate):
    before = {n: d.running() for n, d in estate.devices.items()}
    limit = "fw-inet-01,fw-core-01,fw-wan-01,fw-dr-01"
    preview = estate.mzops("firewall", "push", "--limit", limit, "--json")
    assert preview.returncode == 0, preview.stderr
    outcomes = by_name(preview)
    assert {o["status"] for o in outcomes.values()} == {"preview"}
    assert all(len(o["commands"]) > 10 for o in outcomes.values())
    assert "undo telnet server enable" in outcomes["fw-inet-01"]["commands"]
    assert {n: d.running() for n, d in estate.devices.items()} == before, "a preview changed a device"

    drift = estate.mzops("firewall", "diff", "--limit", limit)
    assert drift.returncode == 1 and "drift" in drift.stdout

    pushed = estate.mzops("firewall", "push", "--limit", limit, "--apply", "--json")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert {o["status"] for o in by_name(pushed).values()} == {"changed"}, pushed.stdout
    for name, device in estate.devices.items():
        assert device.startup == device.running(), f"{name}: pushed but not saved"

    again = estate.mzops("firewall", "diff", "--limit", limit, "--json")
    assert again.returncode == 0, again.stdout
    assert {o["status"] for o in by_name(again).values()} == {"unchanged"}

    # What the device now carries passes mzops's own firewall audit (register given).
    for name, vendor in FIREWALLS.items():
        saved = estate.root / f"{name}.cfg"
        saved.write_text(estate.devices[name].running())
        audit = estate.mzops("audit", "config", str(saved), "--vendor", vendor, "--format", "json")
        results = json.loads(audit.stdout)
        failed = [r["rule"] for t in results["targets"] for r in t["results"] if r["status"] == "fail"]
        assert failed == [], (name, failed)

    history = estate.mzops("firewall", "history", "fw-core-01", "--json")
    reasons = [v["reason"] for v in json.loads(history.stdout)["versions"]]
    assert reasons == ["before-push", "after-push"]
    diff = estate.mzops("firewall", "history", "fw-core-01", "--diff", "1", "--to", "2")
    assert diff.returncode == 0 and "+ password-control length 8" in diff.stdout
    assert "display current-configuration" not in diff.stdout


@pytest.mark.parametrize("name", ["fw-inet-01", "fw-core-01", "fw-wan-01", "fw-dr-01"])
def test_refused_command_mid_push_rolls_back_to_the_snapshot(estate: Estate, name: str):
    device = estate.devices[name]
    snapshot = device.running()
    desired = json.loads(estate.mzops("firewall", "push", "--limit", name, "--json").stdout)["devices"][0]["commands"]
    # Refuse a command two thirds of the way through: the first part has been applied.
    victim = desired[2 * len(desired) // 3]
    device.faults.fail_on = _literal(victim)
    sent_before = len(device.commands)

    proc = estate.mzops("firewall", "push", "--limit", name, "--apply", "--json")
    outcome = by_name(proc)[name]
    assert proc.returncode == 1
    assert outcome["status"] == "rolled back", outcome["detail"]
    assert victim in outcome["detail"]
    assert same_config(FIREWALLS[name], snapshot, device.running())
    # After the refusal the session went back to user view before anything else.
    dialect = DIALECTS[FIREWALLS[name]]
    sent = device.commands[sent_before:]
    after = sent[sent.index(victim) + 1:]
    first_show = next(i for i, c in enumerate(after) if c in dialect.show)
    assert dialect.leave_config in after[:first_show]


@pytest.mark.parametrize("name", ["fw-inet-01", "fw-core-01", "fw-wan-01"])
def test_connection_dropped_mid_push_rolls_back_in_a_new_session(estate: Estate, name: str):
    device = estate.devices[name]
    snapshot = device.running()
    device.faults.drop_after = 12
    sessions = device.sessions
    proc = estate.mzops("firewall", "push", "--limit", name, "--apply", "--json")
    outcome = by_name(proc)[name]
    assert proc.returncode == 1
    assert outcome["status"] == "rolled back", outcome["detail"]
    assert "connection lost" in outcome["detail"]
    assert device.sessions >= sessions + 2
    assert same_config(FIREWALLS[name], snapshot, device.running())


def test_bad_credentials_password_change_and_unreachable_are_per_device(estate: Estate):
    estate.devices["fw-inet-01"].users["mzops"] = "another"
    estate.devices["fw-dr-01"].faults.password_change = True
    estate.set_host("fw-wan-01", ansible_port=1)           # nothing listens there
    proc = estate.mzops("firewall", "push", "--limit", "fw-inet-01,fw-dr-01,fw-wan-01,fw-core-01", "--apply", "--json")
    outcomes = by_name(proc)
    assert outcomes["fw-inet-01"]["status"] == "unreachable"
    assert "authentication failed for mzops" in outcomes["fw-inet-01"]["detail"]
    assert outcomes["fw-dr-01"]["status"] == "unreachable"
    assert "password change" in outcomes["fw-dr-01"]["detail"]
    assert outcomes["fw-wan-01"]["status"] == "unreachable"
    assert outcomes["fw-core-01"]["status"] == "changed"     # the others went on
    assert proc.returncode == 3
    assert PASSWORD not in proc.stdout + proc.stderr


def test_save_and_history(estate: Estate):
    first = estate.mzops("firewall", "save", "--limit", "firewalls:!fw-smc-01")
    assert first.returncode == 0, first.stdout + first.stderr
    estate.devices["fw-wan-01"].config[0].text = "hostname renamed-by-hand"
    # the command's old name still works (schedulers' timers)
    second = estate.mzops("firewall", "backup", "--limit", "fw-wan-01", "--json")
    saved = Path(by_name(second)["fw-wan-01"]["snapshot"])
    assert saved.read_text() == estate.devices["fw-wan-01"].running()
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    listing = estate.mzops("firewall", "history", "fw-wan-01")
    assert listing.stdout.count("saved") == 2
    diff = estate.mzops("firewall", "history", "fw-wan-01", "--diff", "1")
    assert "+hostname renamed-by-hand" in diff.stdout
    bad = estate.mzops("firewall", "history", "fw-wan-01", "--diff", "7")
    assert bad.returncode == 2 and "versions 1..2" in bad.stderr


def test_unsupported_vendor_is_that_devices_error(estate: Estate):
    estate.set_host("fw-inet-01", mzops_fw_vendor="cisco_ftd")
    proc = estate.mzops("firewall", "save", "--limit", "fw-inet-01,fw-core-01", "--json")
    outcomes = by_name(proc)
    assert outcomes["fw-core-01"]["status"] == "saved"
    assert outcomes["fw-inet-01"]["status"] == "failed"
    assert "unsupported firewall vendor 'cisco_ftd'" in outcomes["fw-inet-01"]["detail"]


def test_napalm_finds_the_drivers_and_they_speak_the_napalm_interface(estate: Estate):
    import napalm

    driver_class = napalm.get_network_driver("h3c_secpath")
    with driver_class(estate.addresses["fw-core-01"], "mzops", PASSWORD, optional_args={"port": estate.ports["fw-core-01"]}) as dev:
        facts = dev.get_facts()
        assert facts["vendor"].startswith("H3C SecPath") and facts["hostname"] == "fw-core-legacy"
        running = dev.get_config(retrieve="running")["running"]
        assert "security-policy ip" in running
        dev.load_merge_candidate(config="#\n info-center loghost 10.99.0.9 facility local7\n#\nreturn\n")
        assert dev.compare_config() == "info-center loghost 10.99.0.9 facility local7"
        dev.commit_config()
        assert "info-center loghost 10.99.0.9" in estate.devices["fw-core-01"].running()
        dev.rollback()
        assert "10.99.0.9" not in estate.devices["fw-core-01"].running()


def test_a_napalm_core_driver_plugs_in_for_save(estate: Estate, tmp_path: Path):
    mocked = tmp_path / "mock"
    mocked.mkdir()
    (mocked / "get_config.1").write_text(json.dumps({"running": "system {\n host-name edge-1;\n}\n",
                                                     "startup": "", "candidate": ""}))
    estate.set_host("fw-inet-01", mzops_napalm_driver="mock", mzops_napalm_args={"path": str(mocked)})
    proc = estate.mzops("firewall", "save", "--limit", "fw-inet-01", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    saved = Path(by_name(proc)["fw-inet-01"]["snapshot"])
    assert "host-name edge-1;" in saved.read_text()
    push = estate.mzops("firewall", "push", "--limit", "fw-inet-01")
    assert push.returncode == 1 and "save and history only" in push.stdout


def _literal(command: str) -> str:
    import re
    return re.escape(command)


def test_audit_run_reads_firewalls_and_reports_them_with_the_rest(estate: Estate):
    limit = "fw-inet-01,fw-core-01,fw-wan-01,fw-dr-01"
    before = estate.mzops("audit", "run", "--limit", limit, "--format", "json")
    assert before.returncode == 1, before.stderr
    results = {t["name"]: t for t in json.loads(before.stdout)["targets"]}
    assert set(results) == set(FIREWALLS)
    for name, target in results.items():
        failed = {r["rule"] for r in target["results"] if r["status"] == "fail"}
        assert {"fw.telnet", "fw.no_any_permit"} <= failed, (name, failed)
    # Only the shared default account is unregistered; mzops (a registered service account) is not.
    admins = next(r for r in results["fw-inet-01"]["results"] if r["rule"] == "fw.admins")
    assert admins["status"] == "fail" and "admin" in admins["actual"] and "mzops" not in admins["actual"]
    sent = {n: len(d.commands) for n, d in estate.devices.items()}

    assert estate.mzops("firewall", "push", "--limit", limit, "--apply").returncode == 0
    estate.devices["fw-wan-01"].users["mzops"] = "changed-elsewhere"
    after = estate.mzops("audit", "run", "--limit", limit, "--format", "json")
    assert after.returncode == 3, after.stdout       # one firewall could not be read
    targets = {t["name"]: t for t in json.loads(after.stdout)["targets"]}
    assert targets["fw-wan-01"]["status"] == "unreachable"
    for name in ("fw-inet-01", "fw-core-01", "fw-dr-01"):
        failed = [r["rule"] for r in targets[name]["results"] if r["status"] == "fail"]
        assert failed == [], (name, failed)
    # Reading for the audit sent no configuration command.
    for name, device in estate.devices.items():
        assert DIALECTS[FIREWALLS[name]].enter_config not in device.commands[:sent[name]]


def test_one_push_at_a_time(estate: Estate, monkeypatch):
    from mzops.firewall import push

    monkeypatch.setenv("MZOPS_HOME", str(estate.home))
    with push.exclusive():
        proc = estate.mzops("firewall", "push", "--limit", "fw-core-01", "--apply")
    assert proc.returncode == 2 and "another mzops firewall push holds" in proc.stderr
    assert "password-control length 4" in estate.devices["fw-core-01"].running()     # untouched
    assert estate.mzops("firewall", "push", "--limit", "fw-core-01", "--apply").returncode == 0
