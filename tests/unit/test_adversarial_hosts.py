"""Adversarial host configurations beyond PAM, each verdict decided from the program's
documentation before mzops ran on it: sshd_config(5) "Match" and "TIME FORMATS";
passwd(5) and shadow(5); pam_wheel(8); auditctl(8) (-e, -F arch); sudoers(5)
("Including other files", Defaults)."""

from __future__ import annotations

import pytest

from bundles import assert_verdict, debian12, patched
from mzops.compliance import catalogue

CATALOGUE = catalogue.load("mlps3")
PARAMS = CATALOGUE.baseline.parameters     # PermitRootLogin no, ClientAliveInterval 1..300


def sshd(config_tail: str = "", drop_in: str | None = None):
    base = debian12()
    effective = base.sections["sshd_t"].text
    for key, value in (("permitrootlogin", "no"), ("x11forwarding", "no"), ("clientaliveinterval", "300")):
        effective = "\n".join(line for line in effective.splitlines() if not line.startswith(key + " "))
        effective += f"\n{key} {value}"
    config = base.sections["file:/etc/ssh/sshd_config"].text
    changes = {"sshd_t": effective + "\n", "file:/etc/ssh/sshd_config":
               ("Include /etc/ssh/sshd_config.d/*.conf\n" if drop_in is not None else "")
               + config + "PermitRootLogin no\nX11Forwarding no\nClientAliveInterval 300\n" + config_tail}
    if drop_in is not None:
        changes["file:/etc/ssh/sshd_config.d/50-site.conf"] = drop_in
    return patched(base, changes)


