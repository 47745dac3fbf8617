"""The rest of a host's state, each as its collector section prints it: os-release(5),
`dpkg-query -W` / `rpm -qa` rows, enabled units, `ps` rows, `ss -lntup`, inetd and
xinetd, `sysctl -a`, `auditctl -l` / `-s`, the collector's stat lists, MAC and AIDE
status lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mzops.facts.base import Fact, FactError
from mzops.facts.text import Line, lines_of, meaningful_lines


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


class OsRelease(Fact[dict[str, str]]):
    group, sections = "os", ("file:/etc/os-release",)

    def parse(self, facts) -> dict[str, str]:
        out = {}
        for line in meaningful_lines("/etc/os-release", facts.file("/etc/os-release") or ""):
            key, sep, value = line.text.partition("=")
            if sep:
                out[key.strip()] = value.strip().strip('"').strip("'")
        return out


class Packages(Fact[dict[str, str]]):
    """Installed packages: name -> version (dpkg's `ii` state, or rpm's, marked `i`)."""

    group, sections = "packages", ("packages",)

    def parse(self, facts) -> dict[str, str]:
        out = {}
        for raw in lines_of(facts.text("packages")):
            parts = raw.split("\t")
            if len(parts) >= 3 and parts[2].strip().startswith("i"):
                out[parts[0].split(":")[0]] = parts[1]
        return out


class EnabledUnits(Fact[set[str]]):
    group, sections = "services", ("enabled",)

    def parse(self, facts) -> set[str]:
        out = set()
        for raw in lines_of(facts.text("enabled")):
            parts = raw.split()
            if len(parts) == 2:
                name = parts[1]
                if parts[0] == "sysv":
                    name = re.sub(r"^S\d+", "", name) + ".service"
                out.add(name)
        return out


class Processes(Fact[list[tuple[str, str, str]]]):
    """(user, comm, args) of every running process."""

    group, sections = "services", ("processes",)

    def parse(self, facts):
        out = []
        for raw in lines_of(facts.text("processes")):
            parts = raw.split(None, 3)
            if len(parts) >= 3:
                out.append((parts[0], parts[2], parts[3] if len(parts) > 3 else ""))
        return out


class Listeners(Fact[list[Listener]]):
    group, sections = "ports", ("listening",)

    def parse(self, facts) -> list[Listener]:
        out = []
        for raw in lines_of(facts.text("listening")):
            parts = raw.split()
            if len(parts) < 5 or parts[0] not in ("tcp", "udp"):
                continue
            address, _, port = parts[4].rpartition(":")
            proc = re.search(r'\(\("([^"]+)"', raw)
            if port.isdigit():
                out.append(Listener(parts[0], address, int(port), proc.group(1) if proc else "", raw.strip()))
        return out


class InetdServices(Fact[list[Line]]):
    group, sections = "services", ("file:/etc/inetd.conf", "file:/etc/xinetd.d/*")

    def parse(self, facts) -> list[Line]:
        out = list(meaningful_lines("/etc/inetd.conf", facts.file("/etc/inetd.conf") or ""))
        for path, text in facts.files("/etc/xinetd.d/*").items():
            if not re.search(r"^\s*disable\s*=\s*yes", text, re.M):
                out += [line for line in meaningful_lines(path, text) if line.text.startswith("service")]
        return out


class Sysctl(Fact[dict[str, str]]):
    group, sections = "sysctl", ("sysctl",)

    def parse(self, facts) -> dict[str, str]:
        out = {}
        for raw in lines_of(facts.text("sysctl")):
            key, sep, value = raw.partition(" = ")
            if sep:
                out[key.strip()] = value.strip()
        return out


class AuditRules(Fact["list[str] | None"]):
    """Rules loaded in the kernel (`auditctl -l`); None when they could not be read."""

    group, sections = "audit", ("auditctl_l",)

    def parse(self, facts):
        if facts.rc("auditctl_l") != 0:
            return None
        text = facts.text("auditctl_l") or ""
        return [] if text.strip() == "No rules" else [r for r in text.split("\n") if r.strip()]


def pairs(text: str | None) -> list[tuple[str, str]]:
    """Lines of `KEY VALUE` (the collector's status sections)."""
    out = []
    for raw in lines_of(text):
        key, _, value = raw.partition(" ")
        if key:
            out.append((key, value.strip()))
    return out


class AuditStatus(Fact["dict[str, str] | None"]):
    group, sections = "audit", ("auditctl_s",)

    def parse(self, facts):
        return dict(pairs(facts.text("auditctl_s"))) if facts.rc("auditctl_s") == 0 else None


def _mode(section: str, raw: str, text: str) -> int:
    """A damaged row is an error naming it, never a file that seems absent."""
    try:
        return int(text, 8)
    except ValueError:
        raise FactError(f"{section}: damaged row {raw!r} (mode {text!r} is not octal)") from None


def stat_list(text: str | None, section: str = "stat") -> dict[str, FileStat]:
    """The collector's `statlist` rows (path|mode|owner|group|size|kind), by path."""
    out = {}
    for raw in lines_of(text):
        parts = raw.split("|")
        if len(parts) >= 6:
            path = parts[0].rstrip("/") or "/"
            out[path] = FileStat(path, _mode(section, raw, parts[1]), parts[2], parts[3], parts[5])
    return out


class Stats(Fact[dict[str, FileStat]]):
    group, sections = "stat", ("stat",)

    def parse(self, facts):
        return stat_list(facts.text("stat"), "stat")


class VarLog(Fact[list[FileStat]]):
    group, sections = "logs", ("varlog",)

    def parse(self, facts) -> list[FileStat]:
        out = []
        for raw in lines_of(facts.text("varlog")):
            parts = raw.split("|")
            if len(parts) == 4:
                out.append(FileStat(parts[0], _mode("varlog", raw, parts[1]), parts[2], parts[3], "regular file"))
        return out


class Mac(Fact[dict[str, str]]):
    group, sections = "mac", ("mac",)

    def parse(self, facts):
        return dict(pairs(facts.text("mac")))


class Aide(Fact[dict[str, list[str]]]):
    group, sections = "aide", ("aide",)

    def parse(self, facts):
        out: dict[str, list[str]] = {}
        for key, value in pairs(facts.text("aide")):
            out.setdefault(key, []).append(value)
        return out
