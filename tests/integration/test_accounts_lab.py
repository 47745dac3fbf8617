"""Account hygiene on a real lab host and real PostgreSQL 15 / MariaDB 10.11: every kind
of problem seeded once is found exactly once, and nothing else is reported."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from conftest import run_mzops

pytestmark = pytest.mark.lab

HASH = "$6$labsalt$r4gN1xyfhs2XDBAk1eEtpfXTuXe3sd8taayEE.ziUXzIpYBbGOJVECsMersFe2d.mXpNxSVVxEGIArhnOs5dL1"
HOST, DB = "lab01", "labdb1"

SEED_HOST = f"""
useradd -M -o -u 0 -g 0 -s /bin/bash toor
useradd -m -s /bin/bash nopass && passwd -d nopass >/dev/null
useradd -M -o -u 1500 -s /bin/bash twin1 && useradd -M -o -u 1500 -s /bin/bash twin2
useradd -m -s /bin/bash -p '{HASH}' admin
useradd -m -s /bin/bash -p '{HASH}' ghost
useradd -m -s /bin/bash -p '{HASH}' -e 2020-01-01 oldie
useradd -m -s /bin/bash -p '{HASH}' contractor
useradd -m -s /bin/bash -p '{HASH}' sleepy && chage -d 2020-01-01 sleepy
useradd -m -s /bin/bash -p '{HASH}' bobadm && echo 'bobadm ALL=(ALL) ALL' > /etc/sudoers.d/bobadm && chmod 440 /etc/sudoers.d/bobadm
useradd -m -s /bin/bash -p '{HASH}' ops2
for ip in 10.20.1.5 10.20.1.6 10.20.1.7; do
  printf "[7] [01234] [ts/1] [ops2    ] [pts/1       ] [%s            ] [%s       ] [2026-11-20T10:00:00,000000+00:00]\\n" $ip $ip
