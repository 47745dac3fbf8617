"""Database baselines against the lab's real PostgreSQL 15 and MariaDB 10.11: every rule
seen passing on one server and failing on another; the read-only protocol path; a
stopped server, a wrong password and an unreachable server reported per asset."""

from __future__ import annotations

import json

import pytest

from conftest import run_mzops
from mzops.compliance import catalogue

pytestmark = pytest.mark.lab

CATALOGUES = {f: catalogue.load("mlps3", f) for f in ("postgresql", "mysql")}
SUFFIX = {"postgresql": "pg", "mysql": "mariadb"}
LAB_RULES = [(family, r) for family, c in CATALOGUES.items() for r in c.baseline.rules if r.scenarios.lab]
PASS_HOST, FAIL_HOST = "labdb1", "labdb2"

# The helpers the baselines' scenarios use (see the comments at the top of each file).
HELPERS = r"""
pg() { ( cd / && runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -c "$1" ) >/dev/null; }
pgconf() { echo "$2" > /etc/postgresql/15/main/conf.d/$1.conf; }
hba() { echo "$1" >> /etc/postgresql/15/main/pg_hba.conf; }
my() { mariadb -e "$1"; }
mycnf() {
  f=/etc/mysql/mariadb.conf.d/$1.cnf; shift
  printf '[mariadbd]\n' > "$f"; for line in "$@"; do echo "$line" >> "$f"; done
}
mytls() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=labdb -keyout /etc/mysql/lab-key.pem \
    -out /etc/mysql/lab-cert.pem 2>/dev/null && chown mysql /etc/mysql/lab-key.pem
  mycnf 10-tls 'ssl_cert = /etc/mysql/lab-cert.pem' 'ssl_key = /etc/mysql/lab-key.pem'
}
"""
RESTART = "/etc/init.d/postgresql restart >/dev/null && /etc/init.d/mariadb restart >/dev/null"


def scenario_script(key: str) -> str:
    steps = [f"echo 'scenario {rule.id}' >&2\n( {getattr(rule.scenarios, key)} )" for _, rule in LAB_RULES]
    return HELPERS + "\n".join(steps) + "\necho 'restart' >&2\n" + RESTART


@pytest.fixture(scope="module")
def db_run(lab_session, tmp_path_factory):
    status = lab_session.ensure_up()
    assert lab_session.run("lab", "reset", PASS_HOST, FAIL_HOST).returncode == 0
    for host, key in ((PASS_HOST, "passing"), (FAIL_HOST, "failing")):
        proc = lab_session.run("lab", "exec", host, "--", "sh", "-ec", scenario_script(key))
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        assert proc.returncode == 0, f"{key} scenarios on {host} stopped: {last}: {proc.stderr[-800:]}"
    facts = tmp_path_factory.mktemp("dbfacts")
    limit = ",".join(f"{h}-{s}" for h in (PASS_HOST, FAIL_HOST) for s in SUFFIX.values())
    proc = run_mzops("-q", "-i", status["inventory"], "audit", "run", "--limit", limit, "--json",
                     "--save-facts", str(facts))
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    yield {t["name"]: t for t in data["targets"]}, facts, status
    lab_session.run("lab", "reset", PASS_HOST, FAIL_HOST)


@pytest.mark.parametrize("family,rule", LAB_RULES, ids=lambda x: getattr(x, "id", ""))
def test_rule_passes_and_fails_on_real_servers(db_run, family, rule):
    targets, _, _ = db_run
    passed = {r["rule"]: r for r in targets[f"{PASS_HOST}-{SUFFIX[family]}"]["results"]}[rule.id]
    failed = {r["rule"]: r for r in targets[f"{FAIL_HOST}-{SUFFIX[family]}"]["results"]}[rule.id]
    assert passed["status"] == "pass", (passed["actual"], passed["evidence"])
    assert failed["status"] == rule.scenarios.fail_status, (failed["actual"], failed["evidence"])
    assert failed["evidence"], "every finding carries evidence"


