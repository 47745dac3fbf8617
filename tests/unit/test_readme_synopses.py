"""The README's synopses match the CLI: every command it names exists, and every option a
synopsis shows is one the command's --help lists (issue 18)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from conftest import REPO

README = (REPO / "README.md").read_text()


def synopses() -> list[tuple[list[str], list[str]]]:
    """(command words, options shown) for each synopsis: indented `mzops ...` blocks and
    the `| \\`mzops ...\\` |` rows of the README's command tables."""
    found: list[str] = []
    lines = README.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("    mzops "):
            text = line.strip()
            for more in lines[i + 1:]:
                if more.startswith("        ") and not more.strip().startswith("mzops "):
                    text += " " + more.strip()
                else:
                    break
            found.append(text)
        found += re.findall(r"^\| `(mzops [^`]+)`", line)
    out = []
    for text in found:
        words = text.split()[1:]
        if " / " in text:                           # `mzops lab up / down / link cut`
            group, rest = words[0], " ".join(words[1:])
            for alternative in rest.split(" / "):
                command = [w for w in alternative.split() if re.fullmatch(r"[a-z][a-z-]*", w)]
                out.append(([group, *command], []))
            continue
        command = []
        for word in words:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            command.append(word)
        out.append((command, sorted(set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text)))))
    return out


CASES = synopses()


def test_the_readme_has_synopses():
    assert len(CASES) > 50


@pytest.mark.parametrize("command, options", CASES, ids=[" ".join(c) for c, _ in CASES])
def test_each_synopsis_is_the_cli(command, options):
    from mzops.cli import app, register

    register()
    runner = CliRunner()
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, f"mzops {' '.join(command)}: {result.output[-300:]}"
    # global options (-i, -q, --json) may stand after the sub-command too
    shown = result.output + runner.invoke(app, ["--help"], terminal_width=200).output
    missing = [o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", shown)]
    assert not missing, f"mzops {' '.join(command)} --help does not list {missing}"
