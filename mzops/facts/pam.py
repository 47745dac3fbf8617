"""PAM stacks as /etc/pam.d/SERVICE lists them (pam.conf(5)): type, control, module,
arguments; `@include` (Debian) and `include`/`substack` (Red Hat) resolved in place."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from mzops.facts.text import Line, meaningful_lines

MAX_DEPTH = 10   # a bound against include loops (a file that includes itself)


@dataclass(frozen=True)
class PamEntry:
    kind: str         # auth, account, password, session
    control: str      # required, requisite, [success=1 default=ignore], ...
    module: str       # pam_unix.so (basename)
    args: tuple[str, ...]
    origin: Line

    def arg(self, name: str) -> str | None:
        """Value of name=value, '' for a bare flag, None when absent (last one wins)."""
        value = None
        for item in self.args:
            key, sep, val = item.partition("=")
            if key == name:
                value = val if sep else ""
        return value


_ENTRY = re.compile(r"^-?(\w+)\s+(\[[^\]]*\]|\S+)\s+(\S+)\s*(.*)$")


def shlex_args(rest: str) -> tuple[str, ...]:
    """Module arguments; [brackets with spaces] stay one argument (pam.conf(5))."""
    try:
        return tuple(shlex.split(rest)) if rest else ()
    except ValueError:
        return tuple(rest.split())


KINDS = ("auth", "account", "password", "session")


@dataclass(frozen=True)
class Substack:
    """A `substack` line: its file's entries, whose done, die and jumps end here."""

    entries: tuple  # of PamEntry | Substack
    origin: str


def items(facts, service: str, kind: str, _depth: int = 0) -> tuple:
    """The lines of KIND in /etc/pam.d/SERVICE: @include and include inlined (lines of
    the same type), substack nested (pam.conf(5)); empty when the file is not there."""
    path = f"/etc/pam.d/{service}"
    text = facts.file(path)
    if text is None or _depth > MAX_DEPTH:
        return ()
    out: list = []
    for line in meaningful_lines(path, text):
        if line.text.startswith("@include"):
            out += items(facts, line.text.split()[1], kind, _depth + 1)
            continue
        match = _ENTRY.match(line.text)
        if not match:
            continue
        ptype, control, module, rest = match.groups()
        if ptype != kind:
            continue
        if control == "include":
            out += items(facts, module, kind, _depth + 1)
        elif control == "substack":
            out.append(Substack(items(facts, module, kind, _depth + 1), str(line)))
        else:
            out.append(PamEntry(ptype, control, module.rsplit("/", 1)[-1], shlex_args(rest), line))
    return tuple(out)


def _flat(entries: tuple) -> list[PamEntry]:
    return [e for item in entries for e in (_flat(item.entries) if isinstance(item, Substack) else [item])]


def stack(facts, service: str, kind: str | None = None) -> list[PamEntry]:
    """Every entry of the stack of SERVICE (of KIND, or of each kind in turn), includes
    and substacks resolved."""
    return [e for k in ((kind,) if kind else KINDS) for e in _flat(items(facts, service, k))]
