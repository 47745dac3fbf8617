"""sudoers as sudo reads it (sudoers(5)): /etc/sudoers and what its include lines name;
user specifications `WHO HOSTS = (RUNAS) TAGS: COMMANDS`, aliases and Defaults apart;
Defaults applied in order, scoped Defaults kept apart."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mzops.facts.base import Fact
from mzops.facts.text import Line, meaningful_lines

# A User_List may have spaces after its commas ("lina, %wheel ALL = ..."): sudoers(5).
USER_SPEC = re.compile(r"^(?P<who>[^\s=,]+(?:\s*,\s*[^\s=,]+)*)\s+(?P<hosts>[^=]+?)\s*=\s*(?P<rest>.+)$")
NOT_A_USER_SPEC = re.compile(r"^(Defaults|User_Alias|Runas_Alias|Host_Alias|Cmnd_Alias|Cmd_Alias)\b")


INCLUDE = re.compile(r"^[#@]include(dir)?\s+(.+)$")
MAX_DEPTH = 128   # sudo stops nesting includes at this depth too (sudoers(5), "Including other files")


def _skipped(name: str) -> bool:
    """sudoers(5): files in an includedir that end in ~ or contain a '.' are not read."""
    return name.endswith("~") or "." in name


class Sudoers(Fact[list[Line]]):
    """The lines sudo reads, in its order: /etc/sudoers, each @include / #include file
    where it stands (a relative path is relative to the including file's folder) and
    each @includedir / #includedir folder's files in lexical order. sudoers.d is read
    only because an includedir names it."""

    group, sections = "sudo", ("file:/etc/sudoers",)

    def parse(self, facts) -> list[Line]:
        return list(_read(facts, "/etc/sudoers", 0))


def _read(facts, path: str, depth: int):
    text = facts.file(path)   # a file named but not collected is read as missing: fail closed
    # "#include" is an include, not a comment (sudoers(5)): keep it through the reader.
    text = re.sub(r"^(\s*)#(include(dir)?\s)", r"\1@\2", text or "", flags=re.M)
    for line in meaningful_lines(path, text):
        match = INCLUDE.match(line.text)
        if not match:
            yield line
            continue
        if depth >= MAX_DEPTH:
            continue
        target = match.group(2).strip().strip('"')
        if not target.startswith("/"):
            target = path.rsplit("/", 1)[0] + "/" + target
        if match.group(1):   # a folder
            for found in sorted(p for p in facts.files(target.rstrip("/") + "/*")
                                if not _skipped(p.rsplit("/", 1)[1])):
                yield from _read(facts, found, depth + 1)
        else:
            yield from _read(facts, target, depth + 1)


def user_specs(lines: list[Line]) -> list[tuple[list[str], str, Line]]:
    """(principals, what follows `=`, line) of each user specification."""
    out = []
    for line in lines:
        if NOT_A_USER_SPEC.match(line.text):
            continue
        match = USER_SPEC.match(line.text)
        if match:
            who = [w.strip() for w in match.group("who").split(",")]
            out.append((who, match.group("rest"), line))
    return out


def all_grants(lines: list[Line]) -> list[tuple[list[str], Line]]:
    """User specs that grant unrestricted `ALL` commands: (principals, line)."""
    out = []
    for who, rest, line in user_specs(lines):
        commands = re.sub(r"\([^)]*\)", "", rest)
        commands = re.sub(r"\b[A-Z_]+:", "", commands)
        if any(c.strip() == "ALL" for c in commands.split(",")):
            out.append((who, line))
    return out


class SudoAllGrants(Fact[list[tuple[list[str], Line]]]):
    group, sections = Sudoers.group, Sudoers.sections

    def parse(self, facts):
        return all_grants(facts.sudoers)


@dataclass(frozen=True)
class Default:
    scope: str          # "" (global), or ":alice", "@host", ">root", "!/usr/bin/x"
    name: str
    negated: bool
    value: str
    line: Line


_DEFAULTS = re.compile(r"^Defaults(?P<scope>[:@>!]\S+)?\s+(?P<rest>.+)$")


def defaults(lines: list[Line]) -> list[Default]:
    """Every Defaults entry, in the order sudo applies them (a later one overrides)."""
    out = []
    for line in lines:
        match = _DEFAULTS.match(line.text)
        if not match:
            continue
        for item in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", match.group("rest")):
            item = item.strip()
            if not item:
                continue
            negated = item.startswith("!")
            name, _, value = item.lstrip("!").partition("=")
            out.append(Default(match.group("scope") or "", name.strip().rstrip("+-"), negated, value.strip(), line))
    return out
