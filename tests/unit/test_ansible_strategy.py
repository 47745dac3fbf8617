"""The execution strategy of mzops's Ansible runs: Ansible's linear by default, Mitogen's
mitogen_linear on request (--strategy, an inventory's mzops_ansible_strategy,
MZOPS_ANSIBLE_STRATEGY), linear again, said, where Mitogen cannot run. Parity of the two
on real hosts, task for task, is not proven yet (issue 20): hence not the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from mzops.connect import ansible


def test_mitogen_on_request_with_its_strategy_plugins(monkeypatch):
    monkeypatch.delenv("MZOPS_ANSIBLE_STRATEGY", raising=False)
    assert ansible.strategy_environment(ansible.default_strategy()) == {"ANSIBLE_STRATEGY": "linear"}
    monkeypatch.setenv("MZOPS_ANSIBLE_STRATEGY", "mitogen")
    chosen = ansible.default_strategy()
    assert (chosen.asked, chosen.name, chosen.fallback) == ("mitogen", "mitogen_linear", "")
    env = ansible.strategy_environment(chosen)
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert (Path(env["ANSIBLE_STRATEGY_PLUGINS"]) / "mitogen_linear.py").is_file()


def test_where_mitogen_cannot_run_linear_runs_and_says_why(monkeypatch):
    from ansible.errors import AnsibleError
    from ansible_mitogen import loaders

    def unsupported():
        raise AnsibleError("Your Ansible version (2.99.0) is too recent. The most recent version supported is 2.19")

    monkeypatch.setattr(loaders, "assert_supported_release", unsupported)
    chosen = ansible.strategy("mitogen")
    assert chosen.name == "linear" and "Mitogen cannot run here: Your Ansible version (2.99.0)" in chosen.fallback
    assert str(chosen).startswith("linear (mitogen asked: Mitogen cannot run here")
    with pytest.raises(ValueError, match="one of mitogen, linear"):
        ansible.strategy("free")


def test_an_unknown_strategy_is_refused_by_the_validator_and_the_cli(sample_inventory):
    from conftest import run_mzops
    from test_inventory import edit, line_of, problems

    hosts = sample_inventory / "hosts.yml"
    edit(hosts, "mzops_platform: kylin-v10, mzops_criticality: key}",
         "mzops_platform: kylin-v10, mzops_criticality: key, mzops_ansible_strategy: mitogen_free}")
    found = problems(sample_inventory)
    where = f"{hosts}:{line_of(hosts, 'mzops_ansible_strategy')}"
    assert any(p.startswith(f"{where}: smc-bastion-01.mzops_ansible_strategy: unknown Ansible strategy "
                            "'mitogen_free' (one of: mitogen, linear)") for p in found), found
    proc = run_mzops("-i", str(sample_inventory), "harden", "run", "--strategy", "free")
    assert proc.returncode == 2 and "--strategy free: one of mitogen, linear" in proc.stderr
