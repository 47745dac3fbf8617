"""The hardening role and the baseline cannot drift apart: tags, parameters, snapshots."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from mzops.compliance import catalogue
from mzops.errors import InputError

from mzops.harden import roles

FAMILIES = list(roles.ROLES)   # baseline families with a hardening role
ROLE = roles.PLAYBOOKS / "roles" / "mlps3_linux"


def role_dir(family: str) -> Path:
    return roles.PLAYBOOKS / "roles" / roles.ROLES[family].role


def _tasks(items, role: Path, inherited=()):
    """Every task of a role with the tags it runs under (blocks flattened)."""
    for item in items or []:
        tags = tuple(inherited) + tuple(item.get("tags", []))
        if "block" in item:
            yield from _tasks(item["block"], role, tags)
        elif "ansible.builtin.import_tasks" in item:
            yield from _tasks(yaml.safe_load((role / "tasks" / item["ansible.builtin.import_tasks"]).read_text()),
                              role, tags)
        else:
            yield item, tags


def role_tasks(family: str = "linux"):
    role = role_dir(family)
    return list(_tasks(yaml.safe_load((role / "tasks" / "main.yml").read_text()), role))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_remediable_rule_has_tagged_tasks_named_after_it(family):
    cat = catalogue.load("mlps3", family)
    tasks = role_tasks(family)
    for rule in cat.rules.values():
        if rule.remediation.task is None:
            assert not [t for t, tags in tasks if rule.id in tags], f"{rule.id} is manual but has tasks"
            continue
        mine = [t for t, tags in tasks if rule.id in tags]
        assert mine, f"no task tagged {rule.id}"
        # at least one task of its own carries the rule id in its name (how mzops reports it)
        assert any(t["name"].startswith(rule.id + " | ") or t["name"] == rule.id for t in mine), rule.id


@pytest.mark.parametrize("family", FAMILIES)
def test_role_tags_and_task_names_are_rule_ids(family):
    ids = set(catalogue.load("mlps3", family).rules)
    for task, tags in role_tasks(family):
        assert set(tags) <= ids | {"always"}, (task.get("name"), tags)
        prefix = task["name"].split(" | ")[0]
        assert prefix in ids or prefix == "mzops", task["name"]


@pytest.mark.parametrize("family", FAMILIES)
def test_role_reads_thresholds_from_the_baseline_itself(family):
    role = role_dir(family)
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    path = defaults["mzops_baseline_file"].replace("{{ role_path }}", str(role))
    assert Path(path).resolve() == (catalogue.BASELINES / "mlps3" / f"{family}.yml").resolve()
    params = set(catalogue.load("mlps3", family).baseline.parameters)
    text = "\n".join(p.read_text() for p in (role / "tasks").glob("*.yml"))
    text += "\n".join(p.read_text() for p in (role / "templates").glob("*.j2"))
    used = set(re.findall(r"\bparams\.(\w+)", text))
    assert used and used <= params, used - params
    # no threshold written into the role: numbers only come from params or rule args
    expected = {"linux": ("pass_max_days", "pass_min_len", "ssh_max_auth_tries", "lockout_deny", "shell_timeout"),
                "postgresql": ("admin_idle_timeout", "pg_role_validity_days", "pg_admin_roles"),
                "mysql": ("pass_max_days", "lockout_deny", "idle_timeout")}[family]
    assert set(expected) <= used


def test_every_remediable_rule_says_what_it_may_change():
    for family in FAMILIES:
        cat = catalogue.load("mlps3", family)
        fam = roles.ROLES[family]
        remediable = {r.id for r in cat.rules.values() if r.remediation.task}
        assert set(fam.table()) == remediable, family
    cat = catalogue.load("mlps3")
    remediable = {r.id for r in cat.rules.values() if r.remediation.task}
    specs = roles.snapshot_specs(roles.ROLES["linux"], sorted(remediable), cat.rules)
    assert "C:/etc/ssh/sshd_config" in specs and "M:/var/log" in specs
    assert "S:net.ipv4.conf.all.accept_redirects" in specs
    # the task sets each interface too (ip-sysctl.rst: all and the interface combine)
    assert "S:net.ipv4.conf.*.accept_redirects" in specs
    assert all(re.match(r"^[CMNS]:/?[\w./-]+$", s) or re.match(r"^S:net\.ipv4\.conf\.\*\.\w+$", s)
               for s in specs), specs


def test_database_snapshots_name_the_servers_own_paths():
    cat = catalogue.load("mlps3", "postgresql")
    values = {"config_file": "/etc/postgresql/15/main/postgresql.conf", "hba_file": "/etc/postgresql/15/main/pg_hba.conf",
              "ident_file": "/etc/postgresql/15/main/pg_ident.conf",
              "data_directory": "/var/lib/postgresql/15/main", "managed": "/etc/postgresql/15/main/mzops-mlps3.conf"}
    remediable = sorted(r.id for r in cat.rules.values() if r.remediation.task)
    specs = roles.snapshot_specs(roles.ROLES["postgresql"], remediable, cat.rules, values)
    assert set(specs) == {"C:" + values["config_file"], "C:" + values["managed"], "C:" + values["hba_file"],
                          "C:" + values["ident_file"], "N:" + values["data_directory"]}
    with pytest.raises(InputError, match="did not report 'hba_file'"):
        roles.snapshot_specs(roles.ROLES["postgresql"], ["pg.hba_ssl"], cat.rules, {})


def test_written_values_satisfy_the_audit_rules():
    cat = catalogue.load("mlps3")
    params = cat.baseline.parameters
    for key, rule_id in (("ssh_ciphers", "linux.ssh.ciphers"), ("ssh_macs", "linux.ssh.macs"),
                         ("ssh_kex", "linux.ssh.kex")):
        weak = cat.rules[rule_id].args["weak"]
        assert not [a for a in params[key] if any(fnmatch.fnmatch(a, w) for w in weak)], key
    actions = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["mzops_auditd_actions"]
    allowed = cat.rules["linux.audit.disk_full"].args["settings"]
    assert all(actions[k] in allowed[k] for k in allowed)
    assert params["ssh_permit_root_login"][0] in ("no", "prohibit-password", "forced-commands-only")
