"""No traceback on any input (issue 18): the cases a new user met, each a one-line error
with exit 2 and nothing run, and a command that fails unexpectedly still logged."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, SAMPLE_INVENTORY, run_mzops
from mzops.errors import InputError
from mzops.inventory import loader


def one_line_error(proc, needle: str, code: int = 2) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("mzops: ") and needle in lines[0], lines
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("pattern, needle", [
    ("[", "'[': brackets only as one subscript"),     # Ansible reads a lone '[' as every host
    ("", "--limit: the pattern is empty"),            # ... and an empty pattern too
    ("web[0", "'web[0': brackets only as one subscript"),
    ("zone_core,,primary", "has an empty term"),
    ("~(", "is not a regular expression"),
])
def test_a_limit_ansible_would_misread_is_refused(pattern, needle):
    with pytest.raises(InputError, match="--limit"):
        loader.load(SAMPLE_INVENTORY).limit(pattern)
    # the CLI refuses it before anything connects (harden run previews by connecting)
    proc = run_mzops("-i", str(SAMPLE_INVENTORY), "harden", "run", "--limit", pattern)
    one_line_error(proc, needle)


@pytest.mark.parametrize("pattern, expected", [
    ("zone_core:&primary", {"core-app-01", "core-db-01", "core-db-02", "core-pg-01", "core-mysql-01",
                            "fw-core-01"}),
    ("fw-*:!fw-dr-01", {"fw-inet-01", "fw-core-01", "fw-wan-01", "fw-smc-01"}),
    ("hosts[0:1]", {"smc-bastion-01", "smc-log-01"}),
])
def test_ansible_patterns_still_select_what_ansible_selects(pattern, expected):
    assert set(loader.load(SAMPLE_INVENTORY).limit(pattern)) == expected


def test_output_naming_a_folder_or_an_unwritable_path(tmp_path):
    folder = run_mzops("-i", str(SAMPLE_INVENTORY), "audit", "evaluate", str(tmp_path), "-o", str(tmp_path))
    one_line_error(folder, f"{tmp_path} is a folder: name a file")
    blocked = tmp_path / "file"
    blocked.write_text("")
    under_a_file = run_mzops("-i", str(SAMPLE_INVENTORY), "audit", "evaluate", str(tmp_path), "-o",
                             str(blocked / "report.html"))
    one_line_error(under_a_file, f"{blocked} is not a folder")
    # the same check as a plain -o (one file): it regressed once into a crash
    for command in (["backup", "report"], ["dr", "report"]):
        proc = run_mzops("-i", str(SAMPLE_INVENTORY), *command, "-o", str(tmp_path), home=tmp_path / "home")
        one_line_error(proc, f"{tmp_path} is a folder: name a file", code=2)
    empty = tmp_path / "empty"          # a folder a folder report could use, but --json is one file
    empty.mkdir()
    as_json = run_mzops("-i", str(SAMPLE_INVENTORY), "audit", "evaluate", str(empty), "--json", "-f", "html",
                        "-o", str(empty))
    one_line_error(as_json, f"{empty} is a folder: name a file")


def test_a_command_that_fails_unexpectedly_is_one_line_exit_70_and_logged(tmp_path):
    """A bug (here: the inventory loader raising ZeroDivisionError) is no traceback on the
    terminal; the traceback is kept for the developer and the operation log has the run."""
    crash = ("import sys\nfrom mzops.inventory import loader\n"
             "loader.load = lambda *a, **k: 1 / 0\n"
             "sys.argv = ['mzops', '-i', sys.argv[1], 'inventory', 'list']\n"
             "from mzops.cli import main\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", crash, str(SAMPLE_INVENTORY)], capture_output=True, text=True,
                          cwd=REPO, env={"PATH": "/usr/bin:/bin", "MZOPS_HOME": str(tmp_path)})
    one_line_error(proc, "mzops: internal error: ZeroDivisionError: division by zero (a bug in mzops: "
                         "traceback kept in", code=70)
    kept = list((tmp_path / "crashes").glob("*.txt"))
    assert len(kept) == 1 and "Traceback" in kept[0].read_text() and "ZeroDivisionError" in kept[0].read_text()
    record = json.loads((tmp_path / "oplog" / "operations.jsonl").read_text().splitlines()[-1])
    assert record["command"][-2:] == ["inventory", "list"] and record["result"] == "crashed" \
        and record["exit_code"] == 70


def test_global_options_after_the_sub_command(tmp_path):
    """The README's synopses put -i and -q after the sub-command."""
    proc = run_mzops("inventory", "list", "-i", str(SAMPLE_INVENTORY), "-q", "--json", home=tmp_path)
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 22
    # ... but never what follows `--` (a command run on a lab host)
    from mzops.cli import hoist_globals

    assert hoist_globals(["lab", "exec", "h", "--", "ls", "-q", "-i", "x"]) == \
        ["lab", "exec", "h", "--", "ls", "-q", "-i", "x"]
    assert hoist_globals(["audit", "run", "-i", "inv", "--limit", "x", "-q"]) == \
        ["-i", "inv", "-q", "audit", "run", "--limit", "x"]


def test_a_group_without_a_sub_command_prints_its_help_once():
    proc = run_mzops("lab")
    assert proc.returncode == 0 and proc.stdout.count("Usage:") == 1


def test_flags_show_no_value_and_completion_is_on():
    help_text = run_mzops("audit", "run", "--help").stdout
    assert "<bool>" not in help_text and "--json" in help_text
    assert "--install-completion" in run_mzops("--help").stdout


def test_firewall_render_with_a_list_parameter_written_as_a_string(sample_inventory):
    path = sample_inventory / "group_vars" / "firewalls.yml"
    path.write_text(path.read_text().replace("fw_mgmt_sources: [10.10.1.0/24]", "fw_mgmt_sources: 10.10.1.0/24"))
    proc = run_mzops("-i", str(sample_inventory), "firewall", "render", "fw-inet-01")
    one_line_error(proc, "mzops_baseline_params.fw_mgmt_sources: a list expected")


def test_control_characters_a_user_typed_are_shown_escaped_never_sent_to_the_terminal(tmp_path):
    """An error quoting its input (here a profile name with an escape character, quoted
    in the path the message names) prints it as a \\x escape: a terminal acts on none."""
    bundle = REPO / "tests" / "fixtures" / "debian12-lab.json"
    proc = run_mzops("audit", "evaluate", str(bundle), "--profile", "x\x1b[31my", home=tmp_path / "home")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stderr, proc.stderr
    assert "baselines/x\\x1b[31my;" in proc.stderr, proc.stderr
