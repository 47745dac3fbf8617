"""nftables for real: the lab firewall labfw1 stands between the primary site's user
zone (lab02) and core zone (lab01); a push of the zone policy lets SSH through and
drops the rest, as connections made from lab02 show."""

from __future__ import annotations

import json

import pytest

from mzops.connect.ssh import Target
from mzops.firewall.drivers import NftablesDriver
from napalm.base.exceptions import CommitError

pytestmark = pytest.mark.lab

FW, CLIENT, SERVER = "labfw1", "lab02", "lab01"
PROBE = """python3 - "$@" <<'PY'
import socket, sys
for port in sys.argv[2:]:
    try:
        socket.create_connection((sys.argv[1], int(port)), timeout=2).close()
        print(port, "open")
    except OSError as exc:
        print(port, type(exc).__name__)
PY"""


def reach(lab_session, ports: list[int], address: str) -> dict[int, str]:
    """What a connection from the user zone to the core host meets, per port."""
    proc = lab_session.run("lab", "exec", CLIENT, "--", "sh", "-c", PROBE, "probe", address, *map(str, ports))
    return {int(p): state for p, state in (line.split() for line in proc.stdout.split("\n") if line.strip())}


@pytest.fixture
def firewall(lab_session):
    status = lab_session.ensure_up()
    hosts = {h["name"]: h for h in status["hosts"]}
    lab_session.run("lab", "exec", FW, "--", "sh", "-c", "nft delete table inet mzops 2>/dev/null; true")
    # A second service on the core host, for the firewall to drop.
    lab_session.run("lab", "exec", SERVER, "--", "sh", "-c",
                    "if ! ss -ltn | grep -q ':8080 '; then nohup python3 -m http.server 8080 >/dev/null 2>&1 & fi; "
                    "for i in $(seq 100); do ss -ltn | grep -q ':8080 ' && break; sleep 0.1; done")
    yield status["inventory"], hosts
    lab_session.run("lab", "exec", FW, "--", "sh", "-c", "nft delete table inet mzops 2>/dev/null; true")


def test_push_lets_the_allowed_service_through_and_drops_the_rest(lab_session, firewall):
    inventory, hosts = firewall
    server = hosts[SERVER]["address"]
    assert reach(lab_session, [22, 8080], server) == {22: "open", 8080: "open"}   # no policy yet

    preview = lab_session.run("-i", inventory, "firewall", "push", "--limit", FW, "--json")
    assert json.loads(preview.stdout)["devices"][0]["status"] == "preview"
    assert reach(lab_session, [8080], server) == {8080: "open"}                   # a preview changes nothing

    pushed = lab_session.run("-i", inventory, "firewall", "push", "--limit", FW, "--apply", "--json")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert json.loads(pushed.stdout)["devices"][0]["status"] == "changed"
    assert reach(lab_session, [22, 8080], server) == {22: "open", 8080: "TimeoutError"}

    # Drift made by hand shows, and the next push removes it.
    lab_session.run("lab", "exec", FW, "--", "nft", "insert", "rule", "inet", "mzops", "forward",
                    "tcp", "dport", "8080", "accept", "comment", '"by-hand"')
    assert reach(lab_session, [8080], server) == {8080: "open"}
    drift = lab_session.run("-i", inventory, "firewall", "diff", "--limit", FW)
    assert drift.returncode == 1 and "by-hand" in drift.stdout
    assert lab_session.run("-i", inventory, "firewall", "push", "--limit", FW, "--apply").returncode == 0
    assert reach(lab_session, [22, 8080], server) == {22: "open", 8080: "TimeoutError"}

    audit = lab_session.run("-i", inventory, "audit", "run", "--limit", FW, "--format", "json")
    assert audit.returncode == 0, audit.stdout
    backups = lab_session.run("-i", inventory, "firewall", "history", FW, "--json")
    assert [v["reason"] for v in json.loads(backups.stdout)["versions"]][-2:] == ["before-push", "after-push"]


def test_a_ruleset_nft_refuses_changes_nothing(lab_session, firewall):
    inventory, hosts = firewall
    assert lab_session.run("-i", inventory, "firewall", "push", "--limit", FW, "--apply").returncode == 0
    ssh_config = f"{lab_session.home}/lab/ssh/config"
    target = Target(FW, hosts[FW]["address"], user="root", ssh_args=("-F", ssh_config))
    driver = NftablesDriver(hosts[FW]["address"], "root", optional_args={"target": target})
    driver.open()
    before = driver.get_config("running")["running"]
    broken = before.replace("elements = { 22 }", "elements = { 99999 }")
    assert broken != before
    driver.load_replace_candidate(config=broken)
    with pytest.raises(CommitError):
        driver.commit_config()
    assert driver.get_config("running")["running"] == before
    assert reach(lab_session, [22, 8080], hosts[SERVER]["address"]) == {22: "open", 8080: "TimeoutError"}
