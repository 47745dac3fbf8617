"""Every command's option parsing fed generated bad values (Hypothesis): no traceback, no
internal error; a refusal is mzops's one-line error with exit 2 and changes nothing but
the operation log (issue 18).

The command lines run in tests/cli_fuzz_worker.py under `unshare --net` (nothing is
reachable from there), against a copy of the sample estate without backup policy or
DR plans, with state in a scratch MZOPS_HOME and MZOPS_CACHE. Left out: `lab` (it acts
on this machine's namespaces), `backup schedule` (systemd units), `log init` (chattr).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import REPO, SAMPLE_INVENTORY

EXCLUDED = ("lab", "backup schedule", "log init")
EXPLORE = os.environ.get("MZOPS_FUZZ_EXAMPLES")


def leaf_commands() -> list[tuple[list[str], object]]:
    import typer.main

    from mzops.cli import app, register

    register()
    out = []

    def walk(command, path: list[str]) -> None:
        if hasattr(command, "commands"):     # a group (Typer vendors click privately)
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        elif not any(" ".join(path).startswith(x) for x in EXCLUDED):
            out.append((path, command))
    walk(typer.main.get_command(app), [])
    return out


COMMANDS = leaf_commands()
VALUES = st.one_of(
    st.text(min_size=0, max_size=10),
    st.integers(-3, 100_000).map(str),
    st.sampled_from(["", "-", "--", "-1", "0", "nan", "1e309", "/", "/tmp", "/nonexistent/x", ".", "..",
                     "[", "~(", "*", "all", "a,,b", "2026-13-45", "2026-12-01 25:61", "yesterday", "%s%n",
                     "$(id)", "'", "\x01", "x" * 300, "--json", "core-pg-01", "zone_core", "linux.*"]),
)


@st.composite
def command_lines(draw) -> list[str]:
    path, command = draw(st.sampled_from(COMMANDS))
    argv = list(path)
    for param in command.params:
        if param.name == "help" or not draw(st.booleans()):
            continue
        if param.param_type_name == "argument":
            argv.append(draw(VALUES))
        elif getattr(param, "is_flag", False):
            argv.append(param.opts[0])
        else:
            argv += [param.opts[0], draw(VALUES)]
    return argv


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root for unshare --net (no network for generated commands)")
    root = tmp_path_factory.mktemp("fuzz-cli")
    shutil.copytree(SAMPLE_INVENTORY, root / "site" / "inventory")
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "MZOPS_HOME": str(root / "home"),
           "MZOPS_CACHE": str(root / "cache"), "MZOPS_INVENTORY": str(root / "site" / "inventory"),
           "HOME": str(root), "COLUMNS": "120"}
    proc = subprocess.Popen(["unshare", "--net", sys.executable, str(REPO / "tests" / "cli_fuzz_worker.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root, env=env)

    def run(argv: list[str]) -> dict:
        proc.stdin.write(json.dumps(argv) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())
    yield run
    proc.stdin.close()
    proc.wait(timeout=30)


def test_the_worker_has_no_network(worker):
    """The guarantee the fuzzing rests on: inside, no route to anything."""
    assert worker(["--version"])["code"] == 0
    probe = subprocess.run(["unshare", "--net", "ip", "-o", "route"], capture_output=True, text=True)
    assert probe.returncode == 0 and probe.stdout.strip() == ""


@settings(max_examples=int(EXPLORE or 150), deadline=None, derandomize=not EXPLORE, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=command_lines())
@example(argv=["audit", "run", "-o", "x" * 300])               # found: a name too long crashed -o's check
@example(argv=["firewall", "diff", "--profile", "\x1e"])        # found: a control character in a message
@example(argv=["audit", "evaluate", "x" * 300, "--save-facts", "y" * 300])
def test_no_command_line_gives_a_traceback(worker, argv):
    done = worker(argv)
    assert "Traceback" not in done["stderr"], (argv, done["stderr"])
    assert done["code"] in (0, 1, 2, 3), (argv, done)
    if done["code"] == 2:
        assert done["changed"] == [], f"a refused command changed {done['changed']}: {argv}"
        if argv[:2] != ["inventory", "validate"]:       # that one lists FILE:LINE: problems
            lines = done["stderr"].strip().split("\n")     # splitlines() would split at \x1c-\x1e too
            assert lines and lines[-1].startswith("mzops: error: "), (argv, done)
