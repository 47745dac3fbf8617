"""sudoers as sudo reads it (sudoers(5)): /etc/sudoers, then the files of
/etc/sudoers.d in sorted order, skipping names that end in `~` or contain a `.`; user
specifications `WHO HOSTS = (RUNAS) TAGS: COMMANDS`, aliases and Defaults apart."""

from __future__ import annotations

import re

from mzops.facts.base import Fact
from mzops.facts.text import Line, meaningful_lines

# A User_List may have spaces after its commas ("lina, %wheel ALL = ..."): sudoers(5).
USER_SPEC = re.compile(r"^(?P<who>[^\s=,]+(?:\s*,\s*[^\s=,]+)*)\s+(?P<hosts>[^=]+?)\s*=\s*(?P<rest>.+)$")
NOT_A_USER_SPEC = re.compile(r"^(Defaults|User_Alias|Runas_Alias|Host_Alias|Cmnd_Alias|Cmd_Alias)\b")


class Sudoers(Fact[list[Line]]):
    group, sections = "sudo", ("file:/etc/sudoers", "file:/etc/sudoers.d/*")

    def parse(self, facts) -> list[Line]:
        out: list[Line] = []
        drop_ins = sorted(p for p in facts.files("/etc/sudoers.d/*")
                          if not p.endswith("~") and "." not in p.rsplit("/", 1)[1])
        for path in ["/etc/sudoers", *drop_ins]:
            for line in meaningful_lines(path, facts.file(path) or ""):
                if re.match(r"^[#@]include", line.text):
                    continue
                out.append(line)
        return out


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
