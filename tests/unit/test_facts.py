"""Each fact's parser on recorded command output and file contents, awkward cases
included. Where the semantics come from is named per test (the program's man page)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mzops.bundle import Bundle, Section
from mzops.facts import FactError, Facts, base, pam
from mzops.facts import accounts as facts_accounts
from mzops.facts import sshd, sudo, system, text

COLLECTOR = (Path(__file__).resolve().parents[2] / "mzops" / "compliance" / "collect_linux.sh").read_text()


def bundle(**sections) -> Facts:
    out = {}
    for name, value in sections.items():
        key = name.replace("__", ":").replace("_SLASH_", "/")
        rc, data = value if isinstance(value, tuple) else (0, value)
        out[key] = Section(rc, data if isinstance(data, bytes) else data.encode())
    return Facts(Bundle("h1", "", out))


def files(**paths) -> Facts:
    return Facts(Bundle("h1", "", {f"file:{p}": Section(0, t if isinstance(t, bytes) else t.encode())
                                   for p, t in paths.items()}))


def _groups_of_collector() -> dict[str, str]:
    """The collector's groups and the body of each (collect_linux.sh's case arms)."""
    arms = re.findall(r"^  ([a-z_]+)\)\n(.*?)^    ;;", COLLECTOR, re.M | re.S)
    return dict(arms)


@pytest.mark.parametrize("cls", [c for m in (facts_accounts, sshd, sudo, system) for c in vars(m).values()
                                 if isinstance(c, type) and issubclass(c, base.Fact) and c is not base.Fact],
                         ids=lambda c: c.__name__)
def test_every_fact_names_a_collector_group_that_gathers_its_sections(cls):
    groups = _groups_of_collector()
    assert cls.group in groups, f"{cls.__name__}: no collector group {cls.group!r}"
    body = groups[cls.group]
    for section in cls.sections:
        if section.startswith("file:"):
            path = section[5:]
            assert path in body, f"{cls.__name__}: group {cls.group} does not collect {path}"
        else:
            assert re.search(rf"\bsec {re.escape(section)}\b", body), f"{cls.__name__}: no section {section}"


def test_passwd_skips_comments_and_malformed_lines_and_keeps_line_numbers():
    # passwd(5): seven colon-separated fields; NIS "+" lines and comments carry no account.
    text = "root:x:0:0:root:/root:/bin/bash\n# local\n\nbroken:x:notanumber:0::/:/bin/sh\n+::::::\n" \
           "lina:x:1001:1001:Li Na,,,:/home/lina:/bin/bash\n"
    found = files(**{"/etc/passwd": text}).accounts
    assert [(a.name, a.uid, a.origin.number) for a in found] == [("root", 0, 1), ("lina", 1001, 6)]


def test_groups_members_with_odd_spacing():
    found = files(**{"/etc/group": "wheel:x:10:root, lina ,\nempty:x:11:\n"}).groups
    assert [(g[0], g[2]) for g in found] == [("wheel", ["root", "lina"]), ("empty", [])]


def test_groups_of_counts_the_primary_group():
    f = files(**{"/etc/passwd": "lina:x:1001:10::/home/lina:/bin/bash\n", "/etc/group": "wheel:x:10:\nops:x:20:lina\n"})
    assert f.groups_of("lina") == {"wheel", "ops"}


def test_shadow_summary_fields_and_empty_numbers():
    # shadow(5) fields 3-9 may be empty (no ageing): they parse as None, not 0.
    f = bundle(shadow="root:password:y:19700:0:99999:7:::\nbin:nologin:::::::\nshort:password\n")
    assert f.shadow["root"].algorithm == "y" and f.shadow["root"].max_days == 99999
    assert f.shadow["root"].inactive is None and f.shadow["bin"].state == "nologin"
    assert "short" not in f.shadow


def test_login_defs_last_setting_wins_and_tabs_separate():
    f = files(**{"/etc/login.defs": "PASS_MAX_DAYS\t99999\n# PASS_MAX_DAYS 30\nPASS_MAX_DAYS   90\nUID_MIN 500\n"})
    value, line = f.login_defs["PASS_MAX_DAYS"]
    assert value == "90" and line.number == 3 and f.uid_min() == 500
    assert files().uid_min() == 1000   # login.defs(5): UID_MIN defaults to 1000


def test_shells_without_a_file_and_nologin_ones():
    assert files(**{"/etc/shells": "/bin/bash\n/usr/sbin/nologin\n/bin/false\n"}).login_shells == {"/bin/bash"}
    assert "/bin/bash" in files().login_shells


def test_authorized_keys_comment_without_the_key_type():
    f = bundle(authorized_keys="lina 256 SHA256:abc lina@laptop (ED25519)\nops 3072 SHA256:def (RSA)\n")
    assert f.authorized_keys == {"lina": [("SHA256:abc", "lina@laptop")], "ops": [("SHA256:def", "")]}


def test_sshd_t_lower_cases_keys_and_keeps_repeated_ones():
    f = bundle(sshd_t="PermitRootLogin no\nciphers aes256-gcm@openssh.com\nsubsystem sftp /x\nsubsystem y /z\n")
    assert f.sshd["permitrootlogin"] == ["no"] and f.sshd["subsystem"] == ["sftp /x", "y /z"]
    assert bundle(sshd_t=(255, "/etc/ssh/sshd_config line 3: Bad configuration option")).sshd == {}


def test_sshd_source_follows_include_in_sshd_order():
    # sshd_config(5): the first obtained value wins; Include is read where it stands.
    f = files(**{"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n",
                 "/etc/ssh/sshd_config.d/50-a.conf": "permitrootlogin no\n",
                 "/etc/ssh/sshd_config.d/10-b.conf": "X11Forwarding no\n"})
    assert str(f.sshd_source("PermitRootLogin")) == "/etc/ssh/sshd_config.d/50-a.conf:1: permitrootlogin no"
    assert f.sshd_source("MaxAuthTries") is None


def test_sudoers_drop_ins_in_order_skipping_tilde_and_dotted_names_with_continuations():
    # sudoers(5), "Including other files": files ending in ~ or containing . are skipped.
    f = files(**{"/etc/sudoers": "Defaults env_reset\n@includedir /etc/sudoers.d\nroot ALL=(ALL:ALL) ALL\n",
                 "/etc/sudoers.d/ops": "%ops ALL=(ALL) NOPASSWD: \\\n    /usr/bin/systemctl\n",
                 "/etc/sudoers.d/old~": "mallory ALL=(ALL) ALL\n",
                 "/etc/sudoers.d/README.txt": "eve ALL=(ALL) ALL\n"})
    texts = [str(line) for line in f.sudoers]   # the includedir is read where it stands
    assert texts == ["/etc/sudoers:1: Defaults env_reset",
                     "/etc/sudoers.d/ops:1: %ops ALL=(ALL) NOPASSWD:      /usr/bin/systemctl",
                     "/etc/sudoers:3: root ALL=(ALL:ALL) ALL"]
    assert [(who, str(line.path)) for who, line in f.sudo_all_grants] == [(["root"], "/etc/sudoers")]
    specs = sudo.user_specs(f.sudoers)
    assert [s[0] for s in specs] == [["%ops"], ["root"]]


def test_sudoers_d_is_read_only_when_an_includedir_names_it_and_includes_follow_sudo():
    # sudoers(5), "Including other files": #include and @include, relative to the file's folder.
    no_dir = files(**{"/etc/sudoers": "root ALL=(ALL) ALL\n", "/etc/sudoers.d/extra": "eve ALL=(ALL) ALL\n"})
    assert [str(line) for line in no_dir.sudoers] == ["/etc/sudoers:1: root ALL=(ALL) ALL"]
    nested = files(**{"/etc/sudoers": "#include sudoers.local\nroot ALL=(ALL) ALL\n",
                      "/etc/sudoers.local": "Defaults:ops !logfile\nops ALL=(ALL) ALL\n"})
    assert [line.path for line in nested.sudoers] == ["/etc/sudoers.local", "/etc/sudoers.local", "/etc/sudoers"]


def test_sudo_defaults_in_order_with_scopes():
    f = files(**{"/etc/sudoers": 'Defaults use_pty, logfile="/var/log/sudo.log"\nDefaults:ops !use_pty\n'
                                  "Defaults !logfile\n"})
    got = [(d.scope, d.name, d.negated, d.value) for d in sudo.defaults(f.sudoers)]
    assert got == [("", "use_pty", False, ""), ("", "logfile", False, '"/var/log/sudo.log"'),
                   (":ops", "use_pty", True, ""), ("", "logfile", True, "")]


def test_sudo_all_with_tags_and_several_principals():
    f = files(**{"/etc/sudoers": "User_Alias ADMINS = a, b\nlina, %wheel ALL = (root) NOPASSWD: ALL\n"
                                  "ops ALL=(ALL) /bin/ls, ALL\n"})
    assert [who for who, _ in f.sudo_all_grants] == [["lina", "%wheel"], ["ops"]]


def test_non_utf8_bytes_do_not_stop_the_parse():
    f = files(**{"/etc/sudoers": b"# caf\xe9\nroot ALL=(ALL) ALL\n"})
    assert [who for who, _ in f.sudo_all_grants] == [["root"]]


def test_pam_includes_controls_and_silent_entries():
    # pam.conf(5): "-type" hides a missing module's error; [value=action] controls; include.
    f = files(**{"/etc/pam.d/sshd": "@include common-auth\n-session optional pam_systemd.so\n"
                                    "auth [success=1 default=ignore] pam_unix.so nullok\n",
                 "/etc/pam.d/common-auth": "auth required /lib/security/pam_faillock.so preauth deny=5 "
                                           "unlock_time=900\n",
                 "/etc/pam.d/loop": "auth include loop\n"})
    entries = f.pam_stack("sshd")
    # each type is its own stack to libpam: auth lines first, then session
    assert [(e.kind, e.control, e.module) for e in entries] == [
        ("auth", "required", "pam_faillock.so"), ("auth", "[success=1 default=ignore]", "pam_unix.so"),
        ("session", "optional", "pam_systemd.so")]
    assert entries[0].arg("deny") == "5" and entries[1].arg("nullok") == "" and entries[1].arg("x") is None
    assert f.pam_stack("sshd", "session")[0].module == "pam_systemd.so"
    assert pam.stack(f, "loop") == []          # an include loop ends, it does not hang
    assert f.pam_stack("missing") == []


def test_meaningful_lines_keep_the_first_line_number_of_a_continued_line_and_split_at_newlines_only():
    # \x0c is surrounding white space to a config reader; \x1e is data (a value may hold it).
    lines = text.meaningful_lines("/f", "a \\\n  b\r\n# c\n\x0cd\x1ee\n")
    assert [(line.number, line.text) for line in lines] == [(1, "a    b"), (4, "d\x1ee")]


def test_packages_dpkg_and_rpm_rows_installed_only():
    f = bundle(packages="openssh-server:amd64\t1:9.2p1-2\tii \nold\t1.0\trc \naide\t0.17\ti\n")
    assert f.packages == {"openssh-server": "1:9.2p1-2", "aide": "0.17"}


def test_enabled_units_sysv_links_become_services():
    f = bundle(enabled="systemd ssh.service\nsysv S02rsyslog\nbroken\n")
    assert f.enabled_units == {"ssh.service", "rsyslog.service"}


def test_listeners_from_ss_with_ipv6_and_processes():
    text = ('Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n'
            'tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))\n'
            'tcp LISTEN 0 128 [::]:23 [::]:* users:(("inetd",pid=9,fd=4))\n'
            'udp UNCONN 0 0 127.0.0.1:323 0.0.0.0:*\n')
    found = bundle(listening=text).listeners
    assert [(l.address, l.port, l.process) for l in found] == [("0.0.0.0", 22, "sshd"), ("[::]", 23, "inetd"),
                                                               ("127.0.0.1", 323, "")]


def test_inetd_and_xinetd_enabled_services_only():
    f = files(**{"/etc/inetd.conf": "# telnet stream tcp nowait root /usr/sbin/in.telnetd\n"
                                    "telnet stream tcp nowait root /usr/sbin/in.telnetd\n",
                 "/etc/xinetd.d/rsh": "service shell\n{\n disable = yes\n}\n",
                 "/etc/xinetd.d/tftp": "service tftp\n{\n disable = no\n}\n"})
    assert [str(l) for l in f.inetd_services] == ["/etc/inetd.conf:2: telnet stream tcp nowait root "
                                                  "/usr/sbin/in.telnetd", "/etc/xinetd.d/tftp:1: service tftp"]


def test_sysctl_values_with_spaces_and_missing_keys():
    f = bundle(sysctl="kernel.randomize_va_space = 2\nnet.ipv4.ip_local_port_range = 32768\t60999\nbad line\n")
    assert f.sysctl == {"kernel.randomize_va_space": "2", "net.ipv4.ip_local_port_range": "32768\t60999"}


def test_audit_rules_none_when_unreadable_and_empty_when_no_rules():
    assert bundle(auditctl_l=(1, "You must be root")).audit_rules is None
    assert bundle(auditctl_l="No rules\n").audit_rules == []
    assert bundle(auditctl_l="-w /etc/passwd -p wa -k identity\n").audit_rules == ["-w /etc/passwd -p wa -k identity"]
    assert bundle(auditctl_s=(1, "")).audit_status is None
    assert bundle(auditctl_s="enabled 1\nfailure 1\n").audit_status == {"enabled": "1", "failure": "1"}


def test_stat_lists_modes_in_octal_and_a_damaged_row_is_an_error_not_an_absent_file():
    f = bundle(stat="/etc/shadow|640|root|shadow|1024|regular file\n/var/log/|755|root|root|4096|directory\n")
    assert f.stats["/etc/shadow"].mode == 0o640 and f.stats["/var/log"].kind == "directory"
    damaged = bundle(stat="/etc/shadow|640|root|shadow|1|regular file\n/x|rw-r--r--|root|root|1|regular file\n")
    with pytest.raises(FactError, match=r"stat: damaged row '/x\|rw-r--r--.*' \(mode 'rw-r--r--' is not octal\)"):
        damaged.stats


def test_os_release_quotes_and_comments():
    f = files(**{"/etc/os-release": '# comment\nID="kylin"\nID_LIKE=\'rhel fedora\'\nVERSION_ID=V10\n'})
    assert f.os_release == {"ID": "kylin", "ID_LIKE": "rhel fedora", "VERSION_ID": "V10"}


def test_a_fact_is_parsed_once_per_bundle():
    calls = []

    class Counted(base.Fact[int]):
        def parse(self, facts):
            calls.append(1)
            return 42

    f = files()
    assert f.get(Counted) == f.get(Counted) == 42 and len(calls) == 1


def _walk(**stacks):
    from mzops.facts import pamwalk

    f = files(**{f"/etc/pam.d/{k}": v for k, v in stacks.items()})
    return {(p.outcome, tuple((s.entry.module, s.result) for s in p.steps)) for p in pamwalk.paths(f, "main", "auth")}


def test_pam_walk_done_in_an_include_ends_the_stack_but_in_a_substack_only_the_substack():
    # pam.conf(5), "substack": done and die in a substack end the substack only.
    included = _walk(main="auth include inner\nauth requisite pam_deny.so\n", inner="auth sufficient pam_permit.so\n")
    assert included == {("success", (("pam_permit.so", "success"),))}
    nested = _walk(main="auth substack inner\nauth requisite pam_deny.so\n", inner="auth sufficient pam_permit.so\n")
    assert nested == {("failure", (("pam_permit.so", "success"), ("pam_deny.so", "failure")))}


def test_pam_walk_jumps_ok_and_bad():
    # [success=1 default=ignore]: success jumps over one module; ok takes the module's
    # result unless the stack already failed; bad fails the stack but goes on.
    got = _walk(main="auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\n"
                     "auth required pam_permit.so\n")
    assert got == {("success", (("pam_unix.so", "success"), ("pam_permit.so", "success"))),
                   ("failure", (("pam_unix.so", "failure"), ("pam_deny.so", "failure")))}
    bad_then_ok = _walk(main="auth [default=bad] pam_deny.so\nauth required pam_permit.so\n")
    assert bad_then_ok == {("failure", (("pam_deny.so", "failure"), ("pam_permit.so", "success")))}
