"""Evaluation details: platform dispatch, false positives other scanners have, parsing."""

from __future__ import annotations

import pytest

from bundles import debian12, patched
from mzops.compliance import catalogue, collector, evaluate
from mzops.facts import Facts

CATALOGUE = catalogue.load("mlps3")
PARAMS = CATALOGUE.baseline.parameters


def run(bundle, *rule_ids, params=None):
    rules = [CATALOGUE.rules[i] for i in rule_ids]
    platform, results = evaluate.evaluate(bundle, rules, params or PARAMS)
    return platform, {r.rule: r for r in results}


OPENEULER = 'NAME="openEuler"\nVERSION="22.03 (LTS-SP3)"\nID="openEuler"\nVERSION_ID="22.03"\n'
SYSTEM_AUTH = """auth        required      pam_env.so
auth        required      pam_faillock.so preauth audit deny=3 unlock_time=900
auth        sufficient    pam_unix.so try_first_pass
auth        [default=die] pam_faillock.so authfail audit deny=3 unlock_time=900
auth        required      pam_deny.so
password    requisite     pam_pwquality.so try_first_pass local_users_only minlen=8 minclass=3 enforce_for_root
password    required      pam_pwhistory.so use_authtok remember=5
password    sufficient    pam_unix.so sha512 shadow try_first_pass use_authtok
"""


def openeuler(password_auth=SYSTEM_AUTH):
    return patched(debian12(), {"file:/etc/os-release": OPENEULER,
                                "file:/etc/pam.d/system-auth": SYSTEM_AUTH,
                                "file:/etc/pam.d/password-auth": password_auth})


def test_platform_dispatch_reads_red_hat_pam_files():
    platform, results = run(openeuler(), "linux.pam.lockout", "linux.pw.history", "linux.pw.classes",
                            "linux.pw.enforce_root")
    assert platform.name == "openeuler"
    assert {k: r.status for k, r in results.items()} == {
        "linux.pam.lockout": "pass", "linux.pw.history": "pass",
        "linux.pw.classes": "pass", "linux.pw.enforce_root": "pass"}
    assert any("/etc/pam.d/password-auth" in line for line in results["linux.pam.lockout"].evidence)


def test_each_red_hat_stack_is_checked():
    weak = SYSTEM_AUTH.replace("auth        required      pam_faillock.so preauth audit deny=3 unlock_time=900\n", "")
    _, results = run(openeuler(password_auth=weak), "linux.pam.lockout")
    assert results["linux.pam.lockout"].status == "fail"
    assert "password-auth: pam_unix.so can be reached without the lock's check" in results["linux.pam.lockout"].actual


def test_kylin_and_uos_detected():
    kylin = patched(debian12(), {"file:/etc/os-release": 'NAME="Kylin Linux Advanced Server"\nID="kylin"\nVERSION_ID="V10"\n'})
    uos = patched(debian12(), {"file:/etc/os-release": 'NAME="UOS Server"\nID="uos"\nID_LIKE="debian"\n'})
    assert run(kylin, "linux.pam.lockout")[0].name == "kylin"
    assert run(uos, "linux.pam.lockout")[0].name == "uos"
    # UOS uses Debian's common-* files: the recorded Debian stack is found, not an error.
    assert run(uos, "linux.pam.lockout")[1]["linux.pam.lockout"].status == "fail"


def test_rule_for_another_platform_is_notapplicable():
    rule = CATALOGUE.rules["linux.pam.lockout"].model_copy(update={"platforms": ("rhel",)})
    _, results = evaluate.evaluate(debian12(), [rule], PARAMS)
    assert results[0].status == "notapplicable"


def test_duplicate_uids_found_when_not_adjacent():
    """The classic `uniq -d` without `sort` misses duplicates that are not neighbours."""
    passwd = Facts(debian12()).file("/etc/passwd") + "zz:x:2:2:z:/:/usr/sbin/nologin\n"
    _, results = run(patched(debian12(), {"file:/etc/passwd": passwd}), "linux.acct.unique_uids")
    result = results["linux.acct.unique_uids"]
    assert result.status == "fail" and "2 x2" in result.actual


def test_any_login_shell_counts_not_only_bash():
    passwd = Facts(debian12()).file("/etc/passwd").replace("games:x:5:60:games:/usr/games:/usr/sbin/nologin",
                                                            "games:x:5:60:games:/usr/games:/bin/sh")
    shadow = Facts(debian12()).text("shadow").replace("games:nologin:", "games:password:")
    bundle = patched(debian12(), {"file:/etc/passwd": passwd, "shadow": shadow})
    assert run(bundle, "linux.acct.system_locked")[1]["linux.acct.system_locked"].status == "fail"


def test_client_alive_zero_is_not_a_timeout():
    _, results = run(debian12(), "linux.ssh.idle_interval")
    assert results["linux.ssh.idle_interval"].status == "fail"
    assert results["linux.ssh.idle_interval"].actual == "clientaliveinterval 0"


def test_thresholds_come_from_parameters():
    bundle = patched(debian12(), {"file:/etc/login.defs": "PASS_MAX_DAYS 60\n"})
    assert run(bundle, "linux.pw.max_days")[1]["linux.pw.max_days"].status == "pass"
    strict = {**PARAMS, "pass_max_days": 45}
    assert run(bundle, "linux.pw.max_days", params=strict)[1]["linux.pw.max_days"].status == "fail"


def test_unknown_parameter_override_is_refused():
    with pytest.raises(Exception, match="mzops_baseline_params.pass_max_dayz: unknown baseline parameter"):
        CATALOGUE.params_for({"mzops_baseline_params": {"pass_max_dayz": 60}}, "inventory/hosts.yml:3")


def test_check_crash_is_an_error_result_not_a_crash():
    broken = patched(debian12(), {"stat": "/etc/shadow|notoctal|root|root|1|regular file\n"})
    _, results = run(broken, "linux.file.shadow")
    assert results["linux.file.shadow"].status == "error"


# ------------------------------------------------------------ the framed collector output

def test_framing_survives_any_bytes_and_ignores_foreign_frames():
    import base64

    payload = bytes(range(256)) + b"\nMZfake END x 0\n"
    out = (b"noise before\nMZabc BEGIN file:/x\n" + base64.encodebytes(payload) + b"MZabc END file:/x 3\n"
           + b"MZother BEGIN y\nAAAA\nMZother END y 0\n")
    sections = collector.parse(out, "MZabc")
    assert list(sections) == ["file:/x"]
    assert sections["file:/x"].data == payload and sections["file:/x"].rc == 3


def test_truncated_section_is_dropped():
    out = b"MZn BEGIN a\nYQ==\nMZn END a 0\nMZn BEGIN b\nYg=="
    assert list(collector.parse(out, "MZn")) == ["a"]


def test_shadow_hashes_never_leave_the_host():
    text = debian12().sections["shadow"].text
    assert "$" not in text
    script = collector.script().decode()
    assert "cat /etc/shadow" not in script and "/etc/gshadow" not in script.split("statlist")[0]
