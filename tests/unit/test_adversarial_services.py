"""Adversarial host configurations for kernel parameters, account defaults, time,
logging and sshd's service command line, each verdict decided from the program's
documentation before mzops ran on it:

- Linux Documentation/networking/ip-sysctl.rst, /proc/sys/net/ipv4/conf/*: how
  conf/all and conf/IFACE combine per key (or, and, max; accept_redirects by
  forwarding).
- shadow-utils src/useradd.c (get_defaults) and lib/getlong.c: /etc/default/useradd
  lines must start with `KEY=`, the last one wins, the value goes through strtol with
  base 0 and nothing may follow it; an invalid INACTIVE is ignored and -1 used.
- chrony.conf(5) (server/pool/refclock, confdir, sourcedir), timesyncd.conf(5) (NTP=,
  FallbackNTP=, empty assignments reset, the compiled-in fallback), proc(5) (comm is
  cut to 15 characters).
- rsyslog.conf(5) and rsyslog's documentation ("Filter Conditions": selectors, `none`,
  `!`, `=`; "Actions": `@@` TCP, `@` UDP, omfwd's default protocol udp, omrelp;
  `stop`/`~` discard; `$IncludeConfig`/`include()` where they stand; rulesets), and the
  syslog-ng Administration Guide (a destination sends only what a log path routes to
  it; network()'s default transport is TCP).
- logrotate(8) and its config.c: global directives affect only what follows them
  (Debian's logrotate.conf says so too), `include` reads a folder in name order without
  taboo extensions, the last rotation criterion wins, `size` rotates regardless of
  time, no criterion rotates on every run, `rotate -1` keeps all, the first block for a
  log is used.
- systemd.service(5)/systemd.exec(5) (ExecStart=, EnvironmentFile= order, `$VAR` split
  into words) and sshd(8) `-o` (command-line options are read before sshd_config, whose
  first value wins): RHEL 8's `sshd -D $OPTIONS $CRYPTO_POLICY`.
"""

from __future__ import annotations

import pytest

from bundles import assert_verdict, debian12, patched, with_sysctl


def timed(process: str | None, files: dict[str, str]):
    """A host running PROCESS (a comm as ps shows it) with these time files collected."""
    base = debian12()
    processes = base.sections["processes"].text
    if process:
        processes += f"root         900 {process:<15} /usr/sbin/{process}\n"
    return patched(base, {"processes": processes, "group:time": "",
                          **{f"file:{path}": text for path, text in files.items()}})


CHRONY = "/etc/chrony/chrony.conf"
TIMESYNCD = "/etc/systemd/timesyncd.conf"


def rsyslog(files: dict[str, str], include: bool = True):
    base = debian12()
    conf = base.sections["file:/etc/rsyslog.conf"].text
    if not include:
        conf = conf.replace("$IncludeConfig /etc/rsyslog.d/*.conf", "")
    return patched(base, {"file:/etc/rsyslog.conf": conf, **{f"file:/etc/rsyslog.d/{n}": t for n, t in files.items()}})


SYSLOG_NG = """@version: 3.38
source s_src { system(); internal(); };
destination d_net { network("10.77.1.1" transport("tcp") port(514)); };
"""


def syslog_ng(text: str):
    return patched(debian12(), {"file:/etc/rsyslog.conf": None, "file:/etc/syslog-ng/syslog-ng.conf": text})


LOGS = "/var/log/syslog /var/log/auth.log /var/log/messages /var/log/secure /var/log/audit/audit.log"


def rotated(conf: str, files: dict[str, str | None]):
    return patched(debian12(), {"file:/etc/logrotate.conf": conf,
                                **{f"file:/etc/logrotate.d/{n}": t for n, t in files.items()}})


RHEL8_UNIT = """[Unit]
Description=OpenSSH server daemon
[Service]
Type=notify
EnvironmentFile=-/etc/crypto-policies/back-ends/opensshserver.config
EnvironmentFile=-/etc/sysconfig/sshd
ExecStart=/usr/sbin/sshd -D $OPTIONS $CRYPTO_POLICY
ExecReload=/bin/kill -HUP $MAINPID
[Install]
WantedBy=multi-user.target
"""
LEGACY_POLICY = ("CRYPTO_POLICY='-oCiphers=aes256-gcm@openssh.com,aes256-ctr,aes256-cbc,aes128-cbc "
                 "-oMACs=hmac-sha2-256-etm@openssh.com,hmac-sha2-256 -oKexAlgorithms=curve25519-sha256'\n")
