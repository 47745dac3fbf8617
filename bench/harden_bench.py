#!/usr/bin/env python3
"""Hardening benchmark on a private lab (needs root; ~70 min for 1, 5 and 20 hosts).

For N hosts, from pristine hosts each time: preview (check mode + diff), apply, and a
second apply (nothing left to change) with `mzops harden run` under Mitogen's strategy
(the default) and under Ansible's linear one, then the same role with the same tags run
by a plain `ansible-playbook` (Ansible's linear strategy, as shipped). mzops also
collects facts before and after (the guards and the verification), takes the snapshot
and logs in afresh; plain Ansible does none of that. After each apply the first host's
files, modes and owners are fingerprinted: the three must leave the same host state.

    sudo .venv/bin/python bench/harden_bench.py [--hosts 1,5,20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path[1:1] = [str(REPO / "tests"), str(REPO / "tests" / "integration")]

from mzops.compliance import catalogue  # noqa: E402
from mzops.harden import selection  # noqa: E402
from mzops.lab import runtime  # noqa: E402
from test_harden_lab import FINGERPRINT  # noqa: E402  (what a hardening run could touch)

MZOPS = [sys.executable, "-m", "mzops"]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
# Kernel audit and the clock are the machine's, not a lab host's (README).
LAB_CANNOT = ("linux.audit.*", "linux.time.sync")


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (/proc/stat, proc(5): all but idle and
    iowait). Less the controller's own (its children's rusage), it is what the lab hosts
    spent: here they share the controller's two cores, in an estate they have their own.
    (The ssh masters ControlPersist leaves behind are not the controller's children any
    more: linear's SSH encryption is counted with the hosts.)"""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default="1,5,20")
    args = parser.parse_args()
    counts = [int(c) for c in args.hosts.split(",")]
    if os.geteuid() != 0:
        raise SystemExit("needs root (the lab)")
    if runtime.lab_netns():
        raise SystemExit("another lab is up: run `mzops lab down` first")
    home = Path(tempfile.mkdtemp(prefix="mzb-"))
    env = {**os.environ, "MZOPS_HOME": str(home)}
    rows: list[tuple[str, str, str, str]] = []
    states: dict[tuple[int, str], dict[str, str]] = {}
    task_costs: dict[str, dict[str, list[float]]] = {}
    verdicts: list[str] = []

    def mz(*a: str) -> subprocess.CompletedProcess:
        return subprocess.run([*MZOPS, *a], env=env, capture_output=True, text=True, cwd=REPO)

    def host_state(host: str) -> dict[str, str]:
        """path -> 'type mode uid gid link' and its SHA-256 (AIDE's database, a digest of
        the host's own files with their times, only by presence)."""
        out = mz("lab", "exec", host, "--", "sh", "-c", FINGERPRINT).stdout
        state = {}
        for line in out.splitlines():
            if len(line) > 66 and line[64:66] == "  ":
                digest, path = line.split("  ", 1)
                state[path + " #content"] = "aide" if path.startswith("/var/lib/aide/") else digest
            elif line.count(" ") >= 4:
                state[line.split(" ")[4]] = line
        return state

    def per_action(run_folder: Path) -> dict[str, list[float]]:
        """Seconds of each finished task of a run, by module (ansible-runner's events)."""
        out: dict[str, list[float]] = {}
        for path in run_folder.rglob("job_events/*.json"):
            data = json.loads(path.read_text()).get("event_data") or {}
            if data.get("duration") is not None and data.get("task_action"):
                out.setdefault(data["task_action"].removeprefix("ansible.builtin."), []).append(data["duration"])
        return out

    cat = catalogue.load("mlps3")
    skipped = {r.id for r in cat.select(list(LAB_CANNOT))}
    tags = selection.select(list(cat.rules.values()), cat.baseline.parameters, False, skipped).tags
    try:
        print(f"lab up with {max(counts)} hosts ...", file=sys.stderr)
        mz("lab", "up", "--hosts", str(max(counts)))
        status = json.loads(mz("lab", "status", "--json").stdout)
        inventory, names = status["inventory"], [h["name"] for h in status["hosts"]]
        ansible_env = {**env, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
        for count in counts:
            hosts = names[:count]

            def timed(label: str, tool: str, argv: list[str], environ: dict, ok=(0,)) -> None:
                before, machine_before = resource.getrusage(resource.RUSAGE_CHILDREN), machine_cpu()
                start = time.monotonic()
                proc = subprocess.run(argv, env=environ, capture_output=True, text=True, cwd=REPO)
                seconds = time.monotonic() - start
                after, machine = resource.getrusage(resource.RUSAGE_CHILDREN), machine_cpu() - machine_before
                controller = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                changed = ""
                if tool.startswith("mzops") and proc.stdout.startswith("{"):
                    record = json.loads(proc.stdout)
                    changed = str(sum(h["counts"].get("changed", 0) for h in record["hosts"]))
                    if label == "apply" and count == counts[0]:
                        task_costs[tool] = per_action(home / "harden" / record["run_id"])
                elif "PLAY RECAP" in proc.stdout:
                    changed = str(sum(int(part.split("=")[1]) for line in proc.stdout.split("PLAY RECAP")[1].splitlines()
                                      for part in line.split() if part.startswith("changed=")))
                if proc.returncode not in ok:
                    print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                    changed += f" (exit {proc.returncode})"
                rows.append((f"{count} host(s): {label}", tool, f"{seconds:.1f} s", f"{controller:.1f} s",
                             f"{machine - controller:.1f} s", changed))
                print(f"  {rows[-1]}", file=sys.stderr)

            common = ["-i", inventory, "harden", "run", "--limit", ",".join(hosts), "--skip", ",".join(LAB_CANNOT),
                      "--batch", str(count), "--forks", "20", "--json"]
            plain = [ANSIBLE_PLAYBOOK, "-i", inventory, "playbooks/harden_linux.yml", "--limit", ",".join(hosts),
                     "--tags", ",".join(tags), "--forks", "20", "--diff"]
            runs = {
                "mzops (Mitogen)": ([*MZOPS, "-q", *common, "--strategy", "mitogen"], "--apply", env),
                "mzops (linear)": ([*MZOPS, "-q", *common, "--strategy", "linear"], "--apply", env),
                "ansible-playbook": (plain, None, ansible_env),
            }
            for tool, (argv, apply_flag, environ) in runs.items():
                mz("lab", "reset", *hosts)
                preview = argv + (["--check"] if apply_flag is None else [])
                applied = argv + ([apply_flag] if apply_flag else [])
                timed("preview", tool, preview, environ)
                timed("apply", tool, applied, environ)
                states[(count, tool)] = host_state(hosts[0])
                timed("second apply", tool, applied, environ)
            first = states[(count, "ansible-playbook")]
            for tool in runs:
                differs = sorted(p for p in set(first) | set(states[(count, tool)])
                                 if first.get(p) != states[(count, tool)].get(p))
                verdicts.append(f"{count} host(s), {tool}: host state after apply "
                                + ("identical to ansible-playbook's" if not differs else
                                   f"differs from ansible-playbook's in {len(differs)} entries: {differs[:5]}"))
    finally:
        mz("lab", "down")
        shutil.rmtree(home, ignore_errors=True)
    print(f"\n{'measurement':<28} {'tool':<18} {'time':>9} {'controller CPU':>15} {'hosts CPU':>10}  tasks changed")
    for what, tool, value, controller, hosts_cpu, changed in rows:
        print(f"{what:<28} {tool:<18} {value:>9} {controller:>15} {hosts_cpu:>10}  {changed}")
    print()
    for verdict in verdicts:
        print(verdict)
    if task_costs:
        print(f"\nseconds per task of a {counts[0]}-host apply, by module (mean over its tasks):")
        actions = sorted({a for costs in task_costs.values() for a in costs},
                         key=lambda a: -len(next(iter(task_costs.values())).get(a, [])))
        print(f"{'module':<16} {'tasks':>5}  " + "  ".join(f"{tool:>16}" for tool in task_costs))
        for action in actions:
            n = max(len(costs.get(action, [])) for costs in task_costs.values())
            cells = [f"{sum(c) / len(c):>14.2f} s" if (c := costs.get(action)) else f"{'-':>16}"
                     for costs in task_costs.values()]
            print(f"{action:<16} {n:>5}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
