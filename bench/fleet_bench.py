#!/usr/bin/env python3
"""Fleet audit benchmark: the control node auditing 200 and 2,000 hosts.

Each host is an SSH server on loopback (`fleet_replay.py`, asyncssh) that answers the
collector with a recorded bundle after a latency standing in for the link: what the
control node does per host is real (an OpenSSH client per host, key exchange, public-key
login, the collector sent on stdin, the answer parsed and evaluated, the reports
written), what the hosts do is replayed. First, with --lab N (root), the replay is shown
faithful: N real lab hosts are audited with --save-facts, then their bundles replayed
under the same names; the results must be identical.

For each count: `mzops audit run --forks F -f jsonl` over the replayed estate (wall
time, peak memory of the mzops process, CPU), the same audit as AWX runs it (the
mzops.mlps3 collection under `ansible-playbook --forks F`; its results must equal
mzops's), `mzops audit evaluate` of the same bundles saved (offline, no SSH), then the
reports an auditor gets from it
(`audit merge` of that JSON Lines file into JSON, one HTML file, and the folder report)
with their sizes.

    .venv/bin/python bench/fleet_bench.py [--hosts 200,2000] [--forks 50] [--latency 0.1] [--lab 3]
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

import yaml

REPO = Path(__file__).resolve().parent.parent
MZOPS = [sys.executable, "-m", "mzops"]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
RECORDED = sorted((REPO / "tests" / "fixtures" / "bundles").glob("*.json"))
ZONES = ("core", "user", "smc", "wan")
SITES = ("primary", "dr", *(f"prov-{n:02d}" for n in range(1, 32)))
PORT = 2222
SERVERS = 2            # replay processes (the hosts' side shares this machine's two cores)


def keys(work: Path) -> dict[str, Path]:
    for name in ("client", "host"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / name)], check=True)
    host_pub = (work / "host.pub").read_text().split()
    (work / "known_hosts").write_text(f"fleet-replay {host_pub[0]} {host_pub[1]}\n")
    return {"client": work / "client", "authorized": work / "client.pub", "host": work / "host",
            "known_hosts": work / "known_hosts"}


def address(i: int, block: int) -> str:
    """Host I's own loopback address (all of 127/8 is loopback): one asset, one address."""
    return f"127.{block}.{i // 250}.{i % 250 + 1}"


