"""A group's --help lists each command's summary as running text. Typer's rich markup
keeps a docstring's single line breaks in that list (typer/rich_utils.py,
_make_command_help), so a summary wrapped in the source came out broken mid-sentence."""

from __future__ import annotations

import inspect

from typer.testing import CliRunner


def commands(group):
    for info in group.registered_commands:
        yield info
    for sub in group.registered_groups:
        yield from commands(sub.typer_instance)


def test_every_command_summary_is_one_paragraph_of_running_text():
    from mzops.cli import app, register

    register()
    broken = [info.callback.__name__ for group in app.registered_groups for info in commands(group.typer_instance)
              if "\n" in (info.help or inspect.getdoc(info.callback) or "").partition("\n\n")[0]]
    assert not broken, broken


def test_a_summary_wrapped_in_its_docstring_reads_on_one_line_in_the_group_help():
    from mzops.cli import app, register

    register()
    shown = CliRunner().invoke(app, ["backup", "--help"], env={"COLUMNS": "200"}).output
    # backup run's docstring breaks its first line after "the libraries' drives"
    assert "the libraries' drives used at once" in shown, shown
