"""Runs mzops command lines for tests/unit/test_fuzz_cli.py, one JSON argv per stdin line,
each in a forked child of this already-imported process (no start-up per command), and
answers {"code", "stderr"} per line.

Started under `unshare --net`: the worker and every command it runs have a network
namespace of their own with nothing in it, so a generated command line that happens to
be valid cannot reach any address (the sample inventory's are not ours).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile

from mzops import cli

cli.register()
TIMEOUT = 30


# What a command may write even when it refuses: its operation-log record, and the
# capability's lock file (taken before the input is read, so two runs never interleave).
LOGGED = ("oplog",)


def state() -> dict[str, tuple[int, int]]:
    """Every file under MZOPS_HOME (but the log and lock files) with its size and mtime."""
    home = os.environ["MZOPS_HOME"]
    out = {}
    for folder, dirs, files in os.walk(home):
        rel = os.path.relpath(folder, home)
        if rel.split(os.sep)[0] in LOGGED:
            continue
        for name in files:
            if name.endswith(".lock"):
                continue
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            out[os.path.relpath(path, home)] = (info.st_size, info.st_mtime_ns)
    return out


def run(argv: list[str]) -> dict:
    before = state()
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        pid = os.fork()
        if pid == 0:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            sys.argv = ["mzops", *argv]
            code = 99
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:       # noqa: BLE001 - what main() let through is the finding
                import traceback

                traceback.print_exc()
                code = 98
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
        signal.alarm(TIMEOUT)
        _, status = os.waitpid(pid, 0)
        signal.alarm(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        after = state()
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        return {"code": code, "stderr": err.read().decode(errors="replace")[-4000:], "changed": changed}


for line in sys.stdin:
    sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
    sys.stdout.flush()
