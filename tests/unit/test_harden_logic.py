"""Rule selection, lockout guards and event reading: pure functions on data."""

from __future__ import annotations

from bundles import debian12, patched
from mzops.bundle import Section
from mzops.compliance import catalogue
from mzops.facts import Facts
from mzops.harden import events, guards, selection

HASH = "$6$labsalt$r4gN1xyfhs2XDBAk1eEtpfXTuXe3sd8taayEE.ziUXzIpYBbGOJVECsMersFe2d.mXpNxSVVxEGIArhnOs5dL1"


def test_selection_leaves_out_manual_disruptive_unconfigured_and_skipped():
    cat = catalogue.load("mlps3")
    rules = cat.select(["linux.ssh.x11", "linux.ssh.root_login", "linux.log.remote", "linux.auth.mfa",
                        "linux.pw.minlen"])
    params = cat.baseline.parameters
    out = selection.select(rules, params, disruptive=False, skip={"linux.pw.minlen"})
    assert out.tags == ["linux.ssh.x11"]
    assert out.left_out["linux.ssh.root_login"] == selection.DISRUPTIVE
    assert "log_host" in out.left_out["linux.log.remote"]
    assert out.left_out["linux.auth.mfa"] == selection.MANUAL
    assert out.left_out["linux.pw.minlen"].startswith("skipped")
    configured = selection.select(rules, {**params, "log_host": "10.1.1.1"}, disruptive=True)
    assert set(configured.tags) == {"linux.pw.minlen", "linux.ssh.x11", "linux.ssh.root_login", "linux.log.remote"}


def _facts(extra_passwd="", extra_group="", sudoers="", shadow="", keys="") -> Facts:
    base = debian12()
    passwd = base.sections["file:/etc/passwd"].text + extra_passwd
    group = base.sections["file:/etc/group"].text
    if extra_group:
        lines = group.splitlines()
        for name, member in (g.split(":") for g in extra_group.split()):
            lines = [line + ("," if not line.endswith(":") else "") + member if line.startswith(name + ":") else line
                     for line in lines]
        group = "\n".join(lines) + "\n"
    return Facts(patched(base, {"file:/etc/passwd": passwd, "file:/etc/group": group,
                                "+file:/etc/sudoers": sudoers, "+shadow": shadow, "authorized_keys": keys}))


PARAMS = catalogue.load("mlps3").baseline.parameters


def test_root_login_refused_when_mzops_itself_is_root_or_no_named_admin_remains():
    facts = _facts()
    found = guards.refusals(facts, {"linux.ssh.root_login"}, PARAMS, "root", False)
    assert len(found) == 2 and "logs in as root" in found[0] and "no named administrator" in found[1]
    # a named admin in %sudo with a password, mzops connecting as its own account
    facts = _facts(extra_passwd="mzops:x:990:990::/home/mzops:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/bash\n",
                   extra_group="sudo:alice sudo:mzops", sudoers="%sudo ALL=(ALL:ALL) ALL\n",
                   shadow="alice:password:sha512::19000:0:90:7:::\n")
    assert guards.refusals(facts, {"linux.ssh.root_login"}, PARAMS, "mzops", True) == []


def test_allow_groups_refused_unless_the_automation_account_is_in_one():
    facts = _facts(extra_passwd="mzops:x:990:990::/home/mzops:/bin/bash\n", extra_group="sudo:mzops")
    params = {**PARAMS, "ssh_allow_groups": ["sshusers"]}
    found = guards.refusals(facts, {"linux.ssh.allow_groups"}, params, "mzops", True)
    assert found and "in none of AllowGroups sshusers" in found[0]
    assert guards.refusals(facts, {"linux.ssh.allow_groups"}, {**params, "ssh_allow_groups": ["sudo"]},
                           "mzops", True) == []


def test_pam_lockout_needs_passwordless_sudo_for_a_non_root_automation_account():
    facts = _facts(extra_passwd="mzops:x:990:990::/home/mzops:/bin/bash\n", extra_group="sudo:mzops",
                   sudoers="%sudo ALL=(ALL:ALL) ALL\n")
    assert "NOPASSWD" in guards.refusals(facts, {"linux.pam.lockout"}, PARAMS, "mzops", True)[0]
    facts = _facts(extra_passwd="mzops:x:990:990::/home/mzops:/bin/bash\n",
                   sudoers="mzops ALL=(ALL) NOPASSWD: ALL\n")
    assert guards.refusals(facts, {"linux.pam.lockout"}, PARAMS, "mzops", True) == []
    assert guards.refusals(_facts(), {"linux.pam.lockout"}, PARAMS, "root", False) == []


