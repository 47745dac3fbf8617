#!/usr/bin/env python3
"""The audit and the accounts check before and after a change of the code under them
(the run layer, engines and facts refactor), on one private lab, in one run.

Both trees are timed on the same 20 hosts, alternately (old, new, old, new ...), with
new SSH connections each time; the figure is the median and new/old as a ratio. The
old tree is a git worktree of REV; it reads the same inventory.

    sudo .venv/bin/python bench/run_layer_bench.py [--against f57ff98] [--hosts 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mzops.lab import runtime  # noqa: E402


def mz(tree: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "mzops", *args], env=env, capture_output=True, cwd=tree)
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{tree}: mzops {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()[-400:]}")
    return proc


def close_connections(home: Path) -> None:
    for sock in [*(home / "lab" / "cm").glob("*"), *home.glob("cm-*")]:
        subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="f57ff98", help="the old revision (default: before the run layer)")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (the lab)")
    if runtime.lab_netns():
        raise SystemExit("another lab is up: run `mzops lab down` first")
    home = Path(tempfile.mkdtemp(prefix="mzb-"))
    old = Path(tempfile.mkdtemp(prefix="mzb-old-")) / "tree"
    env = {**os.environ, "MZOPS_HOME": str(home)}
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), args.against],
                   check=True, capture_output=True)
    rows = []
    try:
        print(f"lab up with {args.hosts} hosts ...", file=sys.stderr)
        mz(REPO, env, "lab", "up", "--hosts", str(args.hosts))
        status = json.loads(mz(REPO, env, "lab", "status", "--json").stdout)
        inventory = status["inventory"]
        names = ",".join(h["name"] for h in status["hosts"])
        for label, command in (("audit run", ["audit", "run", "-f", "json", "-o", "/dev/null"]),
                               ("accounts check", ["accounts", "check", "-f", "json", "-o", "/dev/null"])):
            times: dict[str, list[float]] = {"old": [], "new": []}
            results: dict[str, bytes] = {}
            for _ in range(args.runs):
                for which, tree in (("old", old), ("new", REPO)):
                    close_connections(home)
                    start = time.monotonic()
                    mz(tree, env, "-q", "-i", inventory, *command, "--limit", names, "--forks", "20")
                    times[which].append(time.monotonic() - start)
            for which, tree in (("old", old), ("new", REPO)):
                proc = mz(tree, env, "-q", "-i", inventory, *command[:2], "--limit", names, "--json")
                results[which] = proc.stdout
            old_m, new_m = statistics.median(times["old"]), statistics.median(times["new"])
            same = _verdicts(label, results["old"]) == _verdicts(label, results["new"])
            rows.append((f"{label}, {args.hosts} hosts", old_m, new_m, same))
            print(f"  {label}: old {old_m:.2f} s, new {new_m:.2f} s, same verdicts: {same}", file=sys.stderr)
    finally:
        close_connections(home)
        mz(REPO, env, "lab", "down")
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
    print(f"\n{'measurement':<28} {args.against + ' (median)':>18} {'new (median)':>14} {'new/old':>8}  same verdicts")
    for what, old_m, new_m, same in rows:
        print(f"{what:<28} {old_m:>16.2f} s {new_m:>12.2f} s {new_m / old_m:>8.2f}  {same}")


def _verdicts(label: str, stdout: bytes) -> object:
    """What the run decided, for the comparison: per target and rule (audit), the set of
    findings (accounts)."""
    data = json.loads(stdout)
    if label == "audit run":
        return {t["name"]: {r["rule"]: r["status"] for r in t["results"]} for t in data["targets"]}
    return sorted((f["asset"], f["account"], f["kind"]) for f in data["findings"])


if __name__ == "__main__":
    main()
