"""Audit, logging, integrity, mandatory access control, time, malware, updates."""

from __future__ import annotations

import fnmatch
import re

from mzops.facts import logrotate, syslog, timesync
from mzops.compliance.checks import (ERROR, FAIL, MANUAL, PASS, Context, Outcome, check)


@check("daemon_active", needs=("packages", "services"))
def daemon_active(ctx: Context) -> Outcome:
    """A daemon installed, enabled at boot and running (auditd, a syslog daemon, chrony, ...)."""
    processes, units = ctx.args["processes"], ctx.args.get("units", [])
    label = ctx.args.get("label", "/".join(processes))
    expected = f"{label} running" + (" and enabled" if units else "")
    running = ctx.facts.running(processes)
    enabled = sorted(u for u in ctx.facts.enabled_units if u.removesuffix(".service") in units)
    evidence = [f"running: {p}" for p in running] + [f"enabled: {u}" for u in enabled]
    if running and (enabled or not units):
        return Outcome(PASS, expected, "running" + (" and enabled" if enabled else ""), evidence)
    actual = "not running" if not running else "running but not enabled at boot"
    return Outcome(FAIL, expected, actual, evidence or [f"no {label} process; no enabled unit"])


def _audit_rules(ctx: Context, expected: str) -> tuple[list[str] | None, Outcome | None]:
    rules = ctx.facts.audit_rules
    if rules is not None:
        return rules, None
    rc, text = ctx.facts.rc("auditctl_l"), (ctx.facts.text("auditctl_l") or "").strip()
    if rc == 127:
        return None, Outcome(FAIL, expected, "auditctl not installed", ["auditctl: command not found"])
    return None, Outcome(ERROR, expected, f"loaded audit rules unreadable (exit {rc})", [text[:200]])


@check("audit_watch", needs=("audit",))
def audit_watch(ctx: Context) -> Outcome:
    """Loaded kernel audit rules (not rule files) watch these paths / syscalls."""
    paths, syscalls = ctx.args.get("paths", []), ctx.args.get("syscalls", [])
    expected = "loaded audit rules cover " + ", ".join(paths + syscalls)
    rules, early = _audit_rules(ctx, expected)
    if early:
        return early
    status = ctx.facts.audit_status
    if status is not None and status.get("enabled") == "0":   # auditctl(8) -e 0: rules loaded, nothing audited
        return Outcome(FAIL, expected, "auditing is disabled in the kernel (enabled 0)", ["auditctl -s: enabled 0"])
    missing, evidence = [], []
    for path in paths:
        hits = [r for r in rules if re.search(rf"(-w|path=|dir=)\s*{re.escape(path)}(\s|$)", r)]
        (evidence.extend(hits[:1]) if hits else missing.append(path))
    for name in syscalls:
        # A rule for arch=b32 only audits the 32-bit entry points: on a 64-bit host the
        # 64-bit calls go unaudited (auditctl(8), "-F arch").
        hits = [r for r in rules if re.search(rf"-S\s+(\S+,)?{re.escape(name)}(,|\s|$)", r)
                and "arch=b32" not in r]
        (evidence.extend(hits[:1]) if hits else missing.append(name))
    return Outcome(FAIL if missing else PASS, expected,
                   f"not audited: {', '.join(missing)}" if missing else "all audited",
                   evidence + [f"auditctl -l: nothing for {m}" for m in missing])


@check("audit_immutable", needs=("audit",))
def audit_immutable(ctx: Context) -> Outcome:
    expected = "audit configuration locked until reboot (enabled 2, `-e 2`)"
    status = ctx.facts.audit_status
    if status is None:
        _, early = _audit_rules(ctx, expected)
        rc = ctx.facts.rc("auditctl_s")
        if rc == 127:
            return Outcome(FAIL, expected, "auditctl not installed", ["auditctl: command not found"])
        return Outcome(ERROR, expected, "audit status unreadable", [(ctx.facts.text("auditctl_s") or "")[:200]])
    enabled = status.get("enabled", "?")
    return Outcome(PASS if enabled == "2" else FAIL, expected, f"enabled {enabled}", [f"auditctl -s: enabled {enabled}"])


