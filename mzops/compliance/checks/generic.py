"""Generic check types that most rules use with data only: settings, files, packages,
services, ports and kernel parameters."""

from __future__ import annotations

import fnmatch

from mzops.compliance.checks import (ERROR, FAIL, NOTAPPLICABLE, PASS, Context, Outcome, check,
                                     compare, describe)
from mzops.facts import sshd


def _sshd_unavailable(ctx: Context, expected: str) -> Outcome | None:
    """sshd -T failing means sshd would not start with this configuration: an error,
    with sshd's own words; no sshd at all means the SSH rules do not apply."""
    if ctx.facts.sshd:
        return None
    rc = ctx.facts.rc("sshd_t")
    output = (ctx.facts.text("sshd_t") or "").strip()
    if rc == 127 or rc is None:
        return Outcome(NOTAPPLICABLE, expected, "no SSH server installed", [output[:200] or "sshd not collected"])
    return Outcome(ERROR, expected, "sshd rejects its configuration (sshd -T failed)",
                   [f"sshd -T (exit {rc}): {line}" for line in output.splitlines()[:5]])


@check("sshd_option", needs=("sshd",))
def sshd_option(ctx: Context) -> Outcome:
    """An effective sshd setting (`sshd -T`, so Include'd drop-ins count as sshd sees them)."""
    key, op, value = ctx.args["key"].lower(), ctx.args["op"], ctx.args.get("value")
    expected = f"{key} {describe(op, value)}"
    unavailable = _sshd_unavailable(ctx, expected)
    if unavailable:
        return unavailable
    values = ctx.facts.sshd.get(key)
    actual = values[0] if values else None
    source = ctx.facts.sshd_source(key)
    evidence = [f"sshd -T: {key} {actual if actual is not None else '(not set)'}"]
    if key in ctx.facts.sshd_command_line:
        evidence = [f"sshd: {key} {actual}", ctx.facts.sshd_command_line[key][1]]
    else:
        evidence.append(str(source) if source else "set by default (no line in sshd_config or its drop-ins)")
    shown = actual if actual is not None else "not set"
    if not compare(actual, op, value):
        return Outcome(FAIL, expected, f"{key} {shown}", evidence)
    # sshd -T shows the global section only: a Match block may set the keyword otherwise
    # for some users or addresses (sshd_config(5), "Match").
    weaker = [(block, block.settings[key]) for block in ctx.facts.sshd_match_blocks
              if key in block.settings and not compare(sshd.seconds(block.settings[key][0]), op, value)]
    if weaker:
        return Outcome(FAIL, expected, f"{key} {shown}, but " + "; ".join(
            f"Match {block.criteria}: {key} {setting[0]}" for block, setting in weaker),
            evidence + [str(setting[1]) for _, setting in weaker])
    return Outcome(PASS, expected, f"{key} {shown}", evidence)


@check("sshd_list_excludes", needs=("sshd",))
def sshd_list_excludes(ctx: Context) -> Outcome:
    """A comma list (ciphers, macs, kexalgorithms) holds no weak algorithm."""
    key, patterns = ctx.args["key"].lower(), ctx.args["weak"]
    expected = f"{key} without {', '.join(patterns)}"
    unavailable = _sshd_unavailable(ctx, expected)
    if unavailable:
        return unavailable
    values = ctx.facts.sshd.get(key) or [""]
    offered = values[0].split(",")
    weak = [alg for alg in offered if any(fnmatch.fnmatch(alg, p) for p in patterns)]
    evidence = ([f"sshd: {key} {values[0]}", ctx.facts.sshd_command_line[key][1]]
                if key in ctx.facts.sshd_command_line else [f"sshd -T: {key} {values[0]}"])
    return Outcome(FAIL if weak else PASS, expected,
                   f"weak: {', '.join(weak)}" if weak else "no weak algorithm", evidence)


