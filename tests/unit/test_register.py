"""The account register: each kind of bad input names file, line and key."""

import pytest

from conftest import SAMPLE_INVENTORY, run_mzops
from mzops.errors import InputError
from mzops.inventory import loader, register, validate


@pytest.fixture(scope="module")
def estate():
    return loader.load(SAMPLE_INVENTORY)


def load_text(tmp_path, text):
    path = tmp_path / "accounts.yml"
    path.write_text(text)
    return path, register.load(path)


GOOD = """people:
  - {id: a, name: Ann, roles: [sysadmin]}
  - {id: b, name: Bo, roles: [auditadmin], valid_until: 2027-01-31}
accounts:
  - {account: ann, person: a, kind: personal, role: sysadmin, assets: [hosts]}
  - {account: bo, person: b, kind: personal, assets: core-pg-01}
"""


def test_sample_register_is_consistent(estate):
    reg = register.load(SAMPLE_INVENTORY / "accounts.yml")
    assert validate.register_problems(reg, estate) == []
    roles = {p.id: p.roles for p in reg.register.people}
    assert roles["li.na"] == ("secadmin",) and roles["wang.fang"] == ("auditadmin",)


def test_good_register(tmp_path, estate):
    _, reg = load_text(tmp_path, GOOD)
    assert validate.register_problems(reg, estate) == []
    assert reg.accounts[1].assets == ("core-pg-01",)  # one name or a list


def test_unknown_asset_names_line(tmp_path, estate):
    path, reg = load_text(tmp_path, GOOD.replace("assets: core-pg-01", "assets: [core-pg-01, core-pg-99]"))
    assert validate.register_problems(reg, estate) == [
        f"{path}:6: accounts.1.assets.1: unknown asset or group 'core-pg-99'"]


def test_unknown_person_and_role_not_held(tmp_path, estate):
    text = GOOD.replace("person: b,", "person: c,").replace("role: sysadmin", "role: secadmin")
    path, reg = load_text(tmp_path, text)
    assert validate.register_problems(reg, estate) == [
        f"{path}:5: accounts.0.role: a does not hold role 'secadmin' (holds: sysadmin)",
        f"{path}:6: accounts.1.person: unknown person 'c' (not in people)",
    ]


def test_unknown_role(tmp_path):
    with pytest.raises(InputError) as err:
        load_text(tmp_path, GOOD.replace("roles: [auditadmin]", "roles: [auditadmin, dba]"))
    assert str(err.value) == (f"{tmp_path / 'accounts.yml'}:3: people.1.roles.1: 'dba' is not one of "
                              "the allowed values ('sysadmin', 'secadmin' or 'auditadmin')")


def test_bad_date(tmp_path):
    with pytest.raises(InputError) as err:
        load_text(tmp_path, GOOD.replace("2027-01-31", "2027-02-30"))
    assert str(err.value).startswith(f"{tmp_path / 'accounts.yml'}:3: people.1.valid_until: bad date")


def test_unknown_key_and_missing_key(tmp_path):
    with pytest.raises(InputError, match=r":5: accounts\.0\.hosts: unknown key"):
        load_text(tmp_path, GOOD.replace("assets: [hosts]", "hosts: [hosts]"))
    with pytest.raises(InputError, match=r":5: accounts\.0\.assets: required key is missing"):
        load_text(tmp_path, GOOD.replace(", assets: [hosts]", ""))
    with pytest.raises(InputError, match=r":6: accounts\.1\.kind: 'shared' is not one of"):
        load_text(tmp_path, GOOD.replace("kind: personal, assets", "kind: shared, assets"))


def test_duplicate_person_and_entry(tmp_path, estate):
    text = GOOD.replace("  - {id: b,", "  - {id: a, name: Al}\n  - {id: b,") + \
        "  - {account: ann, person: a, kind: personal, role: sysadmin, assets: [hosts]}\n"
    path, reg = load_text(tmp_path, text)
    found = validate.register_problems(reg, estate)
    assert f"{path}:3: people.1.id: duplicate person id 'a' (also item 0)" in found
    assert f"{path}:8: accounts.2.account: duplicate entry (same as accounts.0)" in found


def test_top_level_must_be_mapping(tmp_path):
    with pytest.raises(InputError, match=r"accounts\.yml:1: expected a mapping"):
        load_text(tmp_path, "- a\n- b\n")


def test_cli_validate_names_register_problem(sample_inventory):
    path = sample_inventory / "accounts.yml"
    path.write_text(path.read_text().replace("assets: [smc-backup-01]", "assets: [smc-backup-09]"))
    proc = run_mzops("-i", str(sample_inventory), "inventory", "validate")
    assert proc.returncode == 2
    assert f"{path}:" in proc.stderr and "unknown asset or group 'smc-backup-09'" in proc.stderr
    explicit = run_mzops("-i", str(sample_inventory), "inventory", "validate", "--register", str(tmp := path.with_name("none.yml")))
    assert explicit.returncode == 2 and f"{tmp}: no such file" in explicit.stderr