done | utmpdump -r >> /var/log/wtmp 2>/dev/null
useradd -m -s /bin/bash appops && mkdir -p ~appops/.ssh && cat > ~appops/.ssh/authorized_keys
"""

RO_PASSWORD = "Ro-pw-2026-lab"
SEED_PG = f"""
CREATE ROLE mzops_ro LOGIN PASSWORD '{RO_PASSWORD}' IN ROLE pg_monitor;
CREATE ROLE stray LOGIN PASSWORD 'Stray-pw-2026';
CREATE ROLE olddba LOGIN PASSWORD 'Old-pw-2026' VALID UNTIL '2020-01-01';
CREATE ROLE auditor1 LOGIN SUPERUSER PASSWORD 'Aud-pw-2026';
"""

SEED_MY = f"""
CREATE USER mzops_ro@localhost IDENTIFIED BY '{RO_PASSWORD}';
GRANT SELECT ON mysql.* TO mzops_ro@localhost;
GRANT PROCESS ON *.* TO mzops_ro@localhost;
CREATE USER 'blank'@'localhost';
CREATE USER 'expd'@'localhost' IDENTIFIED BY 'Expd-pw-2026' PASSWORD EXPIRE;
CREATE USER 'rogue'@'localhost' IDENTIFIED BY 'Rogue-pw-2026';
CREATE USER 'appuser'@'%' IDENTIFIED BY 'App-pw-2026';
CREATE USER 'opsx'@'localhost' IDENTIFIED BY 'Opsx-pw-2026';
GRANT ALL ON *.* TO 'opsx'@'localhost' WITH GRANT OPTION;
"""

EXPECTED = {
    (HOST, "toor", "uid0"), (HOST, "nopass", "empty_password"), (HOST, "twin1,twin2", "shared"),
    (HOST, "admin", "shared"), (HOST, "appops", "shared"), (HOST, "ops2", "shared"),
    (HOST, "ghost", "unregistered"), (HOST, "oldie", "expired"), (HOST, "contractor", "expired"),
    (HOST, "sleepy", "dormant"), (HOST, "bobadm", "role_conflict"), (HOST, "gone", "register_stale"),
    ("register", "dave", "role_conflict"),
    (f"{DB}-pg", "stray", "unregistered"), (f"{DB}-pg", "olddba", "expired"), (f"{DB}-pg", "auditor1", "role_conflict"),
    (f"{DB}-mariadb", "blank", "empty_password"), (f"{DB}-mariadb", "expd", "expired"),
    (f"{DB}-mariadb", "rogue", "unregistered"), (f"{DB}-mariadb", "appuser", "shared"),
    (f"{DB}-mariadb", "opsx", "role_conflict"),
}


def register_for(lab_inventory: str) -> dict:
    reg = yaml.safe_load(open(f"{lab_inventory}/accounts.yml"))
    reg["people"] += [
        {"id": "alice", "name": "Alice", "roles": ["sysadmin"]},
        {"id": "bob", "name": "Bob", "roles": ["auditadmin"]},
        {"id": "dave", "name": "Dave", "roles": ["sysadmin", "secadmin"]},
        {"id": "erin", "name": "Erin", "roles": [], "valid_until": "2020-01-01"},
        {"id": "grace", "name": "Grace", "roles": []},
    ]
    personal = lambda acct, person, assets, **kw: {"account": acct, "person": person, "kind": "personal",  # noqa: E731
                                                   "assets": assets, **kw}
    service = lambda acct, assets: {"account": acct, "person": "lab.admin", "kind": "service", "assets": assets}  # noqa: E731
    reg["accounts"] += [
        service("toor", [HOST]), personal("nopass", "grace", [HOST]),
        personal("twin1", "alice", [HOST]), personal("twin2", "grace", [HOST]),
        service("admin", [HOST]), personal("oldie", "grace", [HOST]), personal("contractor", "erin", [HOST]),
        personal("sleepy", "grace", [HOST]), personal("bobadm", "bob", [HOST], role="auditadmin"),
        personal("ops2", "grace", [HOST]), personal("appops", "alice", [HOST]), personal("gone", "grace", [HOST]),
        personal("olddba", "grace", [f"{DB}-pg"]), personal("auditor1", "bob", [f"{DB}-pg"], role="auditadmin"),
        personal("blank", "grace", [f"{DB}-mariadb"]), personal("expd", "grace", [f"{DB}-mariadb"]),
        service("appuser", [f"{DB}-mariadb"]), personal("opsx", "dave", [f"{DB}-mariadb"], role="secadmin"),
        service("mzops_ro", ["databases"]),
    ]
    return reg


@pytest.fixture(scope="module")
def seeded(lab_session, tmp_path_factory):
    status = lab_session.ensure_up()
    assert lab_session.run("lab", "reset", HOST, DB).returncode == 0
    tmp = tmp_path_factory.mktemp("keys")
    pubs = ""
    for who in ("alice@ws-01", "bob@ws-02"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(tmp / who)], check=True)
        pubs += (tmp / f"{who}.pub").read_text()
    proc = run_mzops("lab", "exec", HOST, "--", "sh", "-ec", SEED_HOST, home=lab_session.home, input=pubs)
    assert proc.returncode == 0, proc.stderr
    proc = run_mzops("lab", "exec", DB, "--", "runuser", "-u", "postgres", "--", "psql", "-Xq", "-v", "ON_ERROR_STOP=1",
                     "-c", SEED_PG, home=lab_session.home)
    assert proc.returncode == 0, proc.stderr
    proc = run_mzops("lab", "exec", DB, "--", "mariadb", "-e", SEED_MY, home=lab_session.home)
    assert proc.returncode == 0, proc.stderr
    inv = tmp_path_factory.mktemp("inv") / "inventory"
    shutil.copytree(status["inventory"], inv)
    (inv / "accounts.yml").write_text(yaml.safe_dump(register_for(status["inventory"])))
    yield inv
    lab_session.run("lab", "reset", HOST, DB)


def test_each_seeded_problem_found_exactly_once(seeded):
    proc = run_mzops("-q", "-i", str(seeded), "accounts", "check", "--limit", f"{HOST},{DB}*", "--json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    found = [(f["asset"], f["account"], f["kind"]) for f in data["findings"]]
    assert len(found) == len(set(found)), "a problem reported twice"
    assert set(found) == EXPECTED
    for finding in data["findings"]:
        assert finding["evidence"] and finding["severity"] and finding["detail"]
    by_key = {(f["asset"], f["account"], f["kind"]): f for f in data["findings"]}
    assert any("alice" in e for e in by_key[(HOST, "appops", "shared")]["evidence"])
    assert "3 addresses" in by_key[(HOST, "ops2", "shared")]["detail"]
    assert "may connect from any client host" in by_key[(f"{DB}-mariadb", "appuser", "shared")]["detail"]
    assert all(a["status"] == "assessed" for a in data["assets"])


def test_databases_over_their_own_protocol(seeded, tmp_path):
    """Read-only logins over PostgreSQL/MariaDB protocols, tunnelled through the server
    host, find the same problems as the server host's own round trip."""
    inv = tmp_path / "inventory"
    shutil.copytree(seeded, inv)
    doc = yaml.safe_load((inv / "hosts.yml").read_text())
    for name in (f"{DB}-pg", f"{DB}-mariadb"):
        doc["all"]["children"]["databases"]["hosts"][name].update(
            {"mzops_db_user": "mzops_ro", "mzops_credentials": {"db": "env:MZ_TEST_DB_RO"}})
    (inv / "hosts.yml").write_text(yaml.safe_dump(doc))
    proc = run_mzops("-q", "-i", str(inv), "accounts", "check", "--limit", f"{DB}*", "--json",
                     env={"MZ_TEST_DB_RO": RO_PASSWORD})
    assert proc.returncode == 1, proc.stderr
    found = {(f["asset"], f["account"], f["kind"]) for f in json.loads(proc.stdout)["findings"]}
    assert found == {k for k in EXPECTED if k[0].startswith(DB)} | {k for k in EXPECTED if k[0] == "register"}
    assert RO_PASSWORD not in proc.stdout + proc.stderr
    wrong = run_mzops("-q", "-i", str(inv), "accounts", "check", "--limit", f"{DB}*", "--json",
                      env={"MZ_TEST_DB_RO": "not-the-password"})
    assert wrong.returncode == 1     # a refused login is a failure a person must fix, not "unreachable"
    assets = {a["name"]: a for a in json.loads(wrong.stdout)["assets"]}
    assert assets[f"{DB}-pg"]["status"] == "error" and "password authentication failed" in assets[f"{DB}-pg"]["message"]
    assert assets[f"{DB}-mariadb"]["status"] == "error" and "Access denied" in assets[f"{DB}-mariadb"]["message"]
    assert assets[DB]["status"] == "assessed", "the host is still checked"


