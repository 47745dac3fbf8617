"""Database hardening against the lab's real PostgreSQL 15 and MariaDB 10.11: preview
announces restarts and changes nothing; apply fixes every applied rule (the audit
proves it); a second apply changes nothing; rollback restores files, catalogue and
audit exactly; a server that rejects its configuration is never reloaded or restarted
with it, and the run puts its files back."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import run_mzops
from mzops.compliance import catalogue
from test_db_audit_lab import HELPERS

pytestmark = pytest.mark.lab

HOST = "labdb2"
ASSETS = f"{HOST}-pg,{HOST}-mariadb"
CATALOGUES = {f: catalogue.load("mlps3", f) for f in ("postgresql", "mysql")}

# A server in need: the baselines' failing scenarios for every rule mzops remediates
# (TLS off with hostssl lines, md5 in pg_hba, a CREATEROLE role, roles without expiry,
# anonymous and remote root accounts, ...), then one restart.
NEEDY = HELPERS + "\n".join(
    f"( {r.scenarios.failing} )" for c in CATALOGUES.values() for r in c.baseline.rules if r.remediation.task
) + "\n/etc/init.d/postgresql restart >/dev/null && /etc/init.d/mariadb restart >/dev/null\n"

# Everything the database roles could change: files (type, mode, owner, sha256) and the
# server catalogue they change by SQL.
FINGERPRINT = r"""
roots="/etc/postgresql /etc/mysql /var/lib/mysql-files"
find $roots -xdev -printf '%y %m %U %G %p %l\n' 2>/dev/null | sort
find $roots -xdev -type f -exec sha256sum {} + 2>/dev/null | sort -k2
stat -c '%a %U %G %n' /var/lib/postgresql/15/main /var/lib/mysql
cd / && runuser -u postgres -- psql -XAtq -c "SELECT rolname, rolsuper, rolcreaterole, rolreplication, rolbypassrls,
  rolvaliduntil, (SELECT setconfig FROM pg_db_role_setting WHERE setrole = r.oid AND setdatabase = 0)
  FROM pg_roles r ORDER BY 1"
# locked or not (ACCOUNT UNLOCK writes "false" where the key was absent: the same state)
mariadb -NBe "SELECT user, host, coalesce(json_value(priv, '$.account_locked'), 0) IN ('true', '1')
  FROM mysql.global_priv ORDER BY 1, 2"
"""


def lab_exec(lab_session, script: str) -> subprocess.CompletedProcess:
    proc = lab_session.run("lab", "exec", HOST, "--", "sh", "-ec", script)
    assert proc.returncode == 0, proc.stderr[-800:]
    return proc


def fingerprint(lab_session) -> list[str]:
    return lab_exec(lab_session, FINGERPRINT).stdout.splitlines()


def audit(inventory: str) -> dict[str, dict[str, str]]:
    proc = run_mzops("-q", "-i", inventory, "audit", "run", "--limit", ASSETS, "--json")
    assert proc.returncode in (0, 1), proc.stderr
    return {t["name"]: {r["rule"]: r["status"] for r in t["results"]} for t in json.loads(proc.stdout)["targets"]}


@pytest.fixture
def needy(lab_session):
    status = lab_session.ensure_up()
    assert lab_session.run("lab", "reset", HOST).returncode == 0
    lab_exec(lab_session, NEEDY)
    yield status
    lab_session.run("lab", "reset", HOST)


def test_database_harden_preview_apply_idempotent_rollback(lab_session, needy, tmp_path):
    inv = needy["inventory"]
    home = tmp_path / "home"
    before, audit_before = fingerprint(lab_session), audit(inv)

    preview = run_mzops("-i", inv, "harden", "run", "--limit", ASSETS, "--restart", "--disruptive", home=home)
    assert preview.returncode == 0, preview.stderr
    assert "RESTART: the server will restart once" in preview.stdout
    assert fingerprint(lab_session) == before, "a preview changed the server"
    without = run_mzops("-i", inv, "harden", "run", "--limit", ASSETS, "--json", home=home)
    left_out = {h["name"]: h["left_out"] for h in json.loads(without.stdout)["hosts"]}
    assert "needs a server restart" in left_out[f"{HOST}-pg"]["pg.pgaudit_loaded"]

    applied = run_mzops("-i", inv, "harden", "run", "--limit", ASSETS, "--apply", "--restart", "--disruptive",
                        "--json", home=home)
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-2000:]
    record = json.loads(applied.stdout)
    for host in record["hosts"]:
        assert host["status"] == "applied", host["message"]
        assert not [r for r in host["rules"] if host["after"][r] != "pass"], host["after"]
        fixed = [r for r in host["rules"] if host["before"][r] == "fail"]
        assert len(fixed) >= 6, (host["name"], fixed)
    after = audit(inv)
    for name, rules in after.items():
        applied_rules = next(h["rules"] for h in record["hosts"] if h["name"] == name)
        assert all(rules[r] == "pass" for r in applied_rules)
    # the DR plans' replication account keeps REPLICATION (and only it) and its lack of expiry
    kept = lab_exec(lab_session, "cd / && runuser -u postgres -- psql -XAtq -c \"SELECT rolreplication, "
                    "rolcreaterole, rolvaliduntil IS NULL FROM pg_roles WHERE rolname = 'mzops_replication'\"")
    assert kept.stdout.strip() == "t|f|t", kept.stdout

    again = run_mzops("-i", inv, "harden", "run", "--limit", ASSETS, "--apply", "--restart", "--disruptive",
                      "--json", home=home)
    assert again.returncode == 0, again.stderr[-2000:]
    assert [h["counts"].get("changed", 0) for h in json.loads(again.stdout)["hosts"]] == [0, 0]

    back = run_mzops("-i", inv, "harden", "rollback", record["run_id"], "--json", home=home)
    assert back.returncode == 0, back.stdout[-2000:] + back.stderr[-2000:]
    result = json.loads(back.stdout)
    assert {h["status"] for h in result["hosts"]} == {"restored"}, result
    assert any(a.startswith("sql|") for h in result["hosts"] for a in h["actions"]), "catalogue changes put back"
    assert fingerprint(lab_session) == before, "rollback is not exact"
    assert audit(inv) == audit_before


LATENT = {
    # a setting the server would reject, written before the run but never loaded
    f"{HOST}-pg": "echo \"work_mem = 'lots'\" > /etc/postgresql/15/main/conf.d/50-latent.conf",
    f"{HOST}-mariadb": "printf '[mysqld]\\nno_such_option = 1\\n' > /etc/mysql/mariadb.conf.d/50-latent.cnf",
}


@pytest.mark.parametrize("asset", sorted(LATENT))
def test_a_configuration_the_server_rejects_is_never_loaded_and_the_files_go_back(lab_session, needy, asset,
                                                                                 tmp_path):
    lab_exec(lab_session, LATENT[asset])
    before = fingerprint(lab_session)
    proc = run_mzops("-i", needy["inventory"], "harden", "run", "--limit", asset, "--apply", "--restart",
                     "--json", home=tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    host = json.loads(proc.stdout)["hosts"][0]
    assert host["status"] == "failed" and "rejected" in host["message"], host["message"]
    assert fingerprint(lab_session) == before, "the failed run's files were not put back"
    # the server still runs its old configuration and answers
    assert audit(needy["inventory"])[asset]
