"""The estate inventory: the sample loads clean; each kind of bad input is refused."""

import json
import re

import pytest

from conftest import REPO, SAMPLE_INVENTORY, run_mzops
from mzops.errors import InputError
from mzops.inventory import loader, validate


def test_sample_estate_is_valid_and_complete():
    estate = loader.load(SAMPLE_INVENTORY)
    assert validate.estate_problems(estate) == []
    assert len(estate.assets) >= 20
    assert {a.zone for a in estate.assets.values()} == set(estate.zones) == {
        "smc", "user", "core", "internet", "wan", "monitor"}
    assert {a.site for a in estate.assets.values()} == {"primary", "dr"}
    assert {a.kind for a in estate.assets.values()} == {"host", "database", "firewall"}
    vendors = {a.fw_vendor for a in estate.select(kind="firewall")}
    assert {"huawei_usg", "h3c_secpath", "hillstone_stoneos", "nftables"} <= vendors
    pg = estate.assets["core-pg-01"]
    assert (pg.db_engine, pg.db_port, pg.db_server) == ("postgresql", 5432, "core-db-01")
    assert estate.where("core-pg-01").startswith(str(SAMPLE_INVENTORY / "hosts.yml") + ":")


def test_plain_ansible_reads_the_sample_unchanged():
    """The repository's ansible.cfg keeps mzops data files out of Ansible's way."""
    import subprocess
    import sys
    from pathlib import Path

    ansible_inventory = Path(sys.executable).parent / "ansible-inventory"
    proc = subprocess.run([str(ansible_inventory), "--list"], cwd=SAMPLE_INVENTORY.parent,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr
    data = json.loads(proc.stdout)
    assert set(data["databases"]["hosts"]) == {"core-pg-01", "core-mysql-01", "dr-pg-01"}
    assert data["_meta"]["hostvars"]["fw-wan-01"]["mzops_device_type"] == "hillstone_stoneos"


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def line_of(path, needle):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def problems(inv):
    return validate.estate_problems(loader.load(inv))


def test_unknown_zone(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "mon-probe-01:   {ansible_host: 10.10.6.11, mzops_platform: ubuntu-22.04}",
         "mon-probe-01:   {ansible_host: 10.10.6.11, mzops_platform: ubuntu-22.04, mzops_zone: dmz}")
    assert problems(sample_inventory) == [
        f"{hosts}:{line_of(hosts, 'mon-probe-01:   {')}: mon-probe-01.mzops_zone: "
        "unknown zone 'dmz' (one of: smc, user, core, internet, wan, monitor)"]


def test_unknown_site_and_kind(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "vars: {mzops_site: dr}", "vars: {mzops_site: backup-site}")
    edit(hosts, "mzops_kind: firewall", "mzops_kind: router")
    found = problems(sample_inventory)
    assert any(re.search(r"dr-app-01\.mzops_site: unknown site 'backup-site'", p) for p in found)
    assert any(re.search(r"fw-inet-01\.mzops_kind: unknown kind 'router'", p) for p in found)


def test_asset_without_zone(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "hosts: {mon-probe-01: }", "hosts: {}")
    assert any("mon-probe-01.mzops_zone: missing zone" in p for p in problems(sample_inventory))


def test_duplicate_asset_key_names_both_lines(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "        user-app-02:", "        user-app-01:    {ansible_host: 10.10.2.99, mzops_platform: uos-20}\n        user-app-02:")
    with pytest.raises(InputError) as err:
        loader.load(sample_inventory)
    first = line_of(hosts, "user-app-01:")
    assert str(err.value) == (f"{hosts}:{first + 1}: all.children.hosts.hosts.user-app-01: "
                              f"duplicate key (first defined on line {first})")


def test_duplicate_address_and_case_folded_name(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "user-app-02:    {ansible_host: 10.10.2.12", "USER-APP-01:    {ansible_host: 10.10.2.11")
    edit(hosts, "hosts: {user-app-01: , user-app-02: }", "hosts: {user-app-01: , USER-APP-01: }")
    edit(hosts, "smc-backup-01: , user-app-01: , user-app-02: ,", "smc-backup-01: , user-app-01: , USER-APP-01: ,")
    found = problems(sample_inventory)
    assert any("duplicate asset: same name as" in p for p in found), found
    assert any("duplicate asset: address 10.10.2.11" in p for p in found), found


def test_malformed_yaml(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "mzops_db_port: 3306", "mzops_db_port: [3306")
    with pytest.raises(InputError) as err:
        loader.load(sample_inventory)
    assert str(err.value).startswith(f"{hosts}:") and "malformed YAML" in str(err.value)


def test_literal_secret_and_bad_reference(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, 'mzops_credentials: {cli: "vault:secret/mzops/firewalls/fw-wan-01#password"}',
         'mzops_credentials: {cli: "Hunter2!"}\n          ansible_password: Hunter2!')
    found = problems(sample_inventory)
    assert any("fw-wan-01.mzops_credentials.cli: not a credential reference" in p for p in found)
    assert any("fw-wan-01.ansible_password: looks like a literal secret" in p for p in found)
    assert not any("Hunter2" in p for p in found), "a secret must never be echoed"


def test_database_port_and_server(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "mzops_db_port: 5432\n          mzops_db_server: core-db-01",
         "mzops_db_port: 99999\n          mzops_db_server: core-db-09")
    found = problems(sample_inventory)
    assert any("core-pg-01.mzops_db_port: 99999 is not a TCP port" in p for p in found)
    assert any("core-pg-01.mzops_db_server: 'core-db-09' is not a host asset" in p for p in found)


def test_missing_inventory_path(tmp_path):
    with pytest.raises(InputError, match="inventory not found"):
        loader.load(tmp_path / "nowhere")


# --------------------------------------------------------------- the CLI contract

def test_cli_list_json_filters():
    proc = run_mzops("--json", "inventory", "list", "--kind", "database", "--site", "primary")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {a["name"] for a in data} == {"core-pg-01", "core-mysql-01"}
    for asset in data:
        assert {"name", "kind", "zone", "site", "platform"} <= set(asset)


def test_cli_list_table_and_quiet():
    proc = run_mzops("-q", "inventory", "list", "--zone", "wan")
    assert proc.returncode == 0
    assert "wan-gw-01" in proc.stdout and "fw-wan-01" in proc.stdout
    assert proc.stderr == ""


def test_cli_show():
    proc = run_mzops("inventory", "show", "fw-core-01", "--json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["fw_vendor"] == "h3c_secpath" and data["device_type"] == "hp_comware"
    missing = run_mzops("inventory", "show", "fw-nope-01")
    assert missing.returncode == 2
    assert missing.stderr.strip().endswith("no asset named 'fw-nope-01'")


def test_cli_bad_filter_is_usage_error():
    proc = run_mzops("inventory", "list", "--zone", "dmz")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown zone 'dmz'" in proc.stderr


def test_cli_validate_reports_every_problem_and_exits_2(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "vars: {mzops_zone: monitor}", "vars: {mzops_zone: monitoring}")
    proc = run_mzops("-i", str(sample_inventory), "inventory", "validate")
    assert proc.returncode == 2
    assert "mon-probe-01.mzops_zone: unknown zone 'monitoring'" in proc.stderr
    # Other commands refuse the same inventory with one line.
    listing = run_mzops("-i", str(sample_inventory), "inventory", "list")
    assert listing.returncode == 2 and listing.stdout == ""
    assert len(listing.stderr.strip().splitlines()) == 1


def test_cli_inventory_from_environment(sample_inventory):
    proc = run_mzops("--json", "inventory", "list", env={"MZOPS_INVENTORY": str(sample_inventory)})
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 22


def test_version():
    proc = run_mzops("--version")
    assert proc.returncode == 0 and re.fullmatch(r"mzops \d+\.\d+\.\d+\n", proc.stdout)


def _imported_by(*argv: str) -> set[str]:
    """Top modules a CLI command imports (napalm, netmiko, Ansible's executor are heavy)."""
    import subprocess
    import sys

    code = ("import sys\nfrom mzops.cli import main\nsys.argv = ['mzops', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO)
    return set(proc.stderr.strip().splitlines()[-1].split())


def test_start_up_imports_only_what_the_command_uses(sample_inventory):
    version = _imported_by("--version")
    assert "mzops.cli" in version
    for heavy in ("napalm", "netmiko", "ansible.executor", "ansible.inventory", "mitogen", "sqlalchemy"):
        assert heavy not in version, heavy
    listing = _imported_by("-i", str(sample_inventory), "inventory", "list")
    assert "ansible.inventory.manager" in listing          # Ansible reads the inventory
    assert "napalm" not in listing and "netmiko" not in listing
