"""Recorded fact bundles for tests: the lab's pristine Debian 12 host, and variations."""

from __future__ import annotations

import copy
from pathlib import Path

from mzops.compliance.collector import Bundle, Section

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bundles"


def debian12() -> Bundle:
    return Bundle.load(FIXTURES / "debian12-lab.json")


def patched(bundle: Bundle, changes: dict[str, str]) -> Bundle:
    """Replace sections (a key starting with '+' appends to the section instead)."""
    out = copy.deepcopy(bundle)
    for name, text in changes.items():
        if name.startswith("+"):
            name = name[1:]
            old = out.sections.get(name, Section(0, b"")).data
            out.sections[name] = Section(0, old + text.encode())
        elif text is None:
            out.sections.pop(name, None)
        else:
            out.sections[name] = Section(0, text.encode())
    return out


def with_sysctl(bundle: Bundle, values: dict[str, str]) -> Bundle:
    """sysctl -a with some keys changed (appending would leave the old value first)."""
    lines = [line for line in bundle.sections["sysctl"].text.splitlines()
             if line.split(" = ")[0] not in values]
    lines += [f"{k} = {v}" for k, v in values.items()]
    return patched(bundle, {"sysctl": "\n".join(lines) + "\n"})
