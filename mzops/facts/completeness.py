"""Fail closed: which of the sections a rule read were not collected whole.

A host's collector ends each group with a `group:NAME` marker section, so a bundle cut
off mid-way is told from a host where a file simply does not exist: a file that is
absent while its group's marker is present does not exist on the host; a file absent
without the marker may have been lost. A command's section that is absent, or that
exited non-zero, is not a fact either. (Pure: the bundle and the names read in, the
problems out, each naming the section and what its command said.)
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from importlib import resources

from mzops.bundle import Bundle

MARKER = "group:"
# Sections other collectors own and judge themselves: a database's queries (a refused
# one is already an error naming the server's words), a firewall's configuration.
OWNED_ELSEWHERE = ("sql:", "db:", "fw:")


@lru_cache(maxsize=1)
def file_groups() -> dict[str, tuple[str, ...]]:
    """Collector group -> the file globs its `files` lines collect (collect_linux.sh)."""
    script = resources.files("mzops.compliance").joinpath("collect_linux.sh").read_text()
    out: dict[str, tuple[str, ...]] = {}
    for group, body in re.findall(r"^  ([a-z_]+)\)\n(.*?)^    ;;", script, re.M | re.S):
        body = body.replace("\\\n", " ")
        globs = [g for line in re.findall(r"^\s*files (.+)$", body, re.M) for g in line.split()]
        out[group] = tuple(globs)
    return out


@lru_cache(maxsize=4096)
def groups_collecting(path: str) -> tuple[str, ...]:
    return tuple(g for g, globs in file_groups().items()
                 if any(fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(glob, path) for glob in globs))


def _said(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def problems(bundle: Bundle, read: set[str]) -> list[str]:
    """What is wrong with the sections READ (empty: all of them are whole facts)."""
    out = []
    sections = bundle.sections
    for name in sorted(read):
        if name.startswith(OWNED_ELSEWHERE) or name.startswith(MARKER):
            continue
        if name.startswith("file:"):
            path = name[5:]
            found = sections.get(name)
            if found is not None:
                if found.rc != 0:
                    out.append(f"{path}: unreadable on the host (exit {found.rc}): {_said(found.text)}")
                continue
            groups = groups_collecting(path)
            if not groups:
                out.append(f"{path}: no collector group collects it")
            elif not any(MARKER + g in sections for g in groups):
                out.append(f"{path}: not in the bundle, and the collector group {groups[0]!r} did not finish "
                           "(output cut off, or the group was not collected)")
            continue
        found = sections.get(name)
        if found is None:
            out.append(f"section {name!r} is missing (output cut off, or its group was not collected)")
        elif found.rc != 0:
            out.append(f"section {name!r}: its command failed (exit {found.rc}): {_said(found.text)}")
    return out
