#!/usr/bin/env python3
"""Pure evaluation cost: every Linux rule over the recorded lab host's bundle, per host,
for this tree and (with --against REV) an older one, in one run (no lab, no root).

    .venv/bin/python bench/evaluate_bench.py [--against f57ff98] [--repeat 50]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIMER = """
import sys, time
sys.path.insert(0, "tests")
from bundles import debian12
from mzops.compliance import catalogue, evaluate
cat = catalogue.load("mlps3")
rules, bundle = list(cat.baseline.rules), debian12()
evaluate.evaluate(bundle, rules, cat.baseline.parameters)
start = time.perf_counter()
for _ in range({repeat}):
    evaluate.evaluate(bundle, rules, cat.baseline.parameters)
print((time.perf_counter() - start) / {repeat} * 1000)
"""


def timed(tree: Path, repeat: int) -> float:
    out = subprocess.run([sys.executable, "-c", TIMER.format(repeat=repeat)], cwd=tree, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="f57ff98")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    old = Path(tempfile.mkdtemp(prefix="mzb-old-")) / "tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), args.against],
                   check=True, capture_output=True)
    try:
        then, now = timed(old, args.repeat), timed(REPO, args.repeat)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], capture_output=True)
    print(f"{'evaluation of one host, every Linux rule':<44} {args.against:>10} {'new':>10} {'new/old':>8}")
    print(f"{'':<44} {then:>8.1f} ms {now:>8.1f} ms {now / then:>8.2f}")


if __name__ == "__main__":
    main()
