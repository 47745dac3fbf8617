"""Parsed facts of one bundle (pure: no connection, no compliance decisions).

`Facts` is the one view the audit's rules, the account check and the hardening guards
read. Each attribute is one fact class (mzops.facts.*), parsed once per bundle; every
value keeps enough of its origin (file and line) to serve as evidence.
"""

from __future__ import annotations

import fnmatch
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, TypeVar

from mzops.bundle import Bundle
from mzops.facts import pam, sshd, sshd_service
from mzops.facts.accounts import (Account, AuthorizedKeys, Groups, LoginDefs, LoginShells, Passwd, Shadow,
                                  UseraddDefaults,
                                  ShadowEntry)
from mzops.facts.base import Fact, FactError, fact
from mzops.facts.pam import PamEntry
from mzops.facts.sudo import SudoAllGrants, Sudoers
from mzops.facts.system import (Aide, AuditRules, AuditStatus, EnabledUnits, FileStat, InetdServices, Listener,
                                Listeners, Mac, OsRelease, Packages, Processes, Stats, Sysctl, VarLog, stat_list)
from mzops.facts.text import Line, int_or_none, keyvalues, meaningful_lines

__all__ = ["Account", "Fact", "FactError", "Facts", "FileStat", "Line", "Listener", "PamEntry", "ShadowEntry", "meaningful_lines"]

T = TypeVar("T")


@dataclass
class Facts:
    bundle: Bundle
    # Parsed values with the sections read to make them (replayed on every use, so a
    # rule that reads a cached fact is known to depend on its sections too).
    _cache: dict = field(default_factory=dict, repr=False)
    _reading: list[set[str]] = field(default_factory=list, repr=False)

    # ---------------------------------------------------------- what was read

    @contextmanager
    def reading(self) -> Iterator[set[str]]:
        """The names of the sections read inside the block (file globs as file:GLOB)."""
        seen: set[str] = set()
        self._reading.append(seen)
        try:
            yield seen
        finally:
            self._reading.pop()   # blocks nest: the innermost ends first

    def _read(self, *names: str) -> None:
        for seen in self._reading:
            seen.update(names)

    # ---------------------------------------------------------- raw access

    def has(self, section: str) -> bool:
        self._read(section)
        return section in self.bundle.sections

    def text(self, section: str) -> str | None:
        self._read(section)
        sec = self.bundle.sections.get(section)
        return sec.text if sec is not None else None

    def rc(self, section: str) -> int | None:
        self._read(section)
        sec = self.bundle.sections.get(section)
        return sec.rc if sec is not None else None

    def file(self, path: str) -> str | None:
        return self.text(f"file:{path}")

    def files(self, pattern: str) -> dict[str, str]:
        """Collected files whose path matches a glob, sorted by path."""
        def find() -> dict[str, str]:
            found = {name[5:]: sec.text for name, sec in sorted(self.bundle.sections.items())
                     if name.startswith("file:") and fnmatch.fnmatchcase(name[5:], pattern)}
            self._read(f"file:{pattern}", *(f"file:{path}" for path in found))
            return found
        return self.memo(("files", pattern), find)

    def get(self, cls: type[Fact[T]]) -> T:
        """The parsed value of fact CLS (parsed on first use, then kept)."""
        return self.memo(cls, lambda: cls().parse(self))

    def memo(self, key: Any, make) -> Any:
        """A value derived from these facts (a fact, a firewall's parsed configuration),
        made once per bundle."""
        if key not in self._cache:
            with self.reading() as seen:
                value = make()
            self._cache[key] = (value, frozenset(seen))
        value, seen = self._cache[key]
        self._read(*seen)
        return value

    # ---------------------------------------------------------- the facts

    os_release = fact(OsRelease)
    login_defs = fact(LoginDefs)
    useradd_defaults = fact(UseraddDefaults)
    accounts = fact(Passwd)
    groups = fact(Groups)
    shadow = fact(Shadow)
    login_shells = fact(LoginShells)
    authorized_keys = fact(AuthorizedKeys)
    sshd = fact(sshd.SshdEffective)
    sshd_command_line = fact(sshd_service.SshdCommandLine)
    sudoers = fact(Sudoers)
    sudo_all_grants = fact(SudoAllGrants)
    packages = fact(Packages)
    enabled_units = fact(EnabledUnits)
    processes = fact(Processes)
    listeners = fact(Listeners)
    inetd_services = fact(InetdServices)
    sysctl = fact(Sysctl)
    audit_rules = fact(AuditRules)
    audit_status = fact(AuditStatus)
    stats = fact(Stats)
    varlog = fact(VarLog)
    mac = fact(Mac)
    aide = fact(Aide)

    # ---------------------------------------------------------- derived views

    def keyvalues(self, path: str, sep: str | None = None) -> dict[str, tuple[str, Line]]:
        """KEY VALUE (or KEY=VALUE with sep='=') files; the last setting wins."""
        return self.memo(("keyvalues", path, sep), lambda: keyvalues(path, self.file(path) or "", sep))

    def groups_of(self, user: str) -> set[str]:
        """Every group of an account: its primary group and those listing it."""
        account = next((a for a in self.accounts if a.name == user), None)
        out = {name for name, _, members, _ in self.groups if user in members}
        if account is not None:
            out |= {name for name, gid, _, _ in self.groups if gid == account.gid}
        return out

    def uid_min(self) -> int:
        value = self.login_defs.get("UID_MIN")
        return int_or_none(value[0]) if value and int_or_none(value[0]) is not None else 1000

    def pam_stack(self, service: str, kind: str | None = None) -> list[PamEntry]:
        """The effective stack of /etc/pam.d/SERVICE, with @include/include/substack resolved."""
        return self.memo(("pam", service, kind), lambda: pam.stack(self, service, kind))

    @property
    def sshd_match_blocks(self) -> list[sshd.MatchBlock]:
        return self.memo("sshd_match", lambda: sshd.match_blocks(self))

    def sshd_source(self, keyword: str) -> Line | None:
        """Where a keyword is set in sshd_config or its drop-ins (first one wins in sshd)."""
        return sshd.source(self, keyword)

    def running(self, names: list[str]) -> list[str]:
        return sorted({comm for _, comm, _ in self.processes if comm in names})

    def stats_in(self, section: str) -> dict[str, FileStat]:
        """`statlist` output of a section, by path (a trailing slash dropped)."""
        return stat_list(self.text(section), section)
