"""logrotate's configuration as logrotate reads it (logrotate(8), "CONFIGURATION FILE
DIRECTIVES", and config.c): the files given on its command line (the system's
/etc/logrotate.conf) are read in order; `include` reads a file, or a folder's files in
name order leaving out the taboo extensions (.dpkg-old, .rpmsave, ~ ...), where it
stands. A log block starts from the global directives in effect where the block
begins; inside it a later directive overrides an earlier one, and of the rotation
criteria (hourly, daily, weekly, monthly, yearly, size) the last one given wins. With
no criterion at all a log is rotated on every run (daily from cron or the timer). The
first block naming a log file is the one used; later ones are reported as duplicates
and skipped.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass, field

from mzops.facts.text import meaningful_lines

TABOO = (".rpmsave", ".rpmorig", "~", ",v", ".disabled", ".dpkg-old", ".dpkg-dist", ".dpkg-new", ".cfsaved",
         ".ucf-old", ".ucf-dist", ".ucf-new", ".rpmnew", ".swp", ".cfsaved", ".rhn-cfg-tmp-*")
CRITERIA = ("hourly", "daily", "weekly", "monthly", "yearly", "size")


@dataclass
class Block:
    patterns: list[str]
    options: dict[str, str] = field(default_factory=dict)
    where: str = ""

    @property
    def criterion(self) -> str:
        return self.options.get("criterion", "daily")


def _set(options: dict[str, str], key: str, value: str) -> None:
    if key in CRITERIA:
        options["criterion"] = key
        if key == "size":
            options["size"] = value
    else:
        options[key] = value


def blocks(facts, main: str = "/etc/logrotate.conf") -> tuple[list[Block], list[str]]:
    """The log blocks in force, in order, and notes (duplicates, taboo files skipped)."""
    collected = facts.files("/etc/logrotate*")
    out: list[Block] = []
    notes: list[str] = []
    defaults: dict[str, str] = {}
    seen: set[str] = set()

    def read(path: str, depth: int = 0) -> None:
        current: Block | None = None
        pending: list[str] = []
        for line in meaningful_lines(path, collected.get(path, "")):
            t = line.text
            if current is None and t.endswith("{"):
                current = Block(pending + t[:-1].split(), dict(defaults), str(line))
                pending = []
            elif current is None and (t.startswith("/") or t.startswith('"')):
                pending += t.split()
            elif t.startswith("}"):
                if current is not None:
                    duplicate = [p for p in current.patterns if p in seen]
                    if duplicate:
                        notes.append(f"{current.where} -- duplicate entry for {', '.join(duplicate)}: skipped")
                    else:
                        seen.update(current.patterns)
                        out.append(current)
                current = None
            else:
                key, _, value = t.partition(" ")
                if current is not None:
                    _set(current.options, key, value.strip())
                elif key == "include" and depth < 8:
                    target = value.strip()
                    folder = [p for p in collected if posixpath.dirname(p) == target.rstrip("/")]
                    for found in sorted(folder, key=posixpath.basename) if folder else [target]:
                        name = posixpath.basename(found)
                        if any(fnmatch.fnmatch(name, f"*{ext}") for ext in TABOO):
                            notes.append(f"{found}: skipped (taboo extension)")
                        elif found in collected:
                            read(found, depth + 1)
                else:
                    _set(defaults, key, value.strip())

    read(main)
    return out, notes
