"""Adversarial PAM, libpwquality and pam_faillock configurations, each with the verdict
decided from the programs' documentation and source before mzops was run on it.

Sources: pam.conf(5) (controls, [value=action], N jumps, include/substack);
libpwquality src/settings.c (pwquality_read_config: pwquality.conf.d/*.conf first in
strcmp order, then pwquality.conf; names compared with strcasecmp; '#' starts a
comment anywhere; an unknown name stops the reading) and src/pam_pwquality.c (module
arguments after the configuration); pwquality.conf(5) (enforcing, defaults);
linux-pam modules/pam_faillock/faillock_config.c (same line format, names compared with
strcmp, unlock_time=never means 0) and faillock.conf(5) (deny=3, unlock_time=600 by
default); pam_tally2(8) (no deny: never locks).
"""

from __future__ import annotations

import pytest

from bundles import assert_verdict, debian12, patched
from mzops.compliance import catalogue

CATALOGUE = catalogue.load("mlps3")
PARAMS = CATALOGUE.baseline.parameters          # minlen >= 8, deny <= 5, unlock_time >= 600

DEB_PASSWORD = """password\trequisite\t\t\tpam_pwquality.so retry=3
password\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt
password\trequisite\t\t\tpam_deny.so
password\trequired\t\t\tpam_permit.so
"""
# faillock(8), "EXAMPLES", as Debian writes it with [success=1]
DEB_AUTH = """auth\trequisite\tpam_faillock.so preauth
auth\t[success=1 default=ignore]\tpam_unix.so
auth\t[default=die]\tpam_faillock.so authfail
auth\tsufficient\tpam_faillock.so authsucc
auth\trequisite\tpam_deny.so
auth\trequired\tpam_permit.so
"""
FAILLOCK_CONF = "deny = 5\nunlock_time = 900\n"
RH_RELEASE = 'NAME="openEuler"\nID="openEuler"\nVERSION_ID="22.03"\n'
RH_AUTH = """auth        required      pam_env.so
auth        required      pam_faillock.so preauth audit
auth        sufficient    pam_unix.so try_first_pass
auth        [default=die] pam_faillock.so authfail audit
auth        required      pam_deny.so
"""


def debian(password=DEB_PASSWORD, auth=DEB_AUTH, files=None):
    changes = {"file:/etc/pam.d/common-password": password, "file:/etc/pam.d/common-auth": auth,
               "file:/etc/security/faillock.conf": FAILLOCK_CONF,
               "file:/etc/security/pwquality.conf": "# defaults\n"}
    changes.update(files or {})
    return patched(debian12(), changes)


def red_hat(system_auth=RH_AUTH, password_auth=RH_AUTH):
    return patched(debian12(), {"file:/etc/os-release": RH_RELEASE, "file:/etc/pam.d/system-auth": system_auth,
                                "file:/etc/pam.d/password-auth": password_auth,
                                "file:/etc/security/faillock.conf": FAILLOCK_CONF})


def d(path: str, text: str) -> dict:
    return {f"file:{path}": text}