@check("remote_logging", needs=("logs",))
def remote_logging(ctx: Context) -> Outcome:
    """The security messages (auth, authpriv) forwarded to a central log host, followed
    through rsyslog's statements in order or syslog-ng's log paths (mzops/facts/syslog.py)."""
    require_tcp = ctx.args.get("require_tcp", True)
    expected = "auth and authpriv messages forwarded to a central log host" + (" over TCP" if require_tcp else "")
    found = [f for f in (syslog.rsyslog(ctx.facts), syslog.syslog_ng(ctx.facts)) if f is not None]
    evidence = [e for f in found for e in f.evidence]
    discarded = [f"{line} -- discards {facility} before any forwarding" for f in found
                 for facility, line in f.discarded.items() if facility not in f.reached]
    reached: dict[str, str] = {}
    for f in found:
        for facility, transport in f.reached.items():
            if reached.get(facility) != "tcp":
                reached[facility] = transport
    facilities = [k for k, _ in syslog.KINDS]
    if all(reached.get(k) == "tcp" or (reached.get(k) and not require_tcp) for k in facilities):
        return Outcome(PASS, expected, "forwarding", evidence)
    if all(reached.get(k) for k in facilities):
        return Outcome(FAIL, expected, "forwarding over UDP only (records can be lost)", evidence)
    missing = [k for k in facilities if not reached.get(k)]
    conditional = [c for f in found for c in f.conditional]
    if conditional and not discarded:
        return Outcome(MANUAL, expected, f"{', '.join(missing)} forwarded only under conditions mzops does "
                       "not evaluate: check by hand", evidence + conditional)
    return Outcome(FAIL, expected, f"{', '.join(missing)} not forwarded",
                   evidence + discarded + conditional
                   or ["no rsyslog forwarding action (@@, omfwd, omrelp) and no syslog-ng log path to a network "
                       "destination"])


FREQUENCY_DAYS = {"hourly": 1 / 24, "daily": 1, "weekly": 7, "monthly": 28, "yearly": 365}


@check("log_retention", needs=("logs",))
def log_retention(ctx: Context) -> Outcome:
    """Local rotation keeps `days` of the named logs, read as logrotate reads its
    configuration (mzops/facts/logrotate.py), or a central log host is declared to keep
    them (parameter central_retention_days) and forwarding is configured."""
    days, logs = int(ctx.args["days"]), ctx.args["logs"]
    expected = f"security logs kept >= {days} days (local rotation, or forwarded to a central store that keeps them)"
    central = ctx.args.get("central_retention_days") or 0
    forwarded = remote_logging(Context(ctx.facts, ctx.platform, {"require_tcp": False})).status == PASS
    if central >= days and forwarded:
        return Outcome(PASS, expected, f"central log host keeps {central} days",
                       [f"parameter central_retention_days = {central}, forwarding configured"])
    found, notes = logrotate.blocks(ctx.facts)
    kept, evidence, unproven = [], [], []
    for log in logs:
        block = next((b for b in found if any(fnmatch.fnmatch(log, p) for p in b.patterns)), None)
        if block is None:
            continue
        opts, criterion = block.options, block.criterion
        if criterion == "size" or "maxsize" in opts:
            unproven.append(f"{block.where} -> {log}: rotated by size ({opts.get('size') or opts.get('maxsize')}), "
                            "so the days kept depend on how fast it grows")
            continue
        rotate = opts.get("rotate", "0")
        count = -1 if rotate.strip() == "-1" else int(rotate) if rotate.strip().isdigit() else 0
        span = float("inf") if count == -1 else count * FREQUENCY_DAYS[criterion]
        if opts.get("maxage", "").isdigit():
            span = min(span, int(opts["maxage"]))
        kept.append(span)
        evidence.append(f"{block.where} -> {log}: {criterion}, rotate {rotate}"
                        + (f", maxage {opts['maxage']}" if "maxage" in opts else "") + f" = {span:.0f} days")
    evidence += notes
    if kept and min(kept) < days:
        return Outcome(FAIL, expected, f"{min(kept):.0f} days kept locally", evidence + unproven)
    if unproven:
        return Outcome(MANUAL, expected, "retention of a log rotated by size: check the oldest copy by hand",
                       evidence + unproven)
    if not kept:
        return Outcome(FAIL, expected, "no rotation policy found for the security logs",
                       [f"no logrotate block for {', '.join(logs)} in what /etc/logrotate.conf includes"] + notes)
    return Outcome(PASS, expected, f"{min(kept):.0f} days kept locally", evidence)


@check("log_permissions", needs=("logs",))
def log_permissions(ctx: Context) -> Outcome:
    protected = ctx.args["protected"]
    bad = []
    for st in ctx.facts.varlog:
        if st.mode & 0o002:
            bad.append(f"{st.path}: {st.mode:04o} world-writable")
        elif st.mode & 0o004 and any(fnmatch.fnmatch(st.path, p + "*") for p in protected):
            bad.append(f"{st.path}: {st.mode:04o} world-readable")
    return Outcome(FAIL if bad else PASS,
                   "no log file world-writable; security logs not world-readable",
                   f"{len(bad)} file(s)" if bad else "as expected",
                   bad or [f"{len(ctx.facts.varlog)} files under /var/log checked"])


