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
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_adversarial_service_case(case):
    assert_verdict(case)
