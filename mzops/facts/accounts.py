"""Accounts on a host: passwd, group, the shadow summary, login.defs, shells and keys.

Formats: passwd(5), group(5); the shadow file is reduced on the host by the collector
to name:state:algorithm:lastchg:min:max:warn:inactive:expire (shadow(5) fields, the
hash itself never leaves the host); authorized keys as `ssh-keygen -lf` prints them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mzops.facts.base import Fact
from mzops.facts.text import Line, int_or_none, keyvalues, lines_of, meaningful_lines


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    origin: Line
    password: str = "x"     # passwd's second field: "x" (in shadow), "*", "" (none) or a hash


@dataclass(frozen=True)
class ShadowEntry:
    name: str
    state: str        # password, empty, locked, nologin
    algorithm: str    # 6, y, 5, 1, des, 2b, ...
    lastchg: int | None
    min_days: int | None
    max_days: int | None
    warn_days: int | None
    inactive: int | None
    expire: int | None


class Passwd(Fact[list[Account]]):
    group, sections = "accounts", ("file:/etc/passwd",)

    def parse(self, facts) -> list[Account]:
        out = []
        for line in meaningful_lines("/etc/passwd", facts.file("/etc/passwd") or ""):
            parts = line.text.split(":")
            if len(parts) >= 7 and int_or_none(parts[2]) is not None:
                out.append(Account(parts[0], int(parts[2]), int_or_none(parts[3]) or 0, parts[5], parts[6], line,
                                   parts[1]))
        return out


class Groups(Fact[list[tuple[str, int, list[str], Line]]]):
    group, sections = "accounts", ("file:/etc/group",)

    def parse(self, facts):
        out = []
        for line in meaningful_lines("/etc/group", facts.file("/etc/group") or ""):
            parts = line.text.split(":")
            if len(parts) >= 4 and int_or_none(parts[2]) is not None:
                members = [m.strip() for m in parts[3].split(",") if m.strip()]
                out.append((parts[0], int(parts[2]), members, line))
        return out


class Shadow(Fact[dict[str, ShadowEntry]]):
    group, sections = "accounts", ("shadow",)

    def parse(self, facts) -> dict[str, ShadowEntry]:
        out = {}
        for raw in lines_of(facts.text("shadow")):
            p = raw.split(":")
            if len(p) >= 9:
                out[p[0]] = ShadowEntry(p[0], p[1], p[2], *(int_or_none(v) for v in p[3:9]))
        return out


class LoginDefs(Fact[dict[str, tuple[str, Line]]]):
    group, sections = "accounts", ("file:/etc/login.defs",)

    def parse(self, facts):
        return keyvalues("/etc/login.defs", facts.file("/etc/login.defs") or "")


class UseraddDefaults(Fact[dict[str, tuple[str, Line]]]):
    """/etc/default/useradd as useradd reads it (shadow-utils src/useradd.c,
    get_defaults): a line counts when it starts with exactly `KEY=` (no spaces, no
    comment sign), the last such line wins, and the value is the rest of the line."""

    group, sections = "accounts", ("file:/etc/default/useradd",)

    def parse(self, facts):
        path = "/etc/default/useradd"
        out: dict[str, tuple[str, Line]] = {}
        for number, raw in enumerate((facts.file(path) or "").split("\n"), start=1):
            key, sep, value = raw.partition("=")
            if sep and key and key.isupper() and key.replace("_", "").isalpha():
                out[key] = (value, Line(path, number, raw))
        return out


def useradd_number(text: str) -> int | None:
    """A number as useradd's getlong() takes it: strtol with base 0 (leading blanks
    skipped, `030` octal, `0x1e` hexadecimal) and nothing after it, not even a blank
    (lib/getlong.c); None otherwise."""
    found = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", text)
    if not found:
        return None
    digits = found.group(2)
    value = int(digits, 16) if digits[:2].lower() == "0x" else int(digits, 8) if digits.startswith("0") else int(digits)
    return -value if found.group(1) == "-" else value


class LoginShells(Fact[set[str]]):
    """Shells that allow an interactive login: /etc/shells less the nologin kind."""

    group, sections = "accounts", ("file:/etc/shells",)

    def parse(self, facts) -> set[str]:
        listed = {line.text for line in meaningful_lines("/etc/shells", facts.file("/etc/shells") or "")}
        if not listed:
            listed = {"/bin/sh", "/bin/bash", "/usr/bin/bash", "/bin/zsh", "/usr/bin/zsh"}
        return {s for s in listed if not s.endswith(("nologin", "/false"))}


class AuthorizedKeys(Fact[dict[str, list[tuple[str, str]]]]):
    """user -> [(fingerprint, comment)]; the collector prints `user bits fingerprint comment (TYPE)`."""

    group, sections = "logins", ("authorized_keys",)

    def parse(self, facts):
        out: dict[str, list[tuple[str, str]]] = {}
        for line in lines_of(facts.text("authorized_keys")):
            parts = line.split(None, 3)
            if len(parts) >= 3:
                comment = re.sub(r"\s*\(\w+\)$", "", parts[3]) if len(parts) > 3 else ""
                out.setdefault(parts[0], []).append((parts[2], comment))
        return out