FUTURE_POLICY = ("CRYPTO_POLICY='-oCiphers=aes256-gcm@openssh.com,aes256-ctr "
                 "-oMACs=hmac-sha2-256-etm@openssh.com -oKexAlgorithms=curve25519-sha256'\n")


def rhel8_sshd(policy: str, sysconfig: str = "# CRYPTO_POLICY=\n", ciphers: str | None = None,
               dropin: str | None = None):
    base = debian12()
    effective = base.sections["sshd_t"].text
    if ciphers:
        effective = "\n".join(l for l in effective.splitlines() if not l.startswith("ciphers ")) + f"\nciphers {ciphers}\n"
    files = {"sshd_t": effective, "file:/usr/lib/systemd/system/sshd.service": RHEL8_UNIT,
             "file:/etc/crypto-policies/back-ends/opensshserver.config": policy,
             "file:/etc/sysconfig/sshd": sysconfig}
    if dropin is not None:
        files["file:/etc/systemd/system/sshd.service.d/override.conf"] = dropin
    return patched(base, files)


def useradd(text: str):
    return patched(debian12(), {"file:/etc/default/useradd": "SHELL=/bin/sh\n" + text})


QUIET = {"net.ipv4.conf.all.accept_redirects": "0", "net.ipv4.conf.default.accept_redirects": "0",
         "net.ipv4.conf.all.send_redirects": "0", "net.ipv4.conf.eth0.accept_redirects": "0",
         "net.ipv4.conf.eth0.send_redirects": "0"}