def test_databases_are_assessed_as_their_flavour(db_run):
    targets, _, _ = db_run
    for host in (PASS_HOST, FAIL_HOST):
        assert targets[f"{host}-pg"]["kind"] == "database" and targets[f"{host}-pg"]["platform"] == "postgresql"
        assert targets[f"{host}-mariadb"]["platform"] == "mariadb"
        assert {r["rule"].split(".")[0] for r in targets[f"{host}-pg"]["results"]} == {"pg"}


def test_evidence_names_the_file_and_line(db_run):
    targets, _, _ = db_run
    ssl = {r["rule"]: r for r in targets[f"{FAIL_HOST}-pg"]["results"]}["pg.ssl"]
    assert any("/etc/postgresql/15/main/conf.d/10-ssl.conf:1" in e for e in ssl["evidence"]), ssl["evidence"]
    hba = {r["rule"]: r for r in targets[f"{FAIL_HOST}-pg"]["results"]}["pg.hba_methods"]
    assert any(e.startswith("pg_hba.conf line ") and e.endswith(" md5") for e in hba["evidence"]), hba["evidence"]


def test_saved_facts_evaluate_offline_to_the_same_result(db_run):
    targets, facts, status = db_run
    proc = run_mzops("-i", status["inventory"], "audit", "evaluate", str(facts), "--json")
    assert proc.returncode == 1, proc.stderr
    offline = {t["name"]: {r["rule"]: r["status"] for r in t["results"]} for t in json.loads(proc.stdout)["targets"]}
    assert offline == {n: {r["rule"]: r["status"] for r in t["results"]} for n, t in targets.items()}


READONLY_SETUP = """
( cd / && runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 ) <<'SQL'
SET password_encryption = 'scram-sha-256';
CREATE ROLE mzops_audit LOGIN PASSWORD 'Audit-pass-2026' VALID UNTIL '2027-01-01';
GRANT pg_read_all_settings, pg_read_all_stats TO mzops_audit;
GRANT SELECT ON pg_hba_file_rules TO mzops_audit;
GRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO mzops_audit;
GRANT SELECT ON pg_ident_file_mappings TO mzops_audit;
GRANT EXECUTE ON FUNCTION pg_ident_file_mappings() TO mzops_audit;
SQL
mariadb -e "CREATE USER mzops_audit@'127.0.0.1' IDENTIFIED BY 'Audit-pass-2026';
  GRANT SELECT ON mysql.* TO mzops_audit@'127.0.0.1'; GRANT SHOW DATABASES ON *.* TO mzops_audit@'127.0.0.1'"
"""


def _inventory_with(lab_inventory: str, target, databases: dict, hosts: dict | None = None):
    import shutil

    import yaml

    shutil.copytree(lab_inventory, target)
    doc = yaml.safe_load((target / "hosts.yml").read_text())
    children = doc["all"]["children"]
    children["databases"]["hosts"].update(databases)
    children["hosts"]["hosts"].update(hosts or {})
    for name in [*databases, *(hosts or {})]:
        children["zone_core"]["hosts"][name] = None
        children["primary"]["hosts"][name] = None
    (target / "hosts.yml").write_text(yaml.safe_dump(doc))
    return target


