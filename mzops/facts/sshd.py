"""sshd's effective configuration (`sshd -T`, keys lower-case, repeated keys kept in
order) and where a keyword is set in sshd_config and its Include'd drop-ins
(sshd_config(5): the first value obtained wins)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mzops.facts.base import Fact
from mzops.facts.text import Line, lines_of, meaningful_lines


class SshdEffective(Fact[dict[str, list[str]]]):
    group, sections = "sshd", ("sshd_t",)

    def parse(self, facts) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if facts.rc("sshd_t") != 0:
            return out
        for raw in lines_of(facts.text("sshd_t")):
            key, _, value = raw.strip().partition(" ")
            if key:
                out.setdefault(key.lower(), []).append(value.strip())
        # what the service passes with -o wins over the file sshd -T read (sshd_service.py)
        for keyword, (value, _) in facts.sshd_command_line.items():
            out[keyword] = [value]
        return out


def source(facts, keyword: str) -> Line | None:
    """Where KEYWORD is first set, following Include in the order sshd reads."""
    main = facts.file("/etc/ssh/sshd_config") or ""
    paths: list = []
    for line in meaningful_lines("/etc/ssh/sshd_config", main):
        if line.text.lower().startswith("include "):
            for pattern in line.text.split()[1:]:
                pattern = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
                paths += sorted(facts.files(pattern))
        paths.append(("/etc/ssh/sshd_config", line))
    for item in paths:
        if isinstance(item, tuple):
            if item[1].text.split()[0].lower() == keyword.lower():
                return item[1]
        else:
            for line in meaningful_lines(item, facts.file(item) or ""):
                if line.text.split()[0].lower() == keyword.lower():
                    return line
    return None


@dataclass(frozen=True)
class MatchBlock:
    criteria: str                               # "User backup Address 10.0.0.0/8"
    settings: dict[str, tuple[str, Line]]       # keyword (lower case) -> (value, line)
    origin: Line


# sshd_config(5), "TIME FORMATS": a number with an optional s/m/h/d/w qualifier, summed.
_TIME = re.compile(r"(\d+)([smhdwSMHDW]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Values sshd -T prints under another name (servconf.c's multistate tables).
_CANONICAL = {("permitrootlogin", "prohibit-password"): "without-password"}   # sshd -T prints the first name


def seconds(value: str) -> str:
    """A time value as sshd -T prints it (seconds), or the value unchanged."""
    parts = _TIME.findall(value)
    if parts and "".join(n + u for n, u in parts) == value:
        return str(sum(int(n) * _UNIT[u.lower()] for n, u in parts))
    return value


def normalised(keyword: str, value: str) -> str:
    value = value.strip().strip('"')
    low = value.lower()
    return _CANONICAL.get((keyword, low), low if keyword != "allowgroups" else value)


def _lines_in_order(facts, path: str, depth: int = 0):
    """sshd_config and the files its Include lines name, in the order sshd reads them
    (an Include is read where it stands; its glob is expanded in lexical order)."""
    for line in meaningful_lines(path, facts.file(path) or ""):
        words = line.text.split()
        if words[0].lower() == "include" and depth < 16:
            for pattern in words[1:]:
                pattern = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
                for included in sorted(facts.files(pattern)):
                    yield from _lines_in_order(facts, included, depth + 1)
        else:
            yield line


def match_blocks(facts) -> list[MatchBlock]:
    """The Match blocks of sshd's configuration: each lasts until the next Match line or
    the end of the file it is in (sshd_config(5), "Match"); `Match all` is global again."""
    blocks: list[MatchBlock] = []
    current: MatchBlock | None = None
    for line in _lines_in_order(facts, "/etc/ssh/sshd_config"):
        words = line.text.replace("=", " ", 1).split(None, 1)
        keyword = words[0].lower()
        if keyword == "match":
            criteria = words[1] if len(words) > 1 else ""
            current = None if criteria.strip().lower() == "all" else MatchBlock(criteria.strip(), {}, line)
            if current is not None:
                blocks.append(current)
            continue
        if current is not None and current.origin.path != line.path:
            current = None   # a block ends with the file it is in
        if current is not None and len(words) > 1:
            current.settings.setdefault(keyword, (normalised(keyword, words[1]), line))   # first value wins
    return blocks
