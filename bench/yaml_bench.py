#!/usr/bin/env python3
"""YAML loading: mzops's loader (lines of every key, duplicate keys refused) against
PyYAML's own C loader without lines (the floor) and the pure-Python compose-then-load
mzops used before, on the repository's data files and a generated 2,000-host inventory.

    .venv/bin/python bench/yaml_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mzops import yamlfile  # noqa: E402


def old_way(path: Path) -> None:
    text = path.read_text()
    yaml.compose(text, Loader=yaml.SafeLoader)
    yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506


def floor(path: Path) -> None:
    yaml.load(path.read_text(), Loader=yaml.CSafeLoader)  # noqa: S506


def fleet(folder: Path, hosts: int) -> Path:
    lines = "".join(f"        h{i:04d}: {{ansible_host: 10.1.{i // 250}.{i % 250}, mzops_platform: kylin-v10, "
                    "mzops_zone: core, mzops_site: primary, mzops_criticality: key, ansible_user: mzops, "
                    "ansible_become: true}\n" for i in range(hosts))
    path = folder / "hosts.yml"
    path.write_text("all:\n  children:\n    hosts:\n      hosts:\n" + lines)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = sorted(p for d in ("baselines", "inventory", "backup") for p in (REPO / d).rglob("*.yml"))
    with tempfile.TemporaryDirectory() as tmp:
        sets = {f"repository ({len(files)} files)": files, "2,000-host inventory": [fleet(Path(tmp), 2000)]}
        print(f"{'files':<26} {'mzops (libyaml, lines)':>24} {'PyYAML C, no lines':>20} {'before: parsed twice':>24}")
        for name, paths in sets.items():
            cells = []
            for load in (yamlfile.load, floor, old_way):
                start = time.perf_counter()
                for _ in range(args.repeat):
                    for path in paths:
                        load(path)
                cells.append((time.perf_counter() - start) / args.repeat)
            print(f"{name:<26} {cells[0]:>22.3f} s {cells[1]:>18.3f} s {cells[2]:>22.3f} s"
                  f"   ({cells[0] / cells[1]:.2f}x the floor)")


if __name__ == "__main__":
    main()