def test_read_only_login_over_the_protocol(db_run, lab_session, tmp_path):
    """A `db` credential: SQL through an SSH tunnel with a read-only login gives the same
    results as the host path, except what only the server host or superuser can see;
    with TLS on the server (pass host) and without (fail host: MariaDB has none)."""
    targets, _, status = db_run
    databases = {}
    for host in (PASS_HOST, FAIL_HOST):
        assert lab_session.run("lab", "exec", host, "--", "sh", "-ec", READONLY_SETUP).returncode == 0
        common = {"ansible_host": host, "mzops_db_server": host, "mzops_db_user": "mzops_audit",
                  "mzops_credentials": {"db": "env:MZT_DB_PASSWORD"}}
        databases[f"ro-{host}-pg"] = {**common, "mzops_db_engine": "postgresql", "mzops_db_port": 5432}
        databases[f"ro-{host}-mariadb"] = {**common, "mzops_db_engine": "mariadb", "mzops_db_port": 3306}
    inv = _inventory_with(status["inventory"], tmp_path / "inv", databases)
    proc = run_mzops("-q", "-i", str(inv), "audit", "run", "--limit", "ro-*", "--json",
                     env={"MZT_DB_PASSWORD": "Audit-pass-2026"})
    got = {t["name"]: t for t in json.loads(proc.stdout)["targets"]}
    assert proc.returncode == 1, {n: t["message"] for n, t in got.items()}
    for name, target in got.items():
        assert target["status"] == "assessed", (name, target["message"])
        expected = {r["rule"]: r["status"] for r in targets[name[3:]]["results"]}
        for result in target["results"]:
            if result["rule"] in ("pg.password_hashes", "my.data_dir_mode"):
                # pg_authid needs a superuser; MariaDB does not report its data directory's mode
                assert result["status"] == "manual", result
            else:
                assert result["status"] == expected[result["rule"]], (name, result)
    # The data directory's mode comes from PostgreSQL itself over the protocol.
    ro_pg = {r["rule"]: r for r in got[f"ro-{PASS_HOST}-pg"]["results"]}
    assert ro_pg["pg.data_dir_mode"]["evidence"][0].startswith("pg_settings: data_directory_mode")
    assert "Audit-pass-2026" not in proc.stdout + proc.stderr


def test_failures_are_reported_per_database_and_the_run_goes_on(db_run, lab_session, tmp_path):
    _, _, status = db_run
    assert lab_session.run("lab", "exec", FAIL_HOST, "--", "/etc/init.d/mariadb", "stop").returncode == 0
    inv = _inventory_with(status["inventory"], tmp_path / "inv", {
        "wrongpw-pg": {"ansible_host": PASS_HOST, "mzops_db_server": PASS_HOST, "mzops_db_engine": "postgresql",
                       "mzops_db_port": 5432, "mzops_db_user": "postgres", "mzops_credentials": {"db": "env:MZT_WRONG"}},
        "ghost-pg": {"ansible_host": "ghost", "mzops_db_server": "ghost", "mzops_db_engine": "postgresql",
                     "mzops_db_port": 5432},
        "dm-1": {"ansible_host": PASS_HOST, "mzops_db_server": PASS_HOST, "mzops_db_engine": "dm",
                 "mzops_db_port": 5236},
    }, hosts={"ghost": {"ansible_host": "10.77.3.250", "mzops_platform": "debian-12"}})
    proc = run_mzops("-i", str(inv), "audit", "run", "--json", "--limit", "databases",
                     env={"MZT_WRONG": "not-the-password"})
    assert proc.returncode == 1, proc.stderr     # failures (and findings) win over the unreachable ghost
    found = {t["name"]: t for t in json.loads(proc.stdout)["targets"]}
    assert found["wrongpw-pg"]["status"] == "error" and "password authentication failed" in found["wrongpw-pg"]["message"]
    assert found["ghost-pg"]["status"] == "unreachable"
    assert found[f"{FAIL_HOST}-mariadb"]["status"] == "error" and "did not answer" in found[f"{FAIL_HOST}-mariadb"]["message"]
    assert found["dm-1"]["status"] == "error" and "no baseline yet" in found["dm-1"]["message"]
    for name in (f"{PASS_HOST}-pg", f"{PASS_HOST}-mariadb", f"{FAIL_HOST}-pg"):
        assert found[name]["status"] == "assessed" and found[name]["results"], name
    assert "not-the-password" not in proc.stdout + proc.stderr
    lab_session.run("lab", "exec", FAIL_HOST, "--", "/etc/init.d/mariadb", "start")