@check("auditd_conf", needs=("audit",))
def auditd_conf(ctx: Context) -> Outcome:
    """What auditd does when its disk fills: never silently drop records."""
    wanted = ctx.args["settings"]  # key -> allowed values
    path = "/etc/audit/auditd.conf"
    expected = "; ".join(f"{k} in {'/'.join(v)}" for k, v in wanted.items())
    if ctx.facts.file(path) is None:
        return Outcome(FAIL, expected, f"{path} missing (auditd not installed)", [f"{path}: not found"])
    kv = {k.lower(): v for k, v in ctx.facts.keyvalues(path, "=").items()}
    bad, evidence = [], []
    for key, allowed in wanted.items():
        found = kv.get(key)
        value = found[0].lower() if found else "(not set)"
        (evidence if value in [a.lower() for a in allowed] else bad).append(
            str(found[1]) if found else f"{path}: {key} not set")
    return Outcome(FAIL if bad else PASS, expected, "; ".join(bad) or "as expected", bad + evidence)


@check("mac_enforcing", needs=("mac",))
def mac_enforcing(ctx: Context) -> Outcome:
    mac = ctx.facts.mac
    expected = "SELinux enforcing, or AppArmor enabled with profiles loaded"
    evidence = [f"{k}: {v}" for k, v in mac.items()] or ["no SELinux tools and no AppArmor module"]
    if mac.get("selinux", "").lower() == "enforcing":
        # selinux(8): /etc/selinux/config decides the mode at the next boot
        configured = mac.get("selinux_config", "enforcing").strip().strip('"').lower()
        if configured != "enforcing":
            return Outcome(FAIL, expected, f"SELinux enforcing now, configured {configured}: it reverts at reboot",
                           evidence)
        return Outcome(PASS, expected, "SELinux enforcing", evidence)
    # a profile in complain mode only logs (apparmor(7)): enforced profiles count
    loaded = mac.get("apparmor_enforced", mac.get("apparmor_profiles", "0"))
    if mac.get("apparmor_module", "").upper() == "Y" and int(loaded or 0) > 0:
        return Outcome(PASS, expected, "AppArmor enabled", evidence)
    return Outcome(FAIL, expected, mac.get("selinux") or "no mandatory access control", evidence)


@check("any_process", needs=("services",))
def any_process(ctx: Context) -> Outcome:
    """At least one of these processes runs (anti-malware agents, time sync daemons)."""
    names, label = ctx.args["processes"], ctx.args["label"]
    running = ctx.facts.running(names)
    return Outcome(PASS if running else FAIL, f"{label} running ({', '.join(names)})",
                   ", ".join(running) or "none running", [f"running: {p}" for p in running] or [f"no {label} process"])


# comm is cut to 15 characters (proc(5)): systemd-timesyncd shows as systemd-timesyn.
TIME_DAEMONS = {"chronyd": "chrony", "ntpd": "ntp", "ntpsec": "ntp", "systemd-timesyn": "timesyncd",
                "systemd-timesyncd": "timesyncd"}


@check("time_sync", needs=("services", "time"))
def time_sync(ctx: Context) -> Outcome:
    """A time daemon runs and takes its time from configured servers (the site's, when
    the parameter lists them); systemd-timesyncd with no NTP= and no FallbackNTP= uses
    its compiled-in public pool, which is no configured time source."""
    wanted = [str(s) for s in ctx.args.get("servers") or []]
    expected = "a time daemon synchronises from " + (", ".join(wanted) if wanted else "configured time servers")
    running = sorted({TIME_DAEMONS[comm] for _, comm, _ in ctx.facts.processes if comm in TIME_DAEMONS})
    if not running:
        return Outcome(FAIL, expected, "no time daemon running", ["running: none of chronyd, ntpd, systemd-timesyncd"])
    evidence, servers = [f"running: {', '.join(running)}"], []
    for daemon in running:
        if daemon in ("chrony", "ntp"):
            lines, main = (timesync.chrony_sources if daemon == "chrony" else timesync.ntp_sources)(ctx.facts)
            if main is None:
                return Outcome(ERROR, expected, f"{daemon} runs but its configuration was not collected",
                               [f"no {daemon} configuration file in the bundle"])
            evidence += [str(line) for line in lines] or [f"{main}: no server, pool, peer or refclock line"]
            servers += [line.text.split()[1] for line in lines if len(line.text.split()) > 1]
        else:
            ntp, fallback, lines = timesync.timesyncd_servers(ctx.facts)
            evidence += [str(line) for line in lines]
            if ntp or fallback:
                servers += ntp or fallback or []
            else:
                evidence.append("systemd-timesyncd: no NTP= and no FallbackNTP=: the compiled-in public pool")
    if not servers:
        return Outcome(FAIL, expected, "no time server configured", evidence)
    if wanted and not set(wanted) & set(servers):
        return Outcome(FAIL, expected, f"servers {', '.join(servers)}, none of {', '.join(wanted)}", evidence)
    return Outcome(PASS, expected, ", ".join(servers), evidence)


