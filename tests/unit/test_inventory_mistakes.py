"""The mistakes people really make in a hand-edited estate, each refused by
`inventory validate` with FILE:LINE: asset.key: what is wrong (issue 18)."""

from __future__ import annotations

import pytest

from conftest import run_mzops
from mzops.errors import InputError
from mzops.inventory import loader, model, validate
from test_inventory import edit, line_of, problems

WAIVER = """waivers:
  - rule: linux.auth.mfa
    targets: {targets}
    justification: Admin logins only through the two-factor bastion.
    approver: li.ming
    expires: 2099-12-31
"""


def validated(inv):
    """`mzops -i INV inventory validate`, in this process (a second a call saved)."""
    from typer.testing import CliRunner

    from mzops.cli import app, register

    register("inventory")
    result = CliRunner().invoke(app, ["-i", str(inv), "inventory", "validate"], env={"MZOPS_HOME": str(inv.parent)})
    return result.exit_code, result.stderr.strip().splitlines()


def test_a_host_in_two_zone_groups_or_two_site_groups(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "hosts: {user-app-01: , user-app-02: }", "hosts: {user-app-01: , user-app-02: , core-app-01: }")
    edit(hosts, "hosts: {dr-app-01: , dr-db-01: ,", "hosts: {dr-app-01: , dr-db-01: , core-app-01: ,")
    found = problems(sample_inventory)
    where = f"{hosts}:{line_of(hosts, 'core-app-01:    {')}"
    assert any(p.startswith(f"{where}: core-app-01.mzops_zone: set by more than one group: zone_core (core), "
                            "zone_user (user); Ansible silently keeps one") for p in found), found
    assert any(p.startswith(f"{where}: core-app-01.mzops_site: set by more than one group: dr (dr), "
                            "primary (primary)") for p in found), found
    assert not any("user-app-01" in p for p in found)


def test_a_mistyped_mzops_variable_is_named_with_the_likely_one(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "mzops_platform: ubuntu-22.04}", "mzops_platform: ubuntu-22.04, mzops_critcality: key}")
    edit(hosts, "mzops_platform: rhel-8}", "mzops_platform: rhel-8, mzops_run_id: abc}")
    found = problems(sample_inventory)
    assert f"{hosts}:{line_of(hosts, 'user-app-02:')}: user-app-02.mzops_critcality: unknown mzops variable " \
        "(did you mean mzops_criticality?)" in found, found
    assert any("wan-gw-01.mzops_run_id: set by mzops for each run" in p for p in found)


def test_role_defaults_are_known_inventory_variables():
    """Every default a hardening role declares may be set in the inventory."""
    from mzops import yamlfile
    from mzops.paths import PLAYBOOKS

    defaults = {k for f in PLAYBOOKS.glob("roles/*/defaults/main.yml") for k in (yamlfile.load(f).data or {})
                if k.startswith("mzops_")}
    assert defaults and defaults - model.RUN_VARS <= model.INVENTORY_VARS


def test_credentials_as_a_string_and_an_unknown_firewall_vendor(sample_inventory):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, 'mzops_credentials: {cli: "vault:secret/mzops/firewalls/fw-wan-01#password"}',
         'mzops_credentials: "vault:secret/mzops/firewalls/fw-wan-01#password"')
    edit(hosts, "mzops_fw_vendor: huawei_usg\n          mzops_device_type: huawei\n"
                '          mzops_credentials: {cli: "vault:secret/mzops/firewalls/fw-dr-01#password"}',
         "mzops_fw_vendor: huawei-usg\n          mzops_device_type: huawei\n"
         '          mzops_credentials: {cli: "vault:secret/mzops/firewalls/fw-dr-01#password"}')
    found = problems(sample_inventory)
    assert any("fw-wan-01.mzops_credentials: must be a mapping of role to reference" in p for p in found), found
    assert any(p.endswith("fw-dr-01.mzops_fw_vendor: unknown firewall vendor 'huawei-usg' (did you mean "
                          "huawei_usg?)") for p in found), found


def test_a_vendor_mzops_has_no_module_for_is_that_devices_matter(sample_inventory):
    """Not a typo: the estate stays usable, the device fails when worked on (firewall
    save reports it, tests/integration/test_firewall_push.py), render names its variable."""
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "mzops_fw_vendor: hillstone_stoneos", "mzops_fw_vendor: cisco_ftd")
    assert not any("mzops_fw_vendor" in p for p in problems(sample_inventory))
    proc = run_mzops("-i", str(sample_inventory), "firewall", "render", "fw-wan-01")
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "mzops: error: fw-wan-01.mzops_fw_vendor: unsupported firewall vendor 'cisco_ftd' (supported: "
        "h3c_secpath, hillstone_stoneos, huawei_usg, nftables)"), proc.stderr


