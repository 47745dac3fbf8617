"""The execution strategy of mzops's Ansible runs: Mitogen's mitogen_linear by default,
Ansible's linear on request (--strategy, an inventory's mzops_ansible_strategy,
MZOPS_ANSIBLE_STRATEGY) and, said, where Mitogen cannot run here or on a host. Parity
of the two on real hosts, task for task, is the lab's test
(tests/integration/test_harden_lab.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mzops.connect import ansible


def test_mitogen_by_default_with_its_strategy_plugins_and_linear_on_request(monkeypatch):
    monkeypatch.setenv("MZOPS_ANSIBLE_STRATEGY", "linear")
    assert ansible.strategy_environment(ansible.default_strategy()) == {"ANSIBLE_STRATEGY": "linear"}
    monkeypatch.delenv("MZOPS_ANSIBLE_STRATEGY")
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


def _event(kind: str, host: str, **res) -> dict:
    return {"event": kind, "event_data": {"host": host, "task": "t", "res": res}}


def test_hosts_mitogen_did_not_reach_are_those_with_nothing_changed_or_failed():
    """Only a host that Mitogen's connection failed before anything happened on it may be
    run again with linear: a changed or failed task means the play did something there."""
    events = [
        _event("runner_on_ok", "a", changed=False),            # set_fact, on the controller
        _event("runner_on_unreachable", "a", msg="EOF on stream; last 100 lines received:\nx"),
        _event("runner_on_ok", "b", changed=True),
        _event("runner_on_unreachable", "b", msg="gone"),
        _event("runner_on_failed", "c", msg="no"),
        _event("runner_on_unreachable", "c", msg="gone"),
        _event("runner_on_ok", "d", changed=False),
        {"event": "playbook_on_stats", "event_data": {}},
    ]
    assert ansible.mitogen_refused(events) == {"a": "EOF on stream; last 100 lines received: x"}


def test_one_run_one_strategy_linear_where_its_hosts_differ(monkeypatch):
    monkeypatch.delenv("MZOPS_ANSIBLE_STRATEGY", raising=False)
    asks = lambda *values: ansible.asked_by({"mzops_ansible_strategy": v} if v else {} for v in values)  # noqa: E731
    assert asks(None, None) == "mitogen"
    assert asks("linear") == "linear" and asks(None, "mitogen") == "mitogen"
    assert asks(None, "linear") == "linear"          # the host asking for linear gets it
    monkeypatch.setenv("MZOPS_ANSIBLE_STRATEGY", "linear")
    assert asks(None) == "linear" and asks("mitogen") == "mitogen"   # the inventory's word wins
