"""sshd's effective configuration (`sshd -T`, keys lower-case, repeated keys kept in
order) and where a keyword is set in sshd_config and its Include'd drop-ins
(sshd_config(5): the first value obtained wins)."""

from __future__ import annotations

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