def test_clean_lab_gives_no_findings(lab_session, lab):
    others = [h["name"] for h in lab["hosts"] if h["name"] not in (HOST, DB) and not h.get("backup")]
    proc = run_mzops("-q", "-i", lab["inventory"], "accounts", "check", "--limit", ",".join(others + ["labdb2*"]), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["findings"] == []
    assert {a["name"] for a in data["assets"]} >= {"labdb2", "labdb2-pg", "labdb2-mariadb"}


def test_html_report_and_broken_register(seeded, tmp_path):
    out = tmp_path / "accounts.html"
    proc = run_mzops("-q", "-i", str(seeded), "accounts", "check", "--limit", HOST, "-f", "html", "-o", str(out))
    assert proc.returncode == 1
    html = out.read_text()
    assert "共享账户 / shared" in html and "twin1,twin2" in html and "<script" not in html
    broken = tmp_path / "accounts.yml"
    broken.write_text((seeded / "accounts.yml").read_text().replace("person: grace", "person: gracie", 1))
    proc = run_mzops("-i", str(seeded), "accounts", "check", "--register", str(broken))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"mzops: error: {broken}:") and "unknown person 'gracie'" in proc.stderr


def test_lock_preview_then_fix_expired(seeded, lab_session):
    shadow = lambda: run_mzops("lab", "exec", HOST, "--", "grep", "^oldie:", "/etc/shadow",  # noqa: E731
                               home=lab_session.home).stdout
    before = shadow()
    preview = run_mzops("-i", str(seeded), "accounts", "lock", "--fix", "expired", "--limit", f"{HOST},{DB}*", "--json")
    assert preview.returncode == 0, preview.stderr
    planned = {(p["asset"], p["account"]): p for p in json.loads(preview.stdout)["locks"]}
    expired = {(a, acct) for a, acct, kind in EXPECTED if kind == "expired"}
    assert set(planned) == expired
    assert all(p["result"] == "planned" for p in planned.values())
    assert planned[(f"{DB}-pg", "olddba")]["command"][-1] == 'ALTER ROLE "olddba" NOLOGIN'
    assert "ALTER USER 'expd'@'localhost' ACCOUNT LOCK" in planned[(f"{DB}-mariadb", "expd")]["command"][-1]
    assert shadow() == before, "a preview changes nothing"

    applied = run_mzops("-i", str(seeded), "accounts", "lock", "--fix", "expired", "--limit", f"{HOST},{DB}*",
                        "--apply", "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert all(p["result"] == "locked" for p in json.loads(applied.stdout)["locks"])
    assert shadow().split(":")[1].startswith("!"), "locked, not deleted"
    check = run_mzops("-q", "-i", str(seeded), "accounts", "check", "--limit", f"{HOST},{DB}*", "--json")
    kinds = {(f["asset"], f["account"], f["kind"]) for f in json.loads(check.stdout)["findings"]}
    assert kinds == EXPECTED - {k for k in EXPECTED if k[2] == "expired"}
    again = run_mzops("-i", str(seeded), "accounts", "lock", "oldie", "--asset", HOST, "--apply", "--json")
    assert json.loads(again.stdout)["locks"][0]["result"] == "unchanged"


def test_lock_refuses_the_automation_account_and_unknown_accounts(seeded):
    proc = run_mzops("-i", str(seeded), "accounts", "lock", "root", "--asset", HOST, "--apply")
    assert proc.returncode == 2 and "locking it would lock mzops out" in proc.stderr
    proc = run_mzops("-i", str(seeded), "accounts", "lock", "nosuchuser", "--asset", HOST)
    assert proc.returncode == 2 and "no account 'nosuchuser'" in proc.stderr