@check("aide", needs=("aide", "packages"))
def aide(ctx: Context) -> Outcome:
    """what: initialised (installed with a database) | scheduled (a periodic check)."""
    what, info = ctx.args["what"], ctx.facts.aide
    if what == "initialised":
        ok = bool(info.get("binary")) and bool(info.get("database"))
        return Outcome(PASS if ok else FAIL, "AIDE installed and its database initialised",
                       "initialised" if ok else ("installed, no database" if info.get("binary") else "not installed"),
                       [f"{k}: {', '.join(v)}" for k, v in info.items() if k in ("binary", "database")]
                       or ["no aide binary"])
    scheduled = info.get("scheduled", [])
    return Outcome(PASS if scheduled else FAIL, "an integrity check scheduled (cron or timer running aide)",
                   "scheduled" if scheduled else "not scheduled",
                   [f"aide in {p}" for p in scheduled] or ["no cron entry or timer mentions aide"])


@check("security_updates", needs=("updates",))
def security_updates(ctx: Context) -> Outcome:
    expected = "no pending security update"
    text = ctx.facts.text("updates")
    if text is None:
        return Outcome(MANUAL, expected, "no package manager answer", [])
    if ctx.facts.rc("updates") != 0:
        return Outcome(MANUAL, expected, "package manager could not tell", [text.strip()[-200:]])
    pending = [line for line in text.splitlines()
               if line.startswith("Inst ") and "security" in line.lower()
               or re.match(r"^\S+\s+\S*(Important|Critical|Moderate|Low)/Sec\.", line)]
    if pending:
        return Outcome(FAIL, expected, f"{len(pending)} pending", pending[:20])
    lists = [n for n in (ctx.facts.text("pkglists") or "").split()
             if n not in ("lock", "partial", "auxfiles") and not n.endswith(":")]
    if not lists:
        return Outcome(MANUAL, expected, "the host has no package lists to compare against",
                       ["no package index under /var/lib/apt/lists or the yum/dnf cache: "
                        "refresh from the internal mirror, then audit again"])
    # "none pending" means something only against an index published lately (its time is
    # the server's Last-Modified, which apt keeps)
    limit = float(ctx.args.get("max_list_age_days", 14))
    ages = lists_age_days(ctx.facts.text("listsage"))
    if ages is None:
        return Outcome(MANUAL, expected, "the package lists' age was not read",
                       ["no listsage section (clock and index times): audit again with this mzops"])
    if not ages:
        return Outcome(MANUAL, expected, "no signed index among the package lists",
                       ["no *Release or repomd.xml under /var/lib/apt/lists or the yum/dnf cache"])
    newest, path = min(ages)
    if newest > limit:
        return Outcome(FAIL, expected, f"package lists {newest:.0f} days old (at most {limit:g})",
                       [f"{path}: dated {newest:.1f} days ago, the newest index the host holds: pending "
                        "security updates since then are not known; refresh from the internal mirror, then "
                        "audit again"])
    return Outcome(PASS, expected, "none pending",
                   [text.strip().splitlines()[-1] if text.strip() else "", f"newest index dated {newest:.1f} days ago"])


def lists_age_days(text: str | None) -> list[tuple[float, str]] | None:
    """(days since dated, path) of each signed package index, from the `listsage`
    section (the host's `date +%s`, then find's `%T@ PATH` lines); None when it is
    missing or its clock line is not a number."""
    if text is None or not text.strip():
        return None
    first, *rest = text.strip().splitlines()
    try:
        now = float(first)
    except ValueError:
        return None
    out = []
    for line in rest:
        stamp, _, path = line.partition(" ")
        try:
            out.append((max(0.0, (now - float(stamp)) / 86400), path))
        except ValueError:
            return None               # a line not as find printed it: no age can be trusted
    return out
