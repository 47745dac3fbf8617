"""The CLI dialects the firewall simulators speak: prompts, views, which commands each
view accepts, negation, toggles, error strings, save dialogs and how the running
configuration is displayed.

Written from the vendors' command references (shared/notes/firewalls.md), separately
from mzops's vendor modules on purpose: a renderer that emits a command the device
would refuse, or forgets to leave a view, fails against these tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ViewSpec:
    prompt: str                                          # suffix shown in the prompt
    headers: tuple[tuple[str, str], ...] = ()            # (regex, child view) that open a view
    leaves: tuple[str, ...] = ()                         # regexes of settings
    single: tuple[str, ...] = ()                         # word prefixes that hold one value


@dataclass(frozen=True)
class Dialect:
    name: str
    enter_config: str
    leave_config: str
    view_exit: str
    negation: str
    unknown: str                                         # error for a command the view does not know
    missing: str                                         # error for negating what is not there
    show: tuple[str, ...]
    paging_off: tuple[str, ...]
    views: dict[str, ViewSpec]
    toggles: tuple[str, ...] = ()                        # shown as "undo X" when negated
    indent: int = 1
    block_separator: str | None = "#"                    # Huawei/H3C; StoneOS closes views with exit
    save: str = "save"
    save_dialog: tuple[tuple[str, str], ...] = ()        # (question, the answer that goes on)
    saved: str = ""
    password_change: str = ""
    # Who may log in: an administrator line naming the user ({user}); SSH off: this line.
    admin_line: str = ""
    ssh_off: str = ""

    def user_prompt(self, host: str, hrp: str) -> str:
        if self.name == "hillstone_stoneos":
            return f"{host}# "
        return f"{hrp}<{host}>"

    def config_prompt(self, host: str, hrp: str, views: list[str]) -> str:
        suffix = "".join(self.views[v].prompt for v in views[1:])
        if self.name == "hillstone_stoneos":
            return f"{host}(config{suffix})# "
        return f"{hrp}[{host}{suffix}]"

    def header(self, view: str, command: str) -> str | None:
        for pattern, child in self.views[view].headers:
            if re.fullmatch(pattern, command):
                return child
        return None

    def leaf(self, view: str, command: str) -> bool:
        return any(re.fullmatch(p, command) for p in self.views[view].leaves)


NAME = r'"?[\w.-]+"?'

HUAWEI = Dialect(
    name="huawei_usg", enter_config="system-view", leave_config="return", view_exit="quit", negation="undo",
    unknown="Error: Unrecognized command found at '^' position.",
    missing="Error: The configuration does not exist.",
    show=("display current-configuration",), paging_off=("screen-length 0 temporary",),
    toggles=("telnet server enable", "stelnet server enable", "web-manager enable", "web-manager security enable"),
    save="save",
    save_dialog=(("Warning: The current configuration will be written to the device.\n"
                  "Are you sure to continue?[Y/N]:", "y"),),
    saved="Info: Save the configuration successfully.",
    password_change="Warning: The password has expired. Change now? [Y/N]:",
    admin_line="manager-user {user}", ssh_off="undo stelnet server enable",
    views={
        "system": ViewSpec("", headers=(
            (r"acl number \d+", "acl"), (r"aaa", "aaa"), (r"user-interface (vty \d+ \d+|con 0)", "ui"),
            (r"ip address-set \S+ type object", "addrset"), (r"ip service-set \S+ type object", "svcset"),
            (r"firewall zone (name )?\S+", "zone"), (r"security-policy", "secpol"), (r"interface \S+", "iface")),
            leaves=(r"sysname \S+", r"telnet server enable", r"stelnet server enable", r"web-manager enable",
                    r"web-manager security enable", r"ssh server compatible-ssh1x enable",
                    r"info-center loghost [\d.]+", r"ntp-service unicast-server [\d.]+",
                    r"snmp-agent sys-info version( (v1|v2c|v3|all))+", r"ip route-static .+", r"hrp .+"),
            single=("sysname", "snmp-agent sys-info version")),
        "acl": ViewSpec("-acl-basic", leaves=(r"rule \d+ (permit|deny) source [\d.]+ [\d.]+",)),
        "aaa": ViewSpec("-aaa", headers=((r"manager-user \S+", "muser"),
                                         (r"local-aaa-user password policy administrator", "pwpol")),
                        leaves=(r"lock-authentication enable", r"lock-authentication failed-count \d+",
                                r"lock-authentication timeout \d+"),
                        single=("lock-authentication failed-count", "lock-authentication timeout")),
        "muser": ViewSpec("-aaa-manager-user", leaves=(r"password cipher \S+", r"service-type( (ssh|telnet|web|terminal|api|http|ftp))+",
                                                       r"level \d+"),
                          single=("password cipher", "service-type", "level")),
        "pwpol": ViewSpec("-aaa-lupp-admin", leaves=(r"password min-length \d+", r"password complexity-check",
                                                     r"password history record number \d+", r"password expire \d+"),
                          single=("password min-length", "password history record number", "password expire")),
        "ui": ViewSpec("-ui-vty0-4", leaves=(r"authentication-mode (aaa|password|none)", r"protocol inbound (ssh|telnet|all)",
                                             r"acl \d+ inbound", r"idle-timeout \d+( \d+)?"),
                       single=("authentication-mode", "protocol inbound", "acl", "idle-timeout")),
        "addrset": ViewSpec("-object-address-set", leaves=(r"address \d+ [\d.]+ mask \d+", r"description .+")),
        "svcset": ViewSpec("-object-service-set", leaves=(r"service \d+ protocol (tcp|udp|icmp)( destination-port \d+( to \d+)?)?",)),
        "zone": ViewSpec("-zone", leaves=(r"add interface \S+", r"set priority \d+")),
        "secpol": ViewSpec("-policy-security", headers=((r"rule name \S+", "rule"),),
                           leaves=(r"default action (permit|deny)",), single=("default action",)),
        "rule": ViewSpec("-policy-security-rule", leaves=(
            r"source-zone \S+", r"destination-zone \S+", r"source-address address-set \S+",
            r"destination-address address-set \S+", r"service \S+", r"action (permit|deny)", r"policy logging",
            r"description .+"), single=("action",)),
        "iface": ViewSpec("-if", leaves=(r"ip address .+", r"service-manage .+", r"description .+")),
    })

H3C = Dialect(
    name="h3c_secpath", enter_config="system-view", leave_config="return", view_exit="quit", negation="undo",
    unknown="% Unrecognized command found at '^' position.",
    missing="The specified configuration does not exist.",
    show=("display current-configuration",), paging_off=("screen-length disable",),
    toggles=("telnet server enable", "ssh server enable", "ip http enable", "ip https enable"),
    save="save force", saved="Validating file. Please wait...\nSaved the current configuration to mainboard device successfully.",
    password_change="First login or password reset. For security reason, you need to change your password.\n"
                    "Please enter your password:",
    admin_line="local-user {user} class manage", ssh_off="undo ssh server enable",
    views={
        "system": ViewSpec("", headers=(
            (r"acl basic \d+", "acl"), (r"line vty \d+ \d+", "line"), (r"object-group ip address \S+", "addr"),
            (r"object-group service \S+", "svc"), (r"security-zone name \S+", "zone"),
            (r"security-policy ip", "secpol"), (r"local-user \S+ class manage", "luser"), (r"interface \S+", "iface")),
            leaves=(r"sysname \S+", r"telnet server enable", r"ssh server enable", r"ip http enable", r"ip https enable",
                    r"info-center loghost [\d.]+( facility \S+)?", r"ntp-service enable",
                    r"ntp-service unicast-server [\d.]+", r"snmp-agent sys-info version( (v1|v2c|v3|all))+",
                    r"password-control enable", r"password-control length \d+",
                    r"password-control composition type-number \d type-length \d+", r"password-control aging \d+",
                    r"password-control history \d+", r"password-control login-attempt \d+ exceed lock-time \d+",
                    r"ip route-static .+"),
            single=("sysname", "snmp-agent sys-info version", "password-control length", "password-control composition",
                    "password-control aging", "password-control history", "password-control login-attempt")),
        "acl": ViewSpec("-acl-ipv4-basic", leaves=(r"rule \d+ permit source [\d.]+ [\d.]+",)),
        "line": ViewSpec("-line-vty0-63", leaves=(r"authentication-mode (scheme|password|none)",
                                                  r"protocol inbound (ssh|telnet|all)", r"idle-timeout \d+( \d+)?",
                                                  r"acl \d+ inbound"),
                         single=("authentication-mode", "protocol inbound", "idle-timeout", "acl")),
        "addr": ViewSpec("-obj-ip-address", leaves=(r"\d+ network (host address [\d.]+|subnet [\d.]+ [\d.]+)",)),
        "svc": ViewSpec("-obj-service", leaves=(r"\d+ service (tcp|udp|icmp)( destination (eq \d+|range \d+ \d+))?",)),
        "zone": ViewSpec("-security-zone", leaves=(r"import interface \S+",)),
        "secpol": ViewSpec("-security-policy-ip", headers=((r"rule \d+ name \S+", "rule"),)),
        "rule": ViewSpec("-security-policy-ip-rule", leaves=(
            r"action (pass|drop)", r"logging enable", r"source-zone \S+", r"destination-zone \S+", r"source-ip \S+",
            r"destination-ip \S+", r"service \S+"), single=("action",)),
        "luser": ViewSpec("-luser-manage", leaves=(r"password (simple|hash|cipher) \S+", r"service-type( \S+)+",
                                                   r"authorization-attribute user-role \S+"),
                          single=("password", "service-type", "authorization-attribute user-role")),
        "iface": ViewSpec("-if", leaves=(r"ip address .+", r"description .+")),
    })

HILLSTONE = Dialect(
    name="hillstone_stoneos", enter_config="configure", leave_config="end", view_exit="exit", negation="no",
    unknown="                  ^-----unrecognized keyword", missing="Error: Entry not found",
    show=("show configuration", "show configuration running"), paging_off=("terminal length 0",),
    indent=2, block_separator=None,
    save="save",
    save_dialog=(("Save configuration, are you sure? [y]/n: ", "y"),
                 ("Backup start configuration file, are you sure? y/[n]: ", "n")),
    saved="Saving configuration is finished",
    password_change="Your password has expired. Please change it now.\nOld password:",
    admin_line='admin user "{user}"', ssh_off="",
    views={
        "system": ViewSpec("", headers=(
            (rf"admin user {NAME}", "admin"), (r"password-policy", "pwpol"), (rf"address {NAME}", "addr"),
            (rf"service {NAME}", "svc"), (rf"zone {NAME}", "zone"), (r"interface \S+", "iface"),
            (r"policy-global", "pol")),
            leaves=(r"hostname \S+", r"admin host [\d./]+ (ssh|https|http|telnet|any)", r"admin max-login-failure \d+",
                    r"admin lockout-duration \d+", r"(ssh|console|web) timeout \d+", r"logging syslog .+",
                    r"ntp server [\d.]+( prefer)?", r"ntp enable", r"snmp-server version( (v1|v2c|v3))+",
                    r"ip vrouter .+"),
            single=("hostname", "admin max-login-failure", "admin lockout-duration", "ssh timeout", "console timeout",
                    "web timeout", "snmp-server version")),
        "admin": ViewSpec("-admin", leaves=(r"role \S+", r"access (ssh|https|http|telnet|console)", r"password \S+"),
                          single=("role", "password")),
        "pwpol": ViewSpec("-password-policy", leaves=(r"admin complexity enable", r"admin min-length \d+",
                                                      r"admin password-expiration \d+", r"admin history-password-check enable"),
                          single=("admin min-length", "admin password-expiration")),
        "addr": ViewSpec("-addr", leaves=(r"ip [\d./]+",)),
        "svc": ViewSpec("-service", leaves=(r"(tcp|udp|icmp)( dst-port \d+( \d+)?)?",)),
        "zone": ViewSpec("-zone"),
        "iface": ViewSpec("-if", leaves=(rf"zone {NAME}", r"manage (ssh|https|http|telnet|ping|snmp)", r"ip address .+"),
                          single=("zone",)),
        "pol": ViewSpec("-policy", headers=((r"rule id \d+", "rule"),)),
        "rule": ViewSpec("-policy-rule", leaves=(
            r"action (permit|deny)", rf"src-zone {NAME}", rf"dst-zone {NAME}", rf"src-addr {NAME}",
            rf"dst-addr {NAME}", rf"service {NAME}", rf"name {NAME}", r"log (session-start|session-end|policy-deny)"),
            single=("action", "src-zone", "dst-zone", "name")),
    })

DIALECTS = {d.name: d for d in (HUAWEI, H3C, HILLSTONE)}


@dataclass
class Line:
    text: str
    children: list[Line] = field(default_factory=list)
    view: str | None = None                              # the view it opens, if any

    @property
    def words(self) -> list[str]:
        return [w.strip('"') for w in self.text.split()]


def display(dialect: Dialect, root: list[Line]) -> str:
    """The running configuration as the device prints it."""
    out: list[str] = []

    def emit(line: Line, depth: int) -> None:
        pad = " " * (dialect.indent * depth)
        out.append(pad + line.text)
        for child in line.children:
            emit(child, depth + 1)
        if line.view is not None and dialect.block_separator is None:
            out.append(pad + "exit")

    if dialect.block_separator is None:
        for line in root:
            emit(line, 0)
        return "\n".join(out) + "\n"
    out.append("#")
    for index, line in enumerate(root):
        if line.view is None:
            out.append(" " + line.text)
            if index + 1 < len(root) and root[index + 1].view is not None:
                out.append("#")
        else:
            emit(line, 0)
            out.append("#")
    if out[-1] != "#":
        out.append("#")
    out.append("return")
    return "\n".join(out) + "\n"


def load(dialect: Dialect, text: str) -> list[Line]:
    """A configuration in the dialect's display syntax, as the simulator's tree."""
    root: list[Line] = []
    stack: list[tuple[int, Line | None, str]] = [(-1, None, "system")]
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped == "#":
            stack = stack[:1]
            continue
        if not stripped or stripped in ("return", "exit", "end"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        while stack[-1][0] >= indent:
            stack.pop()
        parent, view = stack[-1][1], stack[-1][2]
        child_view = dialect.header(view, stripped)
        line = Line(stripped, view=child_view)
        (parent.children if parent else root).append(line)
        stack.append((indent, line, child_view or view))
    return root
