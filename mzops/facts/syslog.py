"""Whether the security messages (facilities auth and authpriv) reach a remote log host,
read as the daemons read their configuration.

rsyslog (rsyslog.conf(5), rsyslog's "Filter Conditions", "Actions" and "include()"
documentation): statements run in order in the default ruleset; `$IncludeConfig` and
`include(file=...)` insert files where they stand (a glob's files in name order); a
selector is `facility[,facility].priority` parts joined by `;`, applied left to right
(`none` and `!prio` take away, `=prio` is exact, a priority means that one and higher);
`@@host` forwards over TCP, `@host` over UDP, `:omrelp:` and `type="omrelp"` over RELP
(TCP), `type="omfwd"` over UDP unless `protocol="tcp"`; `stop` and `~` discard what
was selected, so later actions never see it; `&` repeats the previous filter. A
property filter or an `if` expression is a condition mzops does not evaluate (except
`prifilt("selector")`); statements in a named ruleset only run for inputs bound to it.

syslog-ng (syslog-ng Administration Guide, "destination", "log"): a destination only
sends what a `log` path routes to it; network() and syslog() use TCP unless
`transport("udp")`, tcp()/tcp6() TCP, udp()/udp6() UDP; a filter in the path is a
condition mzops does not evaluate.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from mzops.facts.text import Line

KINDS = (("auth", 6), ("authpriv", 6))      # the security messages, at priority info
PRIORITIES = {"emerg": 0, "panic": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warning": 4, "warn": 4,
              "notice": 5, "info": 6, "debug": 7}


@dataclass
class Forwarding:
    """For each security facility: how it reaches a log host ("tcp", "udp") or not."""

    reached: dict[str, str] = field(default_factory=dict)         # facility -> tcp | udp
    conditional: list[str] = field(default_factory=list)          # forwards or discards under a condition
    evidence: list[str] = field(default_factory=list)
    discarded: dict[str, str] = field(default_factory=dict)       # facility -> the line that discards it


def selects(selector: str, facility: str, priority: int) -> bool:
    """Whether a legacy selector (`*.*;authpriv.none`) takes facility.priority."""
    taken = False
    for part in selector.split(";"):
        facilities, _, level = part.strip().partition(".")
        if not level or not ({facility, "*"} & {f.strip() for f in facilities.split(",")}):
            continue
        negate, level = level.startswith("!"), level.lstrip("!")
        exact, level = level.startswith("="), level.lstrip("=")
        if level == "none":
            taken = False
            continue
        if level == "*":
            match = True
        elif level in PRIORITIES:
            match = priority == PRIORITIES[level] if exact else priority <= PRIORITIES[level]
        else:
            continue
        if match:
            taken = not negate
    return taken


def _statements(path: str, text: str) -> list[Line]:
    """Lines without comments, a statement split over lines (action(...)) joined."""
    out, pending, start = [], "", 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = _uncomment(raw).strip()
        if not line:
            continue
        if not pending:
            start = number
        pending = f"{pending} {line}".strip()
        if pending.count("(") <= pending.count(")") and not pending.endswith("\\"):
            out.append(Line(path, start, pending))
            pending = ""
    if pending:
        out.append(Line(path, start, pending))
    return out


def _uncomment(raw: str) -> str:
    quoted = None
    for index, ch in enumerate(raw):
        if ch in "\"'" and quoted in (None, ch):
            quoted = None if quoted else ch
        elif ch == "#" and quoted is None:
            return raw[:index]
    return raw


def _forward(action: str) -> str | None:
    """tcp / udp for a forwarding action, None for any other."""
    a = action.strip()
    if a.startswith("@@") or a.startswith(":omrelp:"):
        return "tcp"
    if a.startswith("@"):
        return "udp"
    found = re.search(r'type\s*=\s*"(omfwd|omrelp)"', a, re.I)
    if found:
        if found.group(1).lower() == "omrelp":
            return "tcp"
        return "tcp" if re.search(r'protocol\s*=\s*"tcp"', a, re.I) else "udp"
    return None


def _discards(action: str) -> bool:
    return action.strip() in ("stop", "~")


def rsyslog(facts) -> Forwarding | None:
    """How the security facilities reach a log host; None when rsyslog.conf is absent."""
    main = facts.file("/etc/rsyslog.conf")
    if main is None:
        return None
    collected = facts.files("/etc/rsyslog*")
    out = Forwarding()
    statements: list[tuple[Line, str]] = []      # (line, the block it stands in: "", "if", "ruleset NAME")
    calls: set[str] = set()
    bound: set[str] = set()

    def read(path: str, text: str, depth: int = 0) -> None:
        blocks: list[str] = []
        for line in _statements(path, text):
            t = line.text
            include = (re.match(r"\$IncludeConfig\s+(\S+)", t) or re.match(r'include\s*\(\s*file\s*=\s*"([^"]+)"', t))
            if include and depth < 8:
                for found in sorted(p for p in collected if fnmatch.fnmatchcase(p, include.group(1))):
                    read(found, collected[found], depth + 1)
                continue
            for name in re.findall(r'\binput\s*\(.*?ruleset\s*=\s*"([^"]+)"', t):
                bound.add(name)
            ruleset = re.match(r'ruleset\s*\(\s*name\s*=\s*"([^"]+)"[^)]*\)\s*\{?', t)
            if ruleset:
                blocks.append(f"ruleset {ruleset.group(1)}")
                rest = t[ruleset.end():].strip()
                if not rest:
                    continue
                t = rest
            if t.startswith("if ") and t.endswith("{"):
                blocks.append("if")
                continue
            if t == "}" or t.startswith("}"):
                if blocks:
                    blocks.pop()
                continue
            call = re.match(r"call\s+(\S+)", t)
            if call and not any(b.startswith("ruleset") for b in blocks):
                calls.add(call.group(1))
            statements.append((Line(line.path, line.number, t),
                               next((b for b in reversed(blocks) if b.startswith("ruleset")), "if" if blocks else "")))

    read("/etc/rsyslog.conf", main)
    live = calls | bound
    previous: str | None = None
    for line, block in statements:
        text = line.text
        if block.startswith("ruleset ") and block[8:] not in live:
            if _forward(text.split(None, 1)[-1]) or "omfwd" in text:
                out.evidence.append(f"{line} -- in ruleset {block[8:]}, which no input or call uses")
            continue
        if text.startswith("$") or re.match(r"(module|global|input|template|main_queue|set|unset)\s*\(", text):
            continue
        condition: str | None        # a legacy selector, or None when a condition mzops does not evaluate
        if text.startswith("&"):
            condition, action = previous, text[1:]
        elif text.startswith("if "):
            head, sep, action = text.partition(" then ")
            prifilt = re.fullmatch(r'if\s+prifilt\s*\(\s*"([^"]+)"\s*\)', head.strip())
            condition = prifilt.group(1) if prifilt else None
            if not sep:
                continue
        elif text.startswith(":"):
            condition, action = None, text.split(None, 3)[-1] if len(text.split(None, 3)) == 4 else ""
        elif block == "if":
            condition, action = None, text
        else:
            parts = re.split(r"\s+", text, maxsplit=1)
            selector, action = parts[0], parts[1] if len(parts) > 1 else ""
            if "." not in selector or not action.strip():
                continue
            condition = selector
        previous = condition
        transport, discard = _forward(action), _discards(action)
        if not transport and not discard:
            continue
        for facility, priority in KINDS:
            if facility in out.discarded or (transport and facility in out.reached and
                                             out.reached[facility] == "tcp"):
                continue
            if condition is None:
                out.conditional.append(f"{line} -- under a condition mzops does not evaluate")
            elif selects(condition, facility, priority):
                if discard:
                    out.discarded[facility] = str(line)
                elif out.reached.get(facility) != "tcp":
                    out.reached[facility] = transport
                    out.evidence.append(f"{line} -- {facility} forwarded over {transport.upper()}")
    out.conditional = list(dict.fromkeys(out.conditional))
    return out


def _blocks(text: str, keyword: str) -> list[tuple[str, str]]:
    """(name, body) of each top-level `KEYWORD name { body };` (log blocks have no name)."""
    out, index = [], 0
    pattern = re.compile(rf"\b{keyword}\s*([A-Za-z0-9_]*)\s*\{{")
    while True:
        found = pattern.search(text, index)
        if not found:
            return out
        depth, end = 1, found.end()
        while end < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        out.append((found.group(1), text[found.end():end - 1]))
        index = end


def _transport(body: str) -> str | None:
    for driver, default in (("network", "tcp"), ("syslog", "tcp"), ("tcp6", "tcp"), ("tcp", "tcp"),
                            ("udp6", "udp"), ("udp", "udp")):
        found = re.search(rf"\b{driver}\s*\((.*)", body, re.S)
        if found:
            said = re.search(r'transport\s*\(\s*"?(\w+)"?\s*\)', found.group(1))
            return (said.group(1).lower() if said and said.group(1).lower() in ("udp", "tcp") else
                    "tcp" if said and said.group(1).lower() in ("tls", "proto-tls") else default)
    return None


def syslog_ng(facts) -> Forwarding | None:
    """Remote destinations a log path routes messages to; None without syslog-ng.conf."""
    path = "/etc/syslog-ng/syslog-ng.conf"
    main = facts.file(path)
    if main is None:
        return None
    text = "\n".join(_uncomment(raw) for raw in main.split("\n"))
    for conf in sorted(facts.files("/etc/syslog-ng/conf.d/*.conf")):
        text += "\n" + "\n".join(_uncomment(raw) for raw in facts.file(conf).split("\n"))
    remote = {name: transport for name, body in _blocks(text, "destination")
              if name and (transport := _transport(body))}
    out = Forwarding()
    for _, body in _blocks(text, "log"):
        used = [(name, remote[name]) for name in re.findall(r"\bdestination\s*\(\s*(\w+)\s*\)", body) if name in remote]
        inline = [("inline", t) for _, inner in _blocks(body, "destination") if (t := _transport(inner))]
        for name, transport in used + inline:
            where = f"{path}: log path to destination {name} ({transport.upper()})"
            if re.search(r"\bfilter\s*[({]", body):
                out.conditional.append(f"{where} -- filtered by a filter mzops does not evaluate")
                continue
            out.evidence.append(where)
            for facility, _ in KINDS:
                if out.reached.get(facility) != "tcp":
                    out.reached[facility] = transport
    for name, transport in remote.items():
        if not any(re.search(rf"\bdestination\s*\(\s*{name}\s*\)", body) for _, body in _blocks(text, "log")):
            out.evidence.append(f"{path}: destination {name} ({transport.upper()}) is used by no log path")
    return out