def inventory(folder: Path, names: list[str], block: int, k: dict[str, Path]) -> Path:
    """An estate of NAMES, each an SSH server on its own loopback address."""
    folder.mkdir(parents=True)
    hosts = {name: {"ansible_host": address(i, block), "mzops_zone": ZONES[i % len(ZONES)],
                    "mzops_site": SITES[i % len(SITES)]} for i, name in enumerate(names)}
    doc = {"all": {"vars": {
        "ansible_port": PORT, "ansible_user": "mzops", "ansible_ssh_private_key_file": str(k["client"]),
        "ansible_ssh_common_args": f"-o HostKeyAlias=fleet-replay -o UserKnownHostsFile={k['known_hosts']} "
                                   "-o StrictHostKeyChecking=yes -o ControlMaster=no",
        "mzops_kind": "host", "mzops_platform": "debian-12"},
        "hosts": hosts}}
    (folder / "hosts.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    (folder / "group_vars" / "all").mkdir(parents=True)
    (folder / "group_vars" / "all" / "estate.yml").write_text(yaml.safe_dump({
        "mzops_zones": {z: {"name": z} for z in ZONES}, "mzops_sites": {s: {"name": s} for s in SITES}}))
    return folder


class Replay:
    """Replay servers: host I answers with BUNDLES[I], at `address(I, BLOCK)`."""

    def __init__(self, work: Path, bundles: list[Path], block: int, k: dict[str, Path], latency: float):
        self.procs = []
        items = [(f"{address(i, block)}:{PORT}", str(path)) for i, path in enumerate(bundles)]
        for n in range(SERVERS):
            part = dict(items[n::SERVERS])
            if not part:
                continue
            (work / f"map{n}.json").write_text(json.dumps(part))
            ready = work / f"ready{n}"
            ready.unlink(missing_ok=True)
            proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "fleet_replay.py"), "--map",
                                     str(work / f"map{n}.json"), "--host-key", str(k["host"]),
                                     "--authorized-keys", str(k["authorized"]), "--latency", str(latency),
                                     "--ready", str(ready)], stdin=subprocess.PIPE)
            self.procs.append((proc, ready))
        deadline = time.monotonic() + 120
        while not all(r.exists() for _, r in self.procs):
            if time.monotonic() > deadline or any(p.poll() is not None for p, _ in self.procs):
                self.stop()
                raise SystemExit("replay servers did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.stdin.close()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


GNU_TIME = shutil.which("time") and Path("/usr/bin/time")


def timed(argv: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float, float, float]:
    """A command's wall time, CPU seconds (with its ssh clients) and peak memory (MB, of
    its largest process). Through GNU time (Debian's `time`) when it is there: a child
    forked from this process would inherit this process's memory high-water mark at its
    exec (Linux keeps the larger), and this process holds a whole estate's results."""
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats"
        prefix = [str(GNU_TIME), "-f", "%U %S %M", "-o", str(stats)] if GNU_TIME and GNU_TIME.exists() else []
        start = time.monotonic()
        child = subprocess.Popen([*prefix, *argv], env=env, stdout=open(Path(tmp) / "out", "wb"),
                                 stderr=open(Path(tmp) / "err", "wb"), cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        proc = subprocess.CompletedProcess(argv, child.returncode, (Path(tmp) / "out").read_text(),
                                           (Path(tmp) / "err").read_text())
        if prefix:
            user, system, peak_kb = stats.read_text().split()[-3:]
            return proc, wall, float(user) + float(system), int(peak_kb) / 1024
    return proc, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def comparable(report: dict) -> dict:
    return {t["name"]: (t["status"], [(r["rule"], r["status"], r["actual"], r["evidence"]) for r in t["results"]])
            for t in report["targets"]}


def faithful(work: Path, env: dict, sample: int, k: dict[str, Path], latency: float) -> str:
    """Real lab hosts audited, then their bundles replayed: the same results, or why not."""
    from mzops.lab import runtime

    if os.geteuid() != 0:
        return "replay faithfulness: skipped (the lab needs root)"
    if runtime.lab_netns():
        return "replay faithfulness: skipped (another lab is up)"
    lab_env = {**env, "MZOPS_HOME": str(work / "labhome")}
    try:
        subprocess.run([*MZOPS, "-q", "lab", "up", "--hosts", str(sample)], env=lab_env, capture_output=True, cwd=REPO)
        status = json.loads(subprocess.run([*MZOPS, "lab", "status", "--json"], env=lab_env, capture_output=True,
                                           text=True, cwd=REPO).stdout)
        names = [h["name"] for h in status["hosts"]]
        saved = work / "lab-bundles"
        real = subprocess.run([*MZOPS, "-q", "-i", status["inventory"], "audit", "run", "--limit", ",".join(names),
                               "--save-facts", str(saved), "--json"], env=lab_env, capture_output=True, text=True, cwd=REPO)
    finally:
        subprocess.run([*MZOPS, "-q", "lab", "down"], env=lab_env, capture_output=True, cwd=REPO)
    bundles = [saved / f"{n}.json" for n in names]
    missing = [str(b) for b in bundles if not b.exists()]
    if missing:
        return f"replay faithfulness: the lab audit saved no bundle for {missing} ({real.stderr.strip()[-300:]})"
    replay = Replay(work, bundles, 2, k, latency)
    try:
        inv = inventory(work / "lab-replay-inv", names, 2, k)
        again = subprocess.run([*MZOPS, "-q", "-i", str(inv), "audit", "run", "--json"], env=env, capture_output=True,
                               text=True, cwd=REPO)
    finally:
        replay.stop()
    a, b = comparable(json.loads(real.stdout)), comparable(json.loads(again.stdout))
    if a == b:
        rules = sum(len(v[1]) for v in a.values())
        return f"replay faithfulness: {len(a)} real lab hosts and their replay gave identical results ({rules} rule results)"
    differs = [n for n in a if a[n] != b.get(n)]
    return f"replay faithfulness: results differ for {differs}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default="200,2000")
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds each replayed host waits before answering")
    parser.add_argument("--lab", type=int, default=3, help="real lab hosts for the faithfulness check (0: none)")
    parser.add_argument("--no-ansible", dest="ansible", action="store_false",
                        help="leave out the collection under ansible-playbook")
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))      # a listening socket per replayed host
    work = Path(tempfile.mkdtemp(prefix="mzfleet-"))
    env = {**os.environ, "MZOPS_HOME": str(work / "home")}
    k = keys(work)
    lines = []
    try:
        if args.lab:
            print("replaying real lab hosts ...", file=sys.stderr)
            lines.append(faithful(work, env, args.lab, k, args.latency))
            print(lines[-1], file=sys.stderr)
        rows = []
        for count in [int(c) for c in args.hosts.split(",")]:
            names = [f"host-{i:04d}" for i in range(count)]
            inv = inventory(work / f"inv{count}", names, 1, k)
            replay = Replay(work, [RECORDED[i % len(RECORDED)] for i in range(count)], 1, k, args.latency)
            out, by_ansible = work / f"audit{count}.jsonl", work / f"ansible{count}.jsonl"
            try:
                proc, wall, cpu, rss = timed([*MZOPS, "-q", "-i", str(inv), "audit", "run", "--forks", str(args.forks),
                                              "-f", "jsonl", "-o", str(out)], env)
                if args.ansible:
                    # the same audit as AWX would run it: the collection under ansible-playbook
                    played, a_wall, a_cpu, a_rss = timed(
                        [ANSIBLE_PLAYBOOK, "-i", str(inv), "playbooks/mlps3_audit.yml", "--forks", str(args.forks)],
                        {**env, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                         "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
                         "ANSIBLE_CALLBACKS_ENABLED": "mzops.mlps3.report", "MZOPS_REPORT": str(by_ansible),
                         # one execution per host: a ControlPersist master per host would only linger
                         "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=no"})
            finally:
                replay.stop()
            targets = [json.loads(line) for line in out.read_text().splitlines()[1:]] if out.exists() else []
            assessed = sum(t["status"] == "assessed" for t in targets)
            if assessed != count:
                reasons = sorted({t["message"][:120] for t in targets if t["status"] != "assessed"})[:3]
                raise SystemExit(f"{count} hosts: only {assessed} assessed: {reasons} {proc.stderr[-500:]}")
            row = {"hosts": count, "assessed": assessed, "audit s": wall, "audit CPU s": cpu, "audit peak MB": rss,
                   "jsonl MB": out.stat().st_size / 1e6 if out.exists() else 0}
            if args.ansible:
                mine = comparable({"targets": targets})
                theirs = comparable({"targets": [json.loads(x) for x in by_ansible.read_text().splitlines()[1:]]}
                                    if by_ansible.exists() else {"targets": []})
                row.update({"collection s": a_wall, "collection CPU s": a_cpu, "collection peak MB": a_rss,
                            "collection = mzops": "yes" if mine == theirs else f"no ({played.stdout[-300:]})"})
            # the same bundles evaluated offline (how the issue measured the control node)
            saved = work / f"bundles{count}"
            saved.mkdir()
            for i, name in enumerate(names):
                data = json.loads(RECORDED[i % len(RECORDED)].read_text())
                (saved / f"{name}.json").write_text(json.dumps({**data, "target": name}))
            _, row["evaluate s"], _, row["evaluate peak MB"] = timed(
                [*MZOPS, "-q", "-i", str(inv), "audit", "evaluate", str(saved), "-f", "jsonl", "-o",
                 str(work / f"evaluated{count}.jsonl")], env)
            shutil.rmtree(saved)
            for fmt, target in (("json", work / f"r{count}.json"), ("html", work / f"r{count}.html"),
                                ("html", work / f"r{count}")):
                _, seconds, _, peak = timed([*MZOPS, "-q", "audit", "merge", str(out), "-f", fmt, "-o", str(target)], env)
                label = "html folder" if target.suffix == "" else fmt
                if target.is_dir():
                    row["html folder: summary MB"] = (target / "index.html").stat().st_size / 1e6
                    row["html folder: all MB"] = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) / 1e6
                else:
                    row[f"{label} MB"] = target.stat().st_size / 1e6 if target.exists() else 0
                row[f"{label}: merge s"] = seconds
                row[f"{label}: merge peak MB"] = peak
            rows.append(row)
            print(row, file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nfleet audit: forks {args.forks}, {args.latency:.2f} s latency per host, "
          f"{len(RECORDED)} recorded bundle(s) replayed, {SERVERS} replay processes on this machine's cores")
    for line in lines:
        print(line)
    keys_ = list(rows[0]) if rows else []
    for key in keys_:
        print(f"{key:<28}" + "".join(f"{row[key]:>12.1f}" if isinstance(row[key], float) else f"{row[key]:>12}"
                                     for row in rows))


if __name__ == "__main__":
    main()