def test_events_grouped_by_host_and_rule_with_diffs_and_counts():
    evs = [
        {"event": "runner_on_ok", "event_data": {"host": "h1", "task": "mzops | read the baseline", "res": {}}},
        {"event": "runner_on_ok", "event_data": {"host": "h1", "task": "linux.ssh.x11 | X11Forwarding", "res": {
            "changed": True, "diff": [{"before": "X11Forwarding yes\n", "after": "X11Forwarding no\n",
                                       "before_header": "/etc/ssh/sshd_config", "after_header": "/etc/ssh/sshd_config"}]}}},
        {"event": "runner_on_ok", "event_data": {"host": "h1", "task": "linux.pw.history | pam_pwhistory profile",
                                                 "res": {"changed": True, "dest": "/usr/share/pam-configs/mzops-pwhistory",
                                                         "diff": [{"before": "", "after": "Name: mzops\n",
                                                                   "after_header": "/root/.ansible/tmp/ansible-local-"
                                                                   "15772umha2e6s/tmp1r6trw2n/mzops-pwhistory.j2"}]}}},
        {"event": "runner_on_ok", "event_data": {"host": "h1", "task": "linux.file.crontab | mode and ownership",
                                                 "res": {"changed": True, "stdout": "chmod 600 /etc/crontab"}}},
        {"event": "runner_on_failed", "event_data": {"host": "h2", "task": "linux.ssh.x11 | X11Forwarding",
                                                     "res": {"msg": "failed to validate", "stderr": "Bad option"}}},
        {"event": "runner_on_skipped", "event_data": {"host": "h2", "task": "linux.aide.scheduled | daily", "res": {}}},
        {"event": "verbose", "event_data": {}},
    ]
    out = events.from_events(evs)
    h1, h2 = out["h1"], out["h2"]
    rules = lambda host, status: sorted({t.rule for t in host.tasks if t.status == status})  # noqa: E731
    assert rules(h1, "changed") == ["linux.file.crontab", "linux.pw.history", "linux.ssh.x11"]
    # a template's diff names the file it writes, not the controller's temporary rendering
    history = next(t for t in h1.tasks if t.rule == "linux.pw.history")
    assert history.diff.splitlines()[:2] == ["--- before", "+++ /usr/share/pam-configs/mzops-pwhistory"]
    x11 = next(t for t in h1.tasks if t.rule == "linux.ssh.x11")
    assert "-X11Forwarding yes" in x11.diff and "+X11Forwarding no" in x11.diff
    assert next(t for t in h1.tasks if t.rule == "linux.file.crontab").output == "chmod 600 /etc/crontab"
    assert h1.counts() == {"ok": 4, "changed": 3, "failed": 0, "skipped": 0, "unreachable": 0}
    assert rules(h2, "failed") == ["linux.ssh.x11"] and "Bad option" in h2.tasks[0].message
    assert h2.counts()["skipped"] == 1


def test_reports_read_as_an_engineer_needs():
    from mzops.harden.rollback import HostRollback, Rollback
    from mzops.harden.run import HardenRun, HostRun
    from mzops.report import harden as report

    host = HostRun("h1", "applied", rules=["linux.ssh.x11"], before={"linux.ssh.x11": "fail"},
                   after={"linux.ssh.x11": "pass"}, left_out={"linux.auth.mfa": selection.MANUAL,
                                                              "linux.ssh.root_login": selection.DISRUPTIVE},
                   tasks=[{"rule": "linux.ssh.x11", "task": "X11Forwarding", "status": "changed",
                           "diff": "-X11Forwarding yes\n+X11Forwarding no", "output": "", "message": ""}],
                   counts={"ok": 5, "changed": 1, "failed": 0})
    text = report.render_run(HardenRun("abc123", "apply", "mlps3", "ops", "2026-11-28T00:00:00+00:00", [host]))
    assert "linux.ssh.x11" in text and "changed" in text and "audit fail -> pass" in text
    assert "+X11Forwarding no" in text and "not applied: disruptive" in text
    assert "manual only (1): linux.auth.mfa" in text and "mzops harden rollback abc123" in text
    back = Rollback("abc123", False, "2026-11-28T00:00:00+00:00", [HostRollback(
        "h1", "restored", actions=["remove|/etc/cron.d/mzops-aide", "restore|/etc/login.defs",
                                   "meta|m|/var/log/auth.log", "sysctl|net.ipv4.ip_forward|0"])])
    text = report.render_rollback(back)
    assert "remove (made by the run)   /etc/cron.d/mzops-aide" in text
    assert "restore mode/owner         /var/log/auth.log" in text and "net.ipv4.ip_forward = 0" in text


def test_a_guard_refuses_when_its_facts_were_not_read_whole():
    """Safe to run only if the guard could read what it judges: an unreadable sudoers
    is no evidence that a named administrator remains."""
    facts = _facts(extra_passwd="lina:x:1001:1001::/home/lina:/bin/bash\n", sudoers="lina ALL=(ALL) ALL\n",
                   shadow="lina:password:6:19000:0:90:7::\n")
    assert guards.refusals(facts, {"linux.ssh.root_login"}, PARAMS, "mzops", True) == []
    denied = Facts(patched(facts.bundle, {}))
    denied.bundle.sections["file:/etc/sudoers"] = Section(1, b"cat: /etc/sudoers: Permission denied\n")
    found = guards.refusals(denied, {"linux.ssh.root_login"}, PARAMS, "mzops", True)
    assert any("cannot tell this host is safe: /etc/sudoers: unreadable" in r for r in found), found