SU = "auth       sufficient pam_rootok.so\n{wheel}@include common-auth\n"
AUDIT_ON = "enabled 1\nfailure 1\npid 900\n"
IDENTITY = "".join(f"-w {p} -p wa -k identity\n" for p in
                   ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/security/opasswd"))
TIME_B64 = "-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -F key=time-change\n" \
           "-w /etc/localtime -p wa -k time-change\n"

CASES = [
    ("ssh-global-only", "linux.ssh.root_login", sshd(), "pass", "no Match block: sshd -T is the whole truth"),
    ("ssh-match-address-root", "linux.ssh.root_login",
     sshd("Match Address 10.0.0.0/8\n    PermitRootLogin yes\n"), "fail",
     "Match: keywords on the following lines override the global ones for those connections"),
    ("ssh-match-user-x11", "linux.ssh.x11", sshd("Match User backup\n  X11Forwarding yes\n"), "fail",
     "X11Forwarding is allowed in a Match block"),
    ("ssh-match-compliant", "linux.ssh.root_login", sshd("Match Group sftp\n  PermitRootLogin no\n"), "pass",
     "a Match block that keeps the setting is no finding"),
    ("ssh-match-prohibit-password", "linux.ssh.root_login",
     sshd("Match Address 192.0.2.0/24\n  PermitRootLogin prohibit-password\n"), "fail",
     "prohibit-password (without-password) still lets root in with a key"),
    ("ssh-match-time-format", "linux.ssh.idle_interval",
     sshd("Match User ops\n  ClientAliveInterval 5m\n"), "pass", "TIME FORMATS: 5m is 300 s"),
    ("ssh-match-time-too-long", "linux.ssh.idle_interval",
     sshd("Match User ops\n  ClientAliveInterval 1h\n"), "fail", "1h is 3600 s > 300"),
    ("ssh-match-zero-interval", "linux.ssh.idle_interval",
     sshd("Match User ops\n  ClientAliveInterval 0\n"), "fail", "0 means never for those users"),
    ("ssh-match-in-drop-in", "linux.ssh.root_login",
     sshd(drop_in="Match User root\n  PermitRootLogin yes\n"), "fail", "an Include'd file's Match counts"),
    ("ssh-match-all-ends-block", "linux.ssh.root_login",
     sshd("Match User backup\n  X11Forwarding no\nMatch all\n"), "pass",
     "Match all returns to the global section"),
    ("passwd-empty-field", "linux.acct.empty_passwords",
     patched(debian12(), {"+file:/etc/passwd": "ghost::1234:1234::/home/ghost:/bin/bash\n"}), "fail",
     "passwd(5): an empty password field means no password is asked"),
    ("shadow-max-minus-one", "linux.pw.account_max_age",
     patched(debian12(), {"shadow": "root:password:y:19700:0:-1:7:::\n"}), "fail",
     "shadow(5): no maximum age (-1 is how shadow-utils writes none)"),
    ("passwd-without-shadow-entry", "linux.pw.account_max_age",
     patched(debian12(), {"+file:/etc/passwd": "ghost:x:1234:1234::/home/ghost:/bin/bash\n"}), "fail",
     "passwd(5): x sends the password to shadow; with no shadow entry no aging applies, and a key still logs in"),
    ("passwd-without-shadow-nologin", "linux.pw.account_max_age",
     patched(debian12(), {"+file:/etc/passwd": "svc:x:998:998::/nonexistent:/usr/sbin/nologin\n",
                          "shadow": "root:password:y:19700:0:90:7:::\n"}), "pass",
     "a service account without a login shell and without a shadow entry cannot log in"),
    ("su-wheel-required", "linux.su.wheel",
     patched(debian12(), {"file:/etc/pam.d/su": SU.format(wheel="auth       required   pam_wheel.so\n")}), "pass",
     "pam_wheel required: only wheel members get past it; root passes pam_rootok"),
    ("su-wheel-deny", "linux.su.wheel",
     patched(debian12(), {"file:/etc/pam.d/su": SU.format(wheel="auth required pam_wheel.so deny group=wheel\n")}),
     "fail", "pam_wheel(8) deny: members are refused, everyone else admitted"),
    ("su-wheel-optional", "linux.su.wheel",
     patched(debian12(), {"file:/etc/pam.d/su": SU.format(wheel="auth optional pam_wheel.so\n")}), "fail",
     "optional: a failed pam_wheel is ignored"),
    ("audit-rules-but-disabled", "linux.audit.identity",
     patched(debian12(), {"auditctl_l": IDENTITY, "auditctl_s": "enabled 0\nfailure 1\n"}), "fail",
     "auditctl -e 0: rules loaded, auditing off"),
    ("audit-rules-enabled", "linux.audit.identity",
     patched(debian12(), {"auditctl_l": IDENTITY, "auditctl_s": AUDIT_ON}), "pass", "watches loaded, enabled 1"),
    ("audit-time-b32-only", "linux.audit.time_change",
     patched(debian12(), {"auditctl_l": TIME_B64.replace("arch=b64", "arch=b32"), "auditctl_s": AUDIT_ON}),
     "fail", "-F arch=b32 audits the 32-bit entry points only"),
    ("sudo-include-elsewhere-not-collected", "linux.sudo.all",
     patched(debian12(), {"+file:/etc/sudoers": "@include /etc/sudoers.local\n"}), "error",
     "sudoers(5): an @include'd file is read; one the bundle lacks is no evidence"),
    ("sudo-include-elsewhere-grants-all", "linux.sudo.all",
     patched(debian12(), {"+file:/etc/sudoers": "@include /etc/sudoers.local\n",
                          "file:/etc/sudoers.local": "mallory ALL=(ALL) ALL\n"}), "fail",
     "the included file's grant is sudo's grant"),
    ("sudo-d-without-includedir", "linux.sudo.all",
     patched(debian12(), {"file:/etc/sudoers": "root ALL=(ALL:ALL) ALL\n",
                          "file:/etc/sudoers.d/mallory": "mallory ALL=(ALL) ALL\n"}), "pass",
     "sudoers.d is read only when an includedir names it"),
    ("sudo-defaults-later-negation", "linux.sudo.logging",
     patched(debian12(), {"+file:/etc/sudoers": 'Defaults use_pty\nDefaults logfile="/var/log/sudo.log"\n'
                                               "Defaults !logfile\n"}), "fail",
     "sudoers(5): Defaults apply in order; the last one turns logfile off"),
    ("sudo-defaults-scoped-exemption", "linux.sudo.logging",
     patched(debian12(), {"+file:/etc/sudoers": 'Defaults use_pty\nDefaults logfile="/var/log/sudo.log"\n'
                                               "Defaults:ops !logfile\n"}), "fail",
     "a per-user Defaults exempts ops from the log"),
    ("sudo-defaults-set", "linux.sudo.logging",
     patched(debian12(), {"+file:/etc/sudoers": 'Defaults use_pty, logfile="/var/log/sudo.log"\n'}), "pass",
     "both in force"),
    ("tmout-quoted", "linux.shell.timeout",
     patched(debian12(), {"file:/etc/profile.d/tmout.sh": 'TMOUT="300"\nreadonly TMOUT\nexport TMOUT\n'}), "pass",
     "bash(1): a quoted number is the same assignment"),
    ("tmout-declare-rx", "linux.shell.timeout",
     patched(debian12(), {"file:/etc/profile.d/tmout.sh": "declare -rx TMOUT=300\n"}), "pass",
     "declare -r makes it readonly, -x exports it"),
    ("tmout-only-for-root", "linux.shell.timeout",
     patched(debian12(), {"file:/etc/profile.d/tmout.sh":
                          'if [ "$(id -u)" -eq 0 ]; then\n  readonly TMOUT=300\n  export TMOUT\nfi\n'}), "manual",
     "inside an if: it applies to whom the condition says, not to every login"),
    ("tmout-idempotent-idiom", "linux.shell.timeout",
     patched(debian12(), {"file:/etc/profile.d/tmout.sh":
                          'if [ "${TMOUT:-}" != "300" ]; then TMOUT=300; fi\nreadonly TMOUT 2>/dev/null\n'
                          "export TMOUT\n"}), "pass",
     "a condition on TMOUT itself leaves it 300 for everyone (mzops's own role writes this)"),
    ("tmout-not-readonly", "linux.shell.timeout",
     patched(debian12(), {"file:/etc/profile.d/tmout.sh": "export TMOUT=300\n"}), "fail",
     "a user can unset a variable that is not readonly"),
    ("selinux-configured-permissive", "linux.mac.enforcing",
     patched(debian12(), {"mac": "selinux Enforcing\nselinux_config permissive\n"}), "fail",
     "selinux(8): the configured mode is the one after the next reboot"),
    ("selinux-enforcing-both", "linux.mac.enforcing",
     patched(debian12(), {"mac": "selinux Enforcing\nselinux_config enforcing\n"}), "pass", "running and configured"),
    ("apparmor-all-complain", "linux.mac.enforcing",
     patched(debian12(), {"mac": "apparmor_module Y\napparmor_profiles 12\napparmor_enforced 0\n"}), "fail",
     "apparmor(7): complain mode only logs"),
    ("apparmor-enforcing", "linux.mac.enforcing",
     patched(debian12(), {"mac": "apparmor_module Y\napparmor_profiles 12\napparmor_enforced 9\n"}), "pass",
     "profiles enforced"),
    ("audit-time-b64", "linux.audit.time_change",
     patched(debian12(), {"auditctl_l": TIME_B64, "auditctl_s": AUDIT_ON}), "pass", "64-bit entry points audited"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_adversarial_case(case):
    assert_verdict(case)
