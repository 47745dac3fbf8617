"""Parsed views of a fact bundle (pure: no connection, no compliance decisions).

Each accessor parses one kind of raw section once; checks read these and decide.
Every value keeps enough of its origin (file and line) to serve as evidence.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from functools import cached_property

from mzops.compliance.collector import Bundle


@dataclass(frozen=True)
class Line:
    """One meaningful line of a file, for evidence: 'path:line: text'."""

    path: str
    number: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.number}: {self.text}"


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


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    origin: Line


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


@dataclass(frozen=True)
class Listener:
    proto: str
    address: str
    port: int
    process: str
    origin: str


@dataclass(frozen=True)
class FileStat:
    path: str
    mode: int
    owner: str
    group: str
    kind: str


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.lstrip("-").isdigit() else None


def meaningful_lines(path: str, text: str, comment: str = "#") -> list[Line]:
    """Non-empty, non-comment lines, with backslash continuations joined."""
    out: list[Line] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line and not line.startswith(comment):
            out.append(Line(path, start, line))
    return out


@dataclass
class Facts:
    bundle: Bundle
    _cache: dict = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------- raw access

    def has(self, section: str) -> bool:
        return section in self.bundle.sections

    def text(self, section: str) -> str | None:
        sec = self.bundle.sections.get(section)
        return sec.text if sec is not None else None

    def rc(self, section: str) -> int | None:
        sec = self.bundle.sections.get(section)
        return sec.rc if sec is not None else None

    def file(self, path: str) -> str | None:
        return self.text(f"file:{path}")

    def files(self, pattern: str) -> dict[str, str]:
        """Collected files whose path matches a glob, sorted by path."""
        return {name[5:]: sec.text for name, sec in sorted(self.bundle.sections.items())
                if name.startswith("file:") and fnmatch.fnmatch(name[5:], pattern)}

    # ---------------------------------------------------------- os

    @cached_property
    def os_release(self) -> dict[str, str]:
        out = {}
        for line in (self.file("/etc/os-release") or "").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                out[key.strip()] = value.strip().strip('"').strip("'")
        return out

    # ---------------------------------------------------------- key/value files

    def keyvalues(self, path: str, sep: str | None = None) -> dict[str, tuple[str, Line]]:
        """KEY VALUE (or KEY=VALUE with sep='=') files; the last setting wins."""
        out: dict[str, tuple[str, Line]] = {}
        for line in meaningful_lines(path, self.file(path) or ""):
            if sep:
                key, found, value = line.text.partition(sep)
                if not found:
                    continue
            else:
                parts = line.text.split(None, 1)
                key, value = parts[0], parts[1] if len(parts) > 1 else ""
            out[key.strip()] = (value.strip().strip('"'), line)
        return out

    @cached_property
    def login_defs(self) -> dict[str, tuple[str, Line]]:
        return self.keyvalues("/etc/login.defs")

    # ---------------------------------------------------------- accounts

    @cached_property
    def accounts(self) -> list[Account]:
        out = []
        for line in meaningful_lines("/etc/passwd", self.file("/etc/passwd") or ""):
            parts = line.text.split(":")
            if len(parts) >= 7 and _int(parts[2]) is not None:
                out.append(Account(parts[0], int(parts[2]), _int(parts[3]) or 0, parts[5], parts[6], line))
        return out

    @cached_property
    def groups(self) -> list[tuple[str, int, list[str], Line]]:
        out = []
        for line in meaningful_lines("/etc/group", self.file("/etc/group") or ""):
            parts = line.text.split(":")
            if len(parts) >= 4 and _int(parts[2]) is not None:
                members = [m for m in parts[3].split(",") if m]
                out.append((parts[0], int(parts[2]), members, line))
        return out

    @cached_property
    def authorized_keys(self) -> dict[str, list[tuple[str, str]]]:
        """user -> [(fingerprint, comment)] of the keys in their authorized_keys files."""
        out: dict[str, list[tuple[str, str]]] = {}
        for line in (self.text("authorized_keys") or "").splitlines():
            parts = line.split(None, 3)   # user bits fingerprint comment (TYPE)
            if len(parts) >= 3:
                comment = re.sub(r"\s*\(\w+\)$", "", parts[3]) if len(parts) > 3 else ""
                out.setdefault(parts[0], []).append((parts[2], comment))
        return out

    def groups_of(self, user: str) -> set[str]:
        """Every group of an account: its primary group and those listing it."""
        account = next((a for a in self.accounts if a.name == user), None)
        out = {name for name, _, members, _ in self.groups if user in members}
        if account is not None:
            out |= {name for name, gid, _, _ in self.groups if gid == account.gid}
        return out

    @cached_property
    def shadow(self) -> dict[str, ShadowEntry]:
        out = {}
        for raw in (self.text("shadow") or "").splitlines():
            p = raw.split(":")
            if len(p) >= 9:
                out[p[0]] = ShadowEntry(p[0], p[1], p[2], *(_int(v) for v in p[3:9]))
        return out

    @cached_property
    def login_shells(self) -> set[str]:
        """Shells that allow an interactive login: /etc/shells less the nologin kind."""
        listed = {line.text for line in meaningful_lines("/etc/shells", self.file("/etc/shells") or "")}
        if not listed:
            listed = {"/bin/sh", "/bin/bash", "/usr/bin/bash", "/bin/zsh", "/usr/bin/zsh"}
        return {s for s in listed if not s.endswith(("nologin", "/false"))}

    def uid_min(self) -> int:
        value = self.login_defs.get("UID_MIN")
        return _int(value[0]) if value and _int(value[0]) is not None else 1000

    # ---------------------------------------------------------- PAM

    def pam_stack(self, service: str, kind: str | None = None, _depth: int = 0) -> list[PamEntry]:
        """The effective stack of /etc/pam.d/SERVICE, with @include/include/substack resolved."""
        path = f"/etc/pam.d/{service}"
        text = self.file(path)
        if text is None or _depth > 10:
            return []
        out: list[PamEntry] = []
        for line in meaningful_lines(path, text):
            if line.text.startswith("@include"):
                out += self.pam_stack(line.text.split()[1], kind, _depth + 1)
                continue
            match = re.match(r"^-?(\w+)\s+(\[[^\]]*\]|\S+)\s+(\S+)\s*(.*)$", line.text)
            if not match:
                continue
            ptype, control, module, rest = match.groups()
            if control in ("include", "substack"):  # Red Hat style: auth include system-auth
                out += [e for e in self.pam_stack(module, None, _depth + 1) if e.kind == ptype]
                continue
            try:
                args = tuple(shlex.split(rest)) if rest else ()
            except ValueError:
                args = tuple(rest.split())
            out.append(PamEntry(ptype, control, module.rsplit("/", 1)[-1], args, line))
        return [e for e in out if kind is None or e.kind == kind]

    # ---------------------------------------------------------- sshd

    @cached_property
    def sshd(self) -> dict[str, list[str]]:
        """Effective sshd settings from `sshd -T` (keys lowercase; repeated keys collected)."""
        out: dict[str, list[str]] = {}
        if self.rc("sshd_t") != 0:
            return out
        for raw in (self.text("sshd_t") or "").splitlines():
            key, _, value = raw.strip().partition(" ")
            if key:
                out.setdefault(key.lower(), []).append(value.strip())
        return out

    def sshd_source(self, keyword: str) -> Line | None:
        """Where a keyword is set in sshd_config or its drop-ins (first one wins in sshd)."""
        main = self.file("/etc/ssh/sshd_config") or ""
        paths = []
        for line in meaningful_lines("/etc/ssh/sshd_config", main):
            if line.text.lower().startswith("include "):
                for pattern in line.text.split()[1:]:
                    pattern = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
                    paths += sorted(self.files(pattern))
            paths.append(("/etc/ssh/sshd_config", line))
        for item in paths:
            if isinstance(item, tuple):
                if item[1].text.split()[0].lower() == keyword.lower():
                    return item[1]
            else:
                for line in meaningful_lines(item, self.file(item) or ""):
                    if line.text.split()[0].lower() == keyword.lower():
                        return line
        return None

    # ---------------------------------------------------------- sudo

    @cached_property
    def sudoers(self) -> list[Line]:
        out: list[Line] = []
        for path in ["/etc/sudoers", *sorted(p for p in self.files("/etc/sudoers.d/*")
                                             if not p.endswith("~") and "." not in p.rsplit("/", 1)[1])]:
            for line in meaningful_lines(path, self.file(path) or ""):
                if re.match(r"^[#@]include", line.text):
                    continue
                out.append(line)
        return out

    # ---------------------------------------------------------- packages, services, ports

    @cached_property
    def packages(self) -> dict[str, str]:
        out = {}
        for raw in (self.text("packages") or "").splitlines():
            parts = raw.split("\t")
            if len(parts) >= 3 and parts[2].strip().startswith("i"):
                out[parts[0].split(":")[0]] = parts[1]
        return out

    @cached_property
    def enabled_units(self) -> set[str]:
        out = set()
        for raw in (self.text("enabled") or "").splitlines():
            parts = raw.split()
            if len(parts) == 2:
                name = parts[1]
                if parts[0] == "sysv":
                    name = re.sub(r"^S\d+", "", name) + ".service"
                out.add(name)
        return out

    @cached_property
    def processes(self) -> list[tuple[str, str, str]]:
        """(user, comm, args) of every running process."""
        out = []
        for raw in (self.text("processes") or "").splitlines():
            parts = raw.split(None, 3)
            if len(parts) >= 3:
                out.append((parts[0], parts[2], parts[3] if len(parts) > 3 else ""))
        return out

    def running(self, names: list[str]) -> list[str]:
        return sorted({comm for _, comm, _ in self.processes if comm in names})

    @cached_property
    def listeners(self) -> list[Listener]:
        out = []
        for raw in (self.text("listening") or "").splitlines():
            parts = raw.split()
            if len(parts) < 5 or parts[0] not in ("tcp", "udp"):
                continue
            local = parts[4]
            address, _, port = local.rpartition(":")
            proc = re.search(r'\(\("([^"]+)"', raw)
            if port.isdigit():
                out.append(Listener(parts[0], address, int(port), proc.group(1) if proc else "", raw.strip()))
        return out

    @cached_property
    def inetd_services(self) -> list[Line]:
        out = [line for line in meaningful_lines("/etc/inetd.conf", self.file("/etc/inetd.conf") or "")]
        for path, text in self.files("/etc/xinetd.d/*").items():
            disabled = re.search(r"^\s*disable\s*=\s*yes", text, re.M)
            if not disabled:
                out += [line for line in meaningful_lines(path, text) if line.text.startswith("service")]
        return out

    # ---------------------------------------------------------- kernel, audit, logs

    @cached_property
    def sysctl(self) -> dict[str, str]:
        out = {}
        for raw in (self.text("sysctl") or "").splitlines():
            key, sep, value = raw.partition(" = ")
            if sep:
                out[key.strip()] = value.strip()
        return out

    @cached_property
    def audit_rules(self) -> list[str] | None:
        """Rules loaded in the kernel (`auditctl -l`); None when they could not be read."""
        if self.rc("auditctl_l") != 0:
            return None
        text = self.text("auditctl_l") or ""
        return [] if text.strip() == "No rules" else [r for r in text.splitlines() if r.strip()]

    def _pairs(self, section: str) -> list[tuple[str, str]]:
        """Lines of `KEY VALUE` (the collector's status sections)."""
        out = []
        for raw in (self.text(section) or "").splitlines():
            key, _, value = raw.partition(" ")
            if key:
                out.append((key, value.strip()))
        return out

    @cached_property
    def audit_status(self) -> dict[str, str] | None:
        return dict(self._pairs("auditctl_s")) if self.rc("auditctl_s") == 0 else None

    @cached_property
    def stats(self) -> dict[str, FileStat]:
        return self.stats_in("stat")

    def stats_in(self, section: str) -> dict[str, FileStat]:
        """`statlist` output of a section, by path (a trailing slash dropped)."""
        out = {}
        for raw in (self.text(section) or "").splitlines():
            parts = raw.split("|")
            if len(parts) >= 6:
                path = parts[0].rstrip("/") or "/"
                out[path] = FileStat(path, int(parts[1], 8), parts[2], parts[3], parts[5])
        return out

    @cached_property
    def varlog(self) -> list[FileStat]:
        out = []
        for raw in (self.text("varlog") or "").splitlines():
            parts = raw.split("|")
            if len(parts) == 4:
                out.append(FileStat(parts[0], int(parts[1], 8), parts[2], parts[3], "regular file"))
        return out

    @cached_property
    def mac(self) -> dict[str, str]:
        return dict(self._pairs("mac"))

    @cached_property
    def aide(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value in self._pairs("aide"):
            out.setdefault(key, []).append(value)
        return out
