"""The hardening role and the baseline cannot drift apart: tags, parameters, backups."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import yaml

from mzops.compliance import catalogue
from mzops.harden import run as hrun

ROLE = hrun.PLAYBOOKS / "roles" / "mlps3_linux"


def _tasks(items, inherited=()):
    """Every task of the role with the tags it runs under (blocks flattened)."""
    for item in items or []:
        tags = tuple(inherited) + tuple(item.get("tags", []))
        if "block" in item:
            yield from _tasks(item["block"], tags)
        elif "ansible.builtin.import_tasks" in item:
            yield from _tasks(yaml.safe_load((ROLE / "tasks" / item["ansible.builtin.import_tasks"]).read_text()), tags)
        else:
            yield item, tags


def role_tasks():
    return list(_tasks(yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())))


def test_every_remediable_rule_has_tagged_tasks_named_after_it():
    cat = catalogue.load("mlps3")
    tasks = role_tasks()
    for rule in cat.rules.values():
        if rule.remediation.task is None:
            continue
        mine = [t for t, tags in tasks if rule.id in tags]
        assert mine, f"no task tagged {rule.id}"
        # at least one task of its own carries the rule id in its name (how mzops reports it)
        assert any(t["name"].startswith(rule.id + " | ") for t in mine), rule.id


def test_role_tags_and_task_names_are_rule_ids():
    ids = set(catalogue.load("mlps3").rules)
    for task, tags in role_tasks():
        assert set(tags) <= ids | {"always"}, (task.get("name"), tags)
        prefix = task["name"].split(" | ")[0]
        assert prefix in ids or prefix == "mzops", task["name"]


def test_role_reads_thresholds_from_the_baseline_itself():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    path = defaults["mzops_baseline_file"].replace("{{ role_path }}", str(ROLE))
    assert Path(path).resolve() == (catalogue.BASELINES / "mlps3" / "linux.yml").resolve()
    params = set(catalogue.load("mlps3").baseline.parameters)
    text = "\n".join(p.read_text() for p in (ROLE / "tasks").glob("*.yml"))
    text += (ROLE / "templates" / "mzops-pwhistory.j2").read_text()
    used = set(re.findall(r"\bparams\.(\w+)", text))
    assert used and used <= params, used - params
    # no threshold written into the role: numbers only come from params or rule args
    for rule_param in ("pass_max_days", "pass_min_len", "ssh_max_auth_tries", "lockout_deny", "shell_timeout"):
        assert rule_param in used


def test_every_remediable_rule_says_what_it_may_change():
    cat = catalogue.load("mlps3")
    table = yaml.safe_load(hrun.BACKUP_PATHS.read_text())["rules"]
    remediable = {r.id for r in cat.rules.values() if r.remediation.task}
    assert set(table) == remediable
    specs = hrun.backup_specs(sorted(remediable), cat.rules)
    assert "C:/etc/ssh/sshd_config" in specs and "M:/var/log" in specs
    assert "S:net.ipv4.conf.all.accept_redirects" in specs
    assert all(re.match(r"^[CMS]:/?[\w./-]+$", s) for s in specs), specs


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