@pytest.mark.parametrize("address, message", [
    ("10.10.1.300", "'10.10.1.300' is not an IPv4 address"),
    ("10.10.1", "'10.10.1' is not an IPv4 address"),
    ("smc_bastion 01", "'smc_bastion 01' is neither an address nor a host name"),
    ("fe80::zz", "'fe80::zz' is not an IPv6 address"),
])
def test_addresses_that_are_not_addresses(sample_inventory, address, message):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "smc-bastion-01: {ansible_host: 10.10.1.11,", f"smc-bastion-01: {{ansible_host: '{address}',")
    assert any(p.endswith(f"smc-bastion-01.ansible_host: {message}") for p in problems(sample_inventory))


def test_good_addresses_and_names_pass():
    for value in ("10.10.1.11", "fd00::11", "smc-bastion-01.gov.example", "smc-bastion-01"):
        assert validate.address_problem(value) is None, value


@pytest.mark.parametrize("line", ["ansible_become_passwd: 12345678", "ansible_ssh_pass: 12345678",
                                  "mysql_pwd: Secret123"])
def test_literal_secrets_spelled_otherwise_or_numeric(sample_inventory, line):
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "          mzops_db_port: 3306", f"          mzops_db_port: 3306\n          {line}")
    found = problems(sample_inventory)
    key = line.split(":")[0]
    assert any(f"core-mysql-01.{key}: looks like a literal secret" in p for p in found), found
    assert not any(line.split(": ")[1] in p for p in found), "a secret must never be echoed"


@pytest.mark.parametrize("value, message", [
    ("{ssh_max_auth_tries: 'four'}", "mzops_baseline_params.ssh_max_auth_tries: a whole number expected"),
    ("{ssh_max_auth_tries: true}", "mzops_baseline_params.ssh_max_auth_tries: a whole number expected"),
    ("{ssh_maxauthtries: 4}", "mzops_baseline_params.ssh_maxauthtries: unknown baseline parameter"),
])
def test_baseline_parameters_of_the_wrong_type_or_name(sample_inventory, value, message):
    from mzops.compliance import catalogue

    if "ssh_max_auth_tries" in value:
        assert "ssh_max_auth_tries" in catalogue.load("mlps3").baseline.parameters
    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "mzops_platform: ubuntu-22.04}", f"mzops_platform: ubuntu-22.04, mzops_baseline_params: {value}}}")
    code, lines = validated(sample_inventory)
    assert code == 2 and any(line.startswith(f"{hosts}:{line_of(hosts, 'user-app-02:')}: user-app-02: ")
                             and message in line for line in lines), lines


def test_a_firewall_list_parameter_written_as_a_string(sample_inventory):
    edit(sample_inventory / "group_vars" / "firewalls.yml", "fw_mgmt_sources: [10.10.1.0/24]",
         "fw_mgmt_sources: 10.10.1.0/24")
    code, lines = validated(sample_inventory)
    assert code == 2 and any("fw-inet-01: mzops_baseline_params.fw_mgmt_sources: a list expected" in line
                             for line in lines), lines


def test_waivers_are_checked_and_one_matching_nothing_is_refused(sample_inventory):
    waivers = sample_inventory / "waivers.yml"
    waivers.write_text(WAIVER.format(targets="zone_core"))
    assert validated(sample_inventory)[0] == 0
    waivers.write_text(WAIVER.format(targets="zone_cor"))
    code, lines = validated(sample_inventory)
    assert code == 2 and f"{waivers}:3: waivers.0.targets: 'zone_cor' matches no asset or group" in lines, lines
    waivers.write_text(WAIVER.format(targets="zone_core").replace("expires: 2099-12-31", "expires: someday"))
    code, lines = validated(sample_inventory)
    assert code == 2 and any(line.startswith(f"{waivers}:6: waivers.0.expires:") for line in lines), lines


def test_an_empty_inventory_file_is_said_to_be_empty(tmp_path):
    (tmp_path / "hosts.yml").write_text("")
    with pytest.raises(InputError) as err:
        loader.load(tmp_path)
    assert str(err.value) == f"{tmp_path / 'hosts.yml'}: empty inventory: no asset defined"