@check("setting", needs=("accounts", "audit", "pam", "logs"))
def setting(ctx: Context) -> Outcome:
    """KEY VALUE or KEY=VALUE in one file (login.defs, useradd, auditd.conf, ...)."""
    path, key, op, value = ctx.args["path"], ctx.args["key"], ctx.args["op"], ctx.args.get("value")
    expected = f"{key} {describe(op, value)} in {path}"
    if ctx.facts.file(path) is None and not ctx.args.get("missing_ok"):
        return Outcome(FAIL, expected, f"{path} is missing", [f"{path}: not found"])
    kv = ctx.facts.keyvalues(path, ctx.args.get("sep"))
    found = kv.get(key)
    if found is None and ctx.args.get("case_insensitive"):
        found = next((v for k, v in kv.items() if k.lower() == key.lower()), None)
    actual = found[0] if found else ctx.args.get("default")
    evidence = [str(found[1])] if found else [f"{path}: {key} not set"
                                              + (f" (default {actual})" if actual is not None else "")]
    return Outcome(PASS if compare(actual, op, value) else FAIL, expected, f"{key} {actual}", evidence)


@check("file_mode", needs=("stat",))
def file_mode(ctx: Context) -> Outcome:
    """Files no more permissive than a mode, owned by allowed users and groups."""
    paths, max_mode = ctx.args["paths"], int(str(ctx.args["max_mode"]), 8)
    owners, groups = ctx.args.get("owners", ["root"]), ctx.args.get("groups")
    expected = f"mode <= {max_mode:04o}, owner {'/'.join(owners)}" + (f", group {'/'.join(groups)}" if groups else "")
    stats = [st for path, st in ctx.facts.stats.items() if any(fnmatch.fnmatch(path, p) for p in paths)]
    if not stats:
        return Outcome(PASS if ctx.args.get("missing_ok") else FAIL, expected, "no such file",
                       [f"not found: {', '.join(paths)}"])
    bad = [st for st in stats if st.mode & ~max_mode & 0o7777 or st.owner not in owners
           or (groups and st.group not in groups)]
    evidence = [f"{st.path}: {st.mode:04o} {st.owner}:{st.group}" for st in (bad or stats)]
    return Outcome(FAIL if bad else PASS, expected,
                   f"{len(bad)} file(s) too open or wrongly owned" if bad else "all as expected", evidence)


def _installed(ctx: Context, neutral_names: list[str]) -> list[str]:
    names = [name for neutral in neutral_names for name in ctx.platform.packages(neutral)]
    return sorted(f"{n} {ctx.facts.packages[n]}" for n in names if n in ctx.facts.packages)


@check("cleartext_service", needs=("packages", "services", "ports"))
def cleartext_service(ctx: Context) -> Outcome:
    """A service that must not be offered at all: no package, no inetd entry, no listener."""
    packages, ports = ctx.args.get("packages", []), set(ctx.args.get("ports", []))  # "tcp/23"
    inetd_names = set(ctx.args.get("inetd", []))
    expected = f"not installed, not in inetd, nothing listening on {', '.join(sorted(ports))}"
    evidence = [f"installed: {p}" for p in _installed(ctx, packages)]
    evidence += [str(line) for line in ctx.facts.inetd_services
                 if line.text.split()[0] in inetd_names or line.text.split()[-1] in inetd_names
                 or (line.text.startswith("service") and line.text.split()[1] in inetd_names)]
    evidence += [f"listening: {lst.origin}" for lst in ctx.facts.listeners if f"{lst.proto}/{lst.port}" in ports]
    return Outcome(FAIL if evidence else PASS, expected,
                   "offered" if evidence else "not offered", evidence or ["no package, inetd entry or listener"])


@check("packages_absent", needs=("packages",))
def packages_absent(ctx: Context) -> Outcome:
    found = _installed(ctx, ctx.args["packages"])
    return Outcome(FAIL if found else PASS, f"none of {', '.join(ctx.args['packages'])} installed",
                   ", ".join(found) or "none installed", [f"installed: {p}" for p in found])