CASES = [
    ("sysctl-redirects-everywhere-off", "linux.sysctl.redirects", with_sysctl(debian12(), QUIET), "pass",
     "all, default and eth0 are 0"),
    ("sysctl-redirects-eth0-accepts", "linux.sysctl.redirects",
     with_sysctl(debian12(), {**QUIET, "net.ipv4.conf.eth0.accept_redirects": "1"}), "fail",
     "forwarding off: accept_redirects is on when all OR the interface is on"),
    ("sysctl-redirects-eth0-forwards", "linux.sysctl.redirects",
     with_sysctl(debian12(), {**QUIET, "net.ipv4.conf.eth0.accept_redirects": "1",
                              "net.ipv4.conf.eth0.forwarding": "1"}), "pass",
     "forwarding on: accept_redirects needs all AND the interface, and all is 0"),
    ("sysctl-send-redirects-eth0", "linux.sysctl.redirects",
     with_sysctl(debian12(), {**QUIET, "net.ipv4.conf.eth0.send_redirects": "1"}), "fail",
     "send_redirects is on when all OR the interface is on"),
    ("sysctl-lo-ignored", "linux.sysctl.redirects",
     with_sysctl(debian12(), {**QUIET, "net.ipv4.conf.lo.accept_redirects": "1"}), "pass",
     "nothing from outside arrives on lo"),
    ("sysctl-source-route-and", "linux.sysctl.source_route",
     with_sysctl(debian12(), {"net.ipv4.conf.all.accept_source_route": "0",
                              "net.ipv4.conf.default.accept_source_route": "0",
                              "net.ipv4.conf.eth0.accept_source_route": "1"}), "pass",
     "conf/all/accept_source_route must also be on: all = 0 refuses them on every interface"),
    ("sysctl-key-absent", "linux.sysctl.syncookies",
     with_sysctl(debian12(), {"net.ipv4.tcp_syncookies": None}), "error",
     "a key sysctl -a does not list is no value (kernel without it, or output cut)"),
    ("useradd-inactive-30", "linux.acct.inactive", useradd("INACTIVE=30\n"), "pass", "30 days"),
    ("useradd-inactive-spaces", "linux.acct.inactive", useradd("INACTIVE = 30\n"), "fail",
     "the line must start with INACTIVE= exactly: `INACTIVE = 30` is not read"),
    ("useradd-inactive-comment-after", "linux.acct.inactive", useradd("INACTIVE=30 # a month\n"), "fail",
     "getlong: nothing may follow the number; the value is ignored and -1 used"),
    ("useradd-inactive-quoted", "linux.acct.inactive", useradd('INACTIVE="30"\n'), "fail",
     "no shell quoting: \"30\" is not a number"),
    ("useradd-inactive-last-wins", "linux.acct.inactive", useradd("INACTIVE=30\nINACTIVE=-1\n"), "fail",
     "every matching line is read in turn: the last one, -1, stands"),
    ("useradd-inactive-commented", "linux.acct.inactive", useradd("# INACTIVE=30\n"), "fail",
     "a commented line does not start with INACTIVE="),
    ("useradd-inactive-octal", "linux.acct.inactive", useradd("INACTIVE=030\n"), "pass",
     "strtol base 0: 030 is octal 24 days"),
    ("useradd-inactive-leading-blank", "linux.acct.inactive", useradd("INACTIVE= 30\n"), "pass",
     "strtol skips leading white space"),
    ("time-chrony-server", "linux.time.sync", timed("chronyd", {CHRONY: "server 10.77.1.1 iburst\n"}), "pass",
     "chronyd with a configured server"),
    ("time-chrony-commented", "linux.time.sync", timed("chronyd", {CHRONY: "#server 10.77.1.1 iburst\n"}), "fail",
     "chronyd runs with no source at all"),
    ("time-chrony-confdir", "linux.time.sync",
     timed("chronyd", {CHRONY: "confdir /etc/chrony/conf.d\n", "/etc/chrony/conf.d/site.conf": "server 10.77.1.1\n"}),
     "pass", "confdir: its *.conf files are read"),
    ("time-chrony-sourcedir-not-conf", "linux.time.sync",
     timed("chronyd", {CHRONY: "sourcedir /etc/chrony/sources.d\n",
                       "/etc/chrony/sources.d/site.conf": "server 10.77.1.1\n"}), "fail",
     "sourcedir reads *.sources files only"),
    ("time-none-running", "linux.time.sync", timed(None, {CHRONY: "server 10.77.1.1\n"}), "fail",
     "configured but no daemon runs"),
    ("time-timesyncd-fallback-only", "linux.time.sync",
     timed("systemd-timesyn", {TIMESYNCD: "[Time]\n#NTP=\n#FallbackNTP=0.debian.pool.ntp.org\n"}), "fail",
     "no NTP= and no FallbackNTP=: the compiled-in public pool, not a configured time source"),
    ("time-timesyncd-ntp", "linux.time.sync", timed("systemd-timesyn", {TIMESYNCD: "[Time]\nNTP=10.77.1.1\n"}),
     "pass", "systemd-timesyncd (comm systemd-timesyn) with NTP="),
    ("time-timesyncd-dropin-reset", "linux.time.sync",
     timed("systemd-timesyn", {TIMESYNCD: "[Time]\nNTP=10.77.1.1\n",
                               "/etc/systemd/timesyncd.conf.d/50-local.conf": "[Time]\nNTP=\n"}), "fail",
     "an empty NTP= in a later drop-in resets the list"),
    ("time-timesyncd-wrong-section", "linux.time.sync",
     timed("systemd-timesyn", {TIMESYNCD: "[Network]\nNTP=10.77.1.1\n"}), "fail",
     "NTP= counts in the [Time] section only"),
    ("rsyslog-tcp", "linux.log.remote", rsyslog({"90-forward.conf": "*.* @@10.77.1.1:514\n"}), "pass",
     "@@ is TCP, and rsyslog.d is included"),
    ("rsyslog-udp", "linux.log.remote", rsyslog({"90-forward.conf": "*.* @10.77.1.1:514\n"}), "fail",
     "a single @ is UDP"),
    ("rsyslog-not-included", "linux.log.remote",
     rsyslog({"90-forward.conf": "*.* @@10.77.1.1:514\n"}, include=False), "fail",
     "without $IncludeConfig rsyslog never reads rsyslog.d"),
    ("rsyslog-authpriv-none", "linux.log.remote",
     rsyslog({"90-forward.conf": "*.*;auth,authpriv.none @@10.77.1.1:514\n"}), "fail",
     "none takes auth and authpriv out of the selector: the security log stays local"),
    ("rsyslog-only-authpriv", "linux.log.remote", rsyslog({"90-forward.conf": "authpriv.* @@10.77.1.1\n"}), "fail",
     "auth (sshd's default facility) is not selected"),
    ("rsyslog-stop-before", "linux.log.remote",
     rsyslog({"10-local.conf": "auth,authpriv.*\t/var/log/secure\n& stop\n",
              "90-forward.conf": "*.* @@10.77.1.1:514\n"}), "fail",
     "& stop discards auth and authpriv before the forwarding statement sees them"),
    ("rsyslog-stop-after", "linux.log.remote",
     rsyslog({"10-forward.conf": "*.* @@10.77.1.1:514\n", "90-local.conf": "auth,authpriv.* stop\n"}), "pass",
     "statements run in order: forwarded first, discarded after"),
    ("rsyslog-omfwd-tcp-multiline", "linux.log.remote",
     rsyslog({"90-forward.conf": '*.* action(type="omfwd"\n  target="10.77.1.1" port="514"\n  protocol="tcp")\n'}),
     "pass", "omfwd with protocol=\"tcp\", split over lines"),
    ("rsyslog-omfwd-default-udp", "linux.log.remote",
     rsyslog({"90-forward.conf": '*.* action(type="omfwd" target="10.77.1.1" port="514")\n'}), "fail",
     "omfwd's protocol defaults to udp"),
    ("rsyslog-if-programname", "linux.log.remote",
     rsyslog({"90-forward.conf": "if $programname == 'sshd' then @@10.77.1.1\n"}), "manual",
     "forwarded only when an expression holds: which messages is for a person to judge"),
    ("rsyslog-prifilt", "linux.log.remote",
     rsyslog({"90-forward.conf": 'if prifilt("auth,authpriv.*") then action(type="omfwd" target="10.77.1.1" '
                                 'protocol="tcp")\n'}), "pass", "prifilt() is a selector"),
    ("rsyslog-unbound-ruleset", "linux.log.remote",
     rsyslog({"90-forward.conf": 'ruleset(name="remote") {\n  *.* @@10.77.1.1\n}\n'}), "fail",
     "a ruleset no input is bound to and nothing calls runs for no message"),
    ("rsyslog-relp", "linux.log.remote", rsyslog({"90-forward.conf": "*.* :omrelp:10.77.1.1:2514\n"}), "pass",
     "RELP runs over TCP"),
    ("syslog-ng-unused-destination", "linux.log.remote", syslog_ng(SYSLOG_NG), "fail",
     "a destination no log path uses sends nothing"),
    ("syslog-ng-routed", "linux.log.remote",
     syslog_ng(SYSLOG_NG + "log { source(s_src); destination(d_net); };\n"), "pass",
     "network() over TCP, routed by a log path without filter"),
    ("syslog-ng-udp", "linux.log.remote",
     syslog_ng(SYSLOG_NG.replace('transport("tcp")', 'transport("udp")') +
               "log { source(s_src); destination(d_net); };\n"), "fail", "transport(\"udp\")"),
    ("syslog-ng-filtered", "linux.log.remote",
     syslog_ng(SYSLOG_NG + "filter f_auth { facility(auth, authpriv); };\n"
               "log { source(s_src); filter(f_auth); destination(d_net); };\n"), "manual",
     "what a filter lets through is not evaluated"),
    ("logrotate-27-weeks", "linux.log.retention",
     rotated("weekly\nrotate 4\ninclude /etc/logrotate.d\n", {"rsyslog": LOGS + " {\n  rotate 27\n}\n"}), "pass",
     "weekly from the globals before the include, 27 copies: 189 days"),
    ("logrotate-globals-after-include", "linux.log.retention",
     rotated("include /etc/logrotate.d\nweekly\nrotate 52\n", {"rsyslog": LOGS + " {\n  missingok\n}\n"}), "fail",
     "global options do not affect preceding include directives: the block rotates daily keeping none"),
    ("logrotate-no-include", "linux.log.retention",
     rotated("weekly\nrotate 4\n", {"rsyslog": LOGS + " {\n  rotate 52\n}\n"}), "fail",
     "logrotate.conf never includes logrotate.d: that block is not read"),
    ("logrotate-taboo-extension", "linux.log.retention",
     rotated("weekly\ninclude /etc/logrotate.d\n", {"rsyslog": "/var/log/mail.log {\n rotate 4\n}\n",
                                                      "rsyslog.dpkg-old": LOGS + " {\n  rotate 52\n}\n"}), "fail",
     ".dpkg-old files are skipped by include: no block for the security logs"),
    ("logrotate-no-criterion", "linux.log.retention",
     rotated("include /etc/logrotate.d\n", {"rsyslog": LOGS + " {\n  rotate 26\n}\n"}), "fail",
     "no interval: rotated on every (daily) run, 26 copies are 26 days"),
    ("logrotate-last-criterion-wins", "linux.log.retention",
     rotated("include /etc/logrotate.d\n", {"rsyslog": LOGS + " {\n  monthly\n  daily\n  rotate 30\n}\n"}), "fail",
     "daily after monthly: daily wins, 30 days"),
    ("logrotate-size", "linux.log.retention",
     rotated("weekly\ninclude /etc/logrotate.d\n", {"rsyslog": LOGS + " {\n  rotate 52\n  size 100M\n}\n"}),
     "manual", "size after weekly: rotated when it grows, the days kept are unknown"),
    ("logrotate-keep-all-but-maxage", "linux.log.retention",
     rotated("weekly\ninclude /etc/logrotate.d\n", {"rsyslog": LOGS + " {\n  rotate -1\n  maxage 90\n}\n"}), "fail",
     "rotate -1 keeps every copy, but maxage removes those older than 90 days"),
    ("logrotate-duplicate-first-wins", "linux.log.retention",
     rotated("weekly\ninclude /etc/logrotate.d\n", {"aaa-site": LOGS + " {\n  rotate 4\n}\n",
                                                      "rsyslog": LOGS + " {\n  rotate 52\n}\n"}), "fail",
     "the first block for a log is used; the later one is a duplicate logrotate skips"),
    ("sshd-crypto-policy-weak", "linux.ssh.ciphers", rhel8_sshd(LEGACY_POLICY), "fail",
     "sshd_config's ciphers are strong, but the service passes -oCiphers with CBC from the crypto policy"),
    ("sshd-crypto-policy-strong-overrides-config", "linux.ssh.ciphers",
     rhel8_sshd(FUTURE_POLICY, ciphers="aes128-cbc,aes256-ctr"), "pass",
     "a weak Ciphers in sshd_config is never used: the command line's -oCiphers comes first"),
    ("sshd-crypto-policy-opted-out", "linux.ssh.ciphers",
     rhel8_sshd(FUTURE_POLICY, sysconfig="CRYPTO_POLICY=\n", ciphers="aes128-cbc,aes256-ctr"), "fail",
     "/etc/sysconfig/sshd is read after the policy file: an empty CRYPTO_POLICY leaves sshd_config in force"),
    ("sshd-crypto-policy-execstart-replaced", "linux.ssh.ciphers",
     rhel8_sshd(FUTURE_POLICY, ciphers="aes128-cbc,aes256-ctr",
                dropin="[Service]\nExecStart=\nExecStart=/usr/sbin/sshd -D $OPTIONS\n"), "fail",
     "a drop-in resets ExecStart= without $CRYPTO_POLICY: the weak sshd_config list stands"),
    ("sshd-debian-sshd-opts", "linux.ssh.macs",
     patched(debian12(), {"file:/lib/systemd/system/ssh.service":
                          "[Service]\nEnvironmentFile=-/etc/default/ssh\nExecStart=/usr/sbin/sshd -D $SSHD_OPTS\n",
                          "file:/etc/default/ssh": 'SSHD_OPTS="-o MACs=hmac-sha2-256,hmac-md5"\n'}), "fail",
     "Debian passes $SSHD_OPTS from /etc/default/ssh: -o MACs with hmac-md5 is what sshd uses"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_adversarial_service_case(case):
    assert_verdict(case)
