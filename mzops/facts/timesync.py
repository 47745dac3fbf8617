"""Where each time synchronisation daemon takes its time from, read as the daemon reads
its configuration:

- chronyd, chrony.conf(5): `server`, `pool`, `peer` and `refclock` are sources;
  `include` (a glob), `confdir` (its `*.conf`) and `sourcedir` (its `*.sources`, which
  hold only source lines) add files, each directory's files in name order.
- ntpd, ntp.conf(5): `server`, `pool`, `peer`, and `refclock` (ntpsec) are sources.
- systemd-timesyncd, timesyncd.conf(5): timesyncd.conf, then the drop-ins of
  timesyncd.conf.d/ in name order; `NTP=` and `FallbackNTP=` are space-separated lists,
  an empty assignment resets the list; without any FallbackNTP= the compiled-in list
  (the distribution's public pool) is used when no NTP= server is known.
"""

from __future__ import annotations

import fnmatch
import posixpath
import shlex

from mzops.facts.text import Line, meaningful_lines

SOURCES = ("server", "pool", "peer", "refclock")


def _words(line: Line) -> list[str]:
    try:
        return shlex.split(line.text, comments=True)
    except ValueError:
        return line.text.split()


def chrony_sources(facts) -> tuple[list[Line], str | None]:
    """(source lines, the main file read or None when none was collected)."""
    main = next((p for p in ("/etc/chrony/chrony.conf", "/etc/chrony.conf") if facts.file(p) is not None), None)
    if main is None:
        return [], None
    out: list[Line] = []
    collected = facts.files("/etc/chrony*")

    def read(path: str, only_sources: bool = False) -> None:
        for line in meaningful_lines(path, facts.file(path) or ""):
            words = _words(line)
            if not words:
                continue
            key = words[0].lower()
            if key in SOURCES:
                out.append(line)
            elif only_sources:
                continue
            elif key == "include" and len(words) > 1:
                for found in sorted(p for p in collected if fnmatch.fnmatchcase(p, words[1])):
                    read(found)
            elif key in ("confdir", "sourcedir"):
                suffix = ".conf" if key == "confdir" else ".sources"
                for folder in words[1:]:
                    for found in sorted(p for p in collected if posixpath.dirname(p) == folder.rstrip("/")
                                        and p.endswith(suffix)):
                        read(found, only_sources=key == "sourcedir")

    read(main)
    return out, main


def ntp_sources(facts) -> tuple[list[Line], str | None]:
    main = next((p for p in ("/etc/ntpsec/ntp.conf", "/etc/ntp.conf") if facts.file(p) is not None), None)
    if main is None:
        return [], None
    return [line for line in meaningful_lines(main, facts.file(main) or "")
            if (_words(line) or [""])[0].lower() in SOURCES], main


def timesyncd_servers(facts) -> tuple[list[str], list[str] | None, list[Line]]:
    """(NTP= servers, FallbackNTP= servers or None when never set, the lines that set them)."""
    # drop-ins of the three folders in file-name order; a name in /etc hides the same
    # name in /run, which hides /usr/lib (systemd.syntax(7), "drop-in" files)
    dropins: dict[str, str] = {}
    for folder in ("/usr/lib/systemd", "/run/systemd", "/etc/systemd"):
        for path in facts.files(f"{folder}/timesyncd.conf.d/*.conf"):
            dropins[posixpath.basename(path)] = path
    paths = ["/etc/systemd/timesyncd.conf"] + [dropins[name] for name in sorted(dropins)]
    ntp: list[str] = []
    fallback: list[str] | None = None
    lines: list[Line] = []
    for path in paths:
        section = ""
        for line in meaningful_lines(path, facts.file(path) or ""):
            text = line.text.strip()
            if text.startswith(";"):
                continue
            if text.startswith("["):
                section = text
                continue
            key, sep, value = text.partition("=")
            if not sep or section != "[Time]":
                continue
            key, servers = key.strip(), value.split()
            if key == "NTP":
                ntp = ntp + servers if servers else []
                lines.append(line)
            elif key == "FallbackNTP":
                fallback = (fallback or []) + servers if servers else []
                lines.append(line)
    return ntp, fallback, lines