@check("services_disabled", needs=("services",))
def services_disabled(ctx: Context) -> Outcome:
    """Unneeded services neither enabled nor running."""
    units = ctx.args["services"]
    enabled = sorted(u for u in ctx.facts.enabled_units
                     if u.removesuffix(".service").removesuffix(".socket") in units)
    running = ctx.facts.running(ctx.args.get("processes", []))
    evidence = [f"enabled: {u}" for u in enabled] + [f"running: {p}" for p in running]
    return Outcome(FAIL if evidence else PASS, f"none of {', '.join(units)} enabled or running",
                   ", ".join(enabled + running) or "none", evidence)


@check("ports_closed", needs=("ports",))
def ports_closed(ctx: Context) -> Outcome:
    ports = set(ctx.args["ports"])
    found = [lst for lst in ctx.facts.listeners if lst.port in ports
             and not lst.address.startswith(("127.", "[::1]", "localhost"))]
    return Outcome(FAIL if found else PASS, f"no listener on {', '.join(map(str, sorted(ports)))}",
                   ", ".join(f"{lst.proto}/{lst.port} ({lst.process or '?'})" for lst in found) or "none",
                   [lst.origin for lst in found])


# How the kernel combines conf/all/KEY with conf/IFACE/KEY for an interface
# (Documentation/networking/ip-sysctl.rst, "/proc/sys/net/ipv4/conf/*"): "or" when
# either being on turns it on, "max" when the larger value is used, "and" when all must
# be on too. accept_redirects is "and" on an interface that forwards, "or" otherwise.
IPV4_CONF = {"send_redirects": "or", "secure_redirects": "or", "log_martians": "or", "shared_media": "or",
             "proxy_arp": "or", "accept_source_route": "and", "rp_filter": "max", "arp_ignore": "max",
             "arp_announce": "max", "accept_redirects": "forwarding"}


def _interface_values(key: str, values: dict) -> list[tuple[str, str, str]]:
    """(interface key, its value, the value in force) for a net.ipv4.conf.all.KEY."""
    name = key.rsplit(".", 1)[1]
    rule, all_value = IPV4_CONF[name], values.get(key)
    out = []
    for other, value in values.items():
        parts = other.split(".")
        if len(parts) != 5 or parts[:3] != ["net", "ipv4", "conf"] or parts[4] != name \
                or parts[3] in ("all", "default", "lo"):     # lo: nothing reaches it from outside
            continue
        how = rule
        if rule == "forwarding":
            how = "and" if values.get(f"net.ipv4.conf.{parts[3]}.forwarding") == "1" else "or"
        a, b = int(all_value or 0), int(value or 0)
        force = max(a, b) if how == "max" else int(bool(a) and bool(b)) if how == "and" else int(bool(a) or bool(b))
        out.append((other, value, str(force)))
    return out


@check("sysctl", needs=("sysctl",))
def sysctl(ctx: Context) -> Outcome:
    """Kernel parameters as the kernel applies them: a net.ipv4.conf.all key is also
    checked as it combines with each interface's own value."""
    keys = ctx.args["keys"]  # {key: expected value}
    expected = ", ".join(f"{k} = {v}" for k, v in keys.items())
    values = ctx.facts.sysctl
    if not values:
        return Outcome(ERROR, expected, "sysctl gave no answer", [(ctx.facts.text("sysctl") or "")[:200]])
    missing = [k for k in keys if k not in values]
    if missing:   # an absent key is not a value: the kernel or the collection says nothing
        return Outcome(ERROR, expected, f"not in sysctl -a: {', '.join(missing)}",
                       [f"sysctl -a has no {k}" for k in missing])
    wrong = {k: values[k] for k, v in keys.items() if str(values[k]) != str(v)}
    seen = [f"{k} = {values[k]}" for k in keys]
    for key, want in keys.items():
        if key.startswith("net.ipv4.conf.all.") and key.rsplit(".", 1)[1] in IPV4_CONF and key not in wrong:
            for other, value, force in _interface_values(key, values):
                if force != str(want):
                    wrong[other] = f"{value} (in force: {force} with {key} = {values[key]})"
                    seen.append(f"{other} = {value}")
    return Outcome(FAIL if wrong else PASS, expected,
                   ", ".join(f"{k} = {v}" for k, v in wrong.items()) or "as expected", seen)