PWQ, DROP = "/etc/security/pwquality.conf", "/etc/security/pwquality.conf.d/"
CASES = [
    # (id, rule, bundle, verdict, why)
    ("pw-stock-12", "linux.pw.minlen", debian(files=d(PWQ, "minlen = 12\n")), "pass",
     "pam_pwquality requisite first: every way through passes it; minlen 12"),
    ("pw-unix-jumps-onto-deny", "linux.pw.minlen",
     debian("password [success=2 default=ignore] pam_unix.so\n" + DEB_PASSWORD, files=d(PWQ, "minlen = 12\n")),
     "pass", "pam.conf(5): N jumps over the next N modules; success=2 lands on pam_deny: no way around"),
    ("pw-unix-jumps-over-quality", "linux.pw.minlen",
     debian("password [success=3 default=ignore] pam_unix.so\n" + DEB_PASSWORD, files=d(PWQ, "minlen = 12\n")),
     "fail", "success=3 skips pam_pwquality, pam_unix and pam_deny and lands on pam_permit"),
    ("pw-sufficient-unix-first", "linux.pw.minlen",
     debian("password sufficient pam_unix.so\npassword requisite pam_pwquality.so\npassword required pam_deny.so\n",
            files=d(PWQ, "minlen = 12\n")),
     "fail", "sufficient = [success=done]: the stack ends before pam_pwquality"),
    ("pw-quality-optional", "linux.pw.minlen",
     debian(DEB_PASSWORD.replace("requisite\t\t\tpam_pwquality", "optional pam_pwquality"),
            files=d(PWQ, "minlen = 12\n")),
     "fail", "optional = [default=ignore]: a rejected password still changes"),
    ("pw-quality-success-jump", "linux.pw.minlen",
     debian(DEB_PASSWORD.replace("requisite\t\t\tpam_pwquality", "[success=ok default=ignore] pam_pwquality"),
            files=d(PWQ, "minlen = 12\n")),
     "fail", "default=ignore on failure: pam_unix changes the password anyway"),
    ("pw-main-file-wins", "linux.pw.minlen",
     debian(files={**d(PWQ, "minlen = 6\n"), **d(DROP + "50-site.conf", "minlen = 12\n")}),
     "fail", "settings.c reads pwquality.conf.d first and pwquality.conf last: minlen 6"),
    ("pw-drop-in-only", "linux.pw.minlen", debian(files=d(DROP + "50-site.conf", "minlen = 12\n")), "pass",
     "the main file sets nothing: the drop-in's minlen 12 stands"),
    ("pw-drop-ins-in-strcmp-order", "linux.pw.minlen",
     debian(files={**d(DROP + "10-a.conf", "minlen = 12\n"), **d(DROP + "20-b.conf", "minlen = 6\n")}),
     "fail", "scandir with strcmp: 20-b.conf is read after 10-a.conf"),
    ("pw-upper-case-name", "linux.pw.minlen", debian(files=d(PWQ, "MINLEN = 12\n")), "pass",
     "set_name_value compares names with strcasecmp"),
    ("pw-inline-comment", "linux.pw.minlen", debian(files=d(PWQ, "minlen = 12 # site policy\n")), "pass",
     "read_config_file cuts the line at '#'"),
    ("pw-space-separated", "linux.pw.minlen", debian(files=d(PWQ, "minlen 12\n")), "pass",
     "the name ends at white space; '=' is optional"),
    ("pw-not-enforcing", "linux.pw.minlen", debian(files=d(PWQ, "minlen = 12\nenforcing = 0\n")), "fail",
     "pwquality.conf(5): enforcing 0 only warns"),
    ("pw-unknown-name-stops-reading", "linux.pw.minlen",
     debian(files={**d(DROP + "10-a.conf", "minlen = 6\n"), **d(PWQ, "maxlen = 20\nminlen = 12\n")}),
     "fail", "an unknown name ends read_config_file: the main file's minlen 12 is never read"),
    ("pw-argument-wins", "linux.pw.minlen",
     debian(DEB_PASSWORD.replace("pam_pwquality.so retry=3", "pam_pwquality.so retry=3 minlen=6"),
            files=d(PWQ, "minlen = 12\n")),
     "fail", "pam_pwquality.c applies its arguments after the configuration"),
    ("pw-bak-drop-in-ignored", "linux.pw.minlen",
     debian(files={**d(PWQ, "minlen = 12\n"), **d(DROP + "50-old.conf.bak", "minlen = 6\n")}), "pass",
     "filter_conf: only names ending in .conf are read (and main wins anyway)"),
    ("pw-classes-from-credits", "linux.pw.classes",
     debian(files=d(PWQ, "dcredit=-1\nucredit=-1\nlcredit = -1\n")), "pass",
     "three negative credits require three classes"),
    ("pw-history-bypassed", "linux.pw.history",
     debian("password sufficient pam_unix.so\npassword required pam_pwhistory.so remember=5\n"
            "password required pam_deny.so\n"),
     "fail", "sufficient pam_unix ends the stack before pam_pwhistory (and pam_unix has no remember)"),
    ("lock-faillock-stock", "linux.pam.lockout", debian(), "pass",
     "faillock(8) example: preauth before pam_unix, authfail on every failure, deny 5, unlock 900"),
    ("lock-preauth-optional", "linux.pam.lockout", debian(auth=DEB_AUTH.replace("requisite\tpam_faillock.so preauth",
                                                                               "optional\tpam_faillock.so preauth")),
     "fail", "optional preauth: a locked account goes on to pam_unix and logs in"),
    ("lock-preauth-after-unix", "linux.pam.lockout",
     debian(auth="auth sufficient pam_unix.so\nauth required pam_faillock.so preauth\n"
                 "auth [default=die] pam_faillock.so authfail\nauth required pam_deny.so\n"),
     "fail", "pam_unix runs before the lock is checked"),
    ("lock-no-authfail", "linux.pam.lockout",
     debian(auth=DEB_AUTH.replace("auth\t[default=die]\tpam_faillock.so authfail\n", "")),
     "fail", "failures are never recorded without authfail"),
    ("lock-unlock-never", "linux.pam.lockout",
     debian(files=d("/etc/security/faillock.conf", "deny = 5\nunlock_time = never\n")), "pass",
     "faillock_config.c: unlock_time=never is 0, locked until an admin unlocks"),
    ("lock-inline-comment", "linux.pam.lockout",
     debian(files=d("/etc/security/faillock.conf", "deny = 5 # MLPS\nunlock_time=900\n")), "pass",
     "faillock.conf is cut at '#' too"),
    ("lock-deny-too-high", "linux.pam.lockout", debian(files=d("/etc/security/faillock.conf", "deny = 10\n")),
     "fail", "deny 10 > 5"),
    ("lock-default-deny", "linux.pam.lockout", debian(files=d("/etc/security/faillock.conf", "# nothing\n")),
     "pass", "faillock.conf(5): deny 3, unlock_time 600 by default"),
    ("lock-arguments-override", "linux.pam.lockout",
     debian(auth=DEB_AUTH.replace("pam_faillock.so preauth", "pam_faillock.so preauth unlock_time=60")),
     "fail", "pam_faillock applies its arguments after faillock.conf: unlock 60 s"),
    ("lock-tally2-no-deny", "linux.pam.lockout",
     debian(auth="auth required pam_tally2.so onerr=fail\n" + DEB_AUTH.split("\n", 1)[1].replace(
         "auth\t[default=die]\tpam_faillock.so authfail\nauth\tsufficient\tpam_faillock.so authsucc\n", "")),
     "fail", "pam_tally2(8): without deny= it never locks"),
    ("lock-tally2-deny", "linux.pam.lockout",
     debian(auth="auth required pam_tally2.so deny=5 unlock_time=900\n" + DEB_AUTH.split("\n", 1)[1].replace(
         "auth\t[default=die]\tpam_faillock.so authfail\nauth\tsufficient\tpam_faillock.so authsucc\n", "")),
     "pass", "pam_tally2 before pam_unix counts every attempt; deny 5, unlock 900"),
    ("lock-red-hat-both-stacks", "linux.pam.lockout", red_hat(), "pass",
     "system-auth and password-auth both lock"),
    ("lock-red-hat-password-auth-open", "linux.pam.lockout",
     red_hat(password_auth="auth required pam_env.so\nauth sufficient pam_unix.so\nauth required pam_deny.so\n"),
     "fail", "sshd uses password-auth: separate stack, no lock there"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_adversarial_case(case):
    assert_verdict(case)
