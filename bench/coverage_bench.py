#!/usr/bin/env python3
"""Which MLPS items mzops, Lynis and OpenSCAP actually check, measured by fault injection.

For each item, one freshly reset lab host gets the item's *pass* scenarios (from
baselines/mlps3/linux.yml) and another its *fail* scenarios; every tool runs on both.
A tool checks the item when its results differ between the two hosts: mzops by the
item's rule statuses, Lynis by its report's warning/suggestion lines, OpenSCAP by its
set of failing rules. Lines that differ between two identical pristine hosts are noise
and are ignored. Needs root; about 10 minutes.

    sudo .venv/bin/python bench/coverage_bench.py [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from audit_bench import Bench, install_scanners  # noqa: E402
from mzops.compliance import catalogue  # noqa: E402
from mzops.lab import runtime  # noqa: E402

ITEMS = [
    ("password complexity", ["linux.pw.minlen", "linux.pw.classes"]),
    ("password max age (login.defs)", ["linux.pw.max_days"]),
    ("password max age (existing accounts)", ["linux.pw.account_max_age"]),
    ("password history", ["linux.pw.history"]),
    ("weak password hashing", ["linux.pw.hashing"]),
    ("login-failure lockout", ["linux.pam.lockout"]),
    ("shell idle timeout (TMOUT)", ["linux.shell.timeout"]),
    ("SSH idle timeout", ["linux.ssh.idle_interval"]),
    ("SSH root login", ["linux.ssh.root_login"]),
    ("SSH weak MACs", ["linux.ssh.macs"]),
    ("telnet offered (inetd + listener)", ["linux.svc.no_telnet"]),
    ("UID 0 besides root", ["linux.acct.uid0_only_root"]),
    ("duplicate UIDs", ["linux.acct.unique_uids"]),
    ("empty password", ["linux.acct.empty_passwords"]),
    ("PAM nullok", ["linux.pam.no_nullok"]),
    ("system account with a login", ["linux.acct.system_locked"]),
    ("su not restricted (pam_wheel)", ["linux.su.wheel"]),
    ("sudo NOPASSWD", ["linux.sudo.nopasswd"]),
    ("/etc/shadow world-readable", ["linux.file.shadow"]),
    ("default umask", ["linux.file.umask"]),
    ("remote syslog", ["linux.log.remote"]),
    ("log retention", ["linux.log.retention"]),
    ("time synchronisation", ["linux.time.sync"]),
    ("unneeded service enabled", ["linux.svc.unneeded"]),
    ("high-risk port listening", ["linux.net.high_risk_ports"]),
    ("AIDE database", ["linux.aide.initialised"]),
]

LYNIS = "lynis audit system --quick --no-colors >/dev/null 2>&1; " \
        "grep -E '^(warning|suggestion)\\[\\]=' /var/log/lynis-report.dat | cut -d'|' -f1,2 | sort -u"
OSCAP = "oscap xccdf eval --profile xccdf_org.ssgproject.content_profile_anssi_np_nt28_high /tmp/ds12.xml " \
        "2>/dev/null | awk '/^Title/{t=$0} /^Rule/{r=$2} /^Result/{if ($2==\"fail\") print r}' | sort -u"


def tool_outputs(b: Bench, inventory: str, host: str, rules: list[str]) -> dict[str, set[str]]:
    lynis = b.mz("lab", "exec", host, "--", "sh", "-c", LYNIS, check=False).stdout.decode().split("\n")
    oscap = b.mz("lab", "exec", host, "--", "sh", "-c", OSCAP, check=False).stdout.decode().split("\n")
    audit = b.mz("-q", "-i", inventory, "audit", "run", "--limit", host, "--rules", ",".join(rules), "--json",
                 check=False)
    results = json.loads(audit.stdout)["targets"][0]["results"]
    return {"mzops": {f"{r['rule']}={r['status']}" for r in results},
            "Lynis": {line for line in lynis if line}, "OpenSCAP": {line for line in oscap if line}}


def prepare(b: Bench, host: str, archive: bytes, script: str = "true") -> None:
    b.mz("lab", "reset", host)
    install_scanners(b, host, archive)
    proc = b.mz("lab", "exec", host, "--", "sh", "-ec", script, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"scenario failed on {host}: {proc.stderr.decode()[-300:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (the lab)")
    if runtime.lab_netns():
        raise SystemExit("another lab is up: run `mzops lab down` first")
    rules = catalogue.load("mlps3").rules
    home = Path(tempfile.mkdtemp(prefix="mzc-"))
    b = Bench(home)
    try:
        hosts = args.workers * 2
        b.mz("lab", "up", "--hosts", str(hosts))
        status = json.loads(b.mz("lab", "status", "--json").stdout)
        inventory, names = status["inventory"], [h["name"] for h in status["hosts"]]
        archive = install_scanners(b, names[0], None)
        # Noise: what differs between two identical pristine hosts.
        prepare(b, names[0], archive)
        prepare(b, names[1], archive)
        all_rules = [r for _, ids in ITEMS for r in ids]
        first, second = (tool_outputs(b, inventory, n, all_rules) for n in names[:2])
        noise = {tool: first[tool] ^ second[tool] for tool in first}
        jobs: queue.Queue = queue.Queue()
        for item in ITEMS:
            jobs.put(item)
        rows: dict[str, dict[str, str]] = {}

        def worker(pass_host: str, fail_host: str) -> None:
            while True:
                try:
                    label, ids = jobs.get_nowait()
                except queue.Empty:
                    return
                prepare(b, pass_host, archive, "\n".join(f"( {rules[i].scenarios.passing} )" for i in ids))
                prepare(b, fail_host, archive, "\n".join(f"( {rules[i].scenarios.failing} )" for i in ids))
                good, bad = tool_outputs(b, inventory, pass_host, ids), tool_outputs(b, inventory, fail_host, ids)
                row = {}
                for tool in good:
                    changed = sorted((good[tool] ^ bad[tool]) - noise[tool])
                    row[tool] = ("yes: " + changed[0][:60]) if changed else "no"
                rows[label] = row
                print(f"  {label:<38} " + "  ".join(f"{t}={v[:3]}" for t, v in row.items()), file=sys.stderr)

        threads = [threading.Thread(target=worker, args=(names[2 * i], names[2 * i + 1]))
                   for i in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        b.close_connections()
        b.mz("lab", "down", check=False)
        shutil.rmtree(home, ignore_errors=True)
    print(f"\n{'MLPS item (fault injected)':<38} {'mzops':<6} {'Lynis':<6} {'OpenSCAP':<9} first difference seen")
    for label, _ in ITEMS:
        row = rows.get(label, {})
        short = {t: row.get(t, "?").split(":")[0] for t in ("mzops", "Lynis", "OpenSCAP")}
        seen = "; ".join(f"{t}: {row[t][5:]}" for t in ("Lynis", "OpenSCAP") if row.get(t, "").startswith("yes"))
        print(f"{label:<38} {short['mzops']:<6} {short['Lynis']:<6} {short['OpenSCAP']:<9} {seen}")
    for tool in ("mzops", "Lynis", "OpenSCAP"):
        print(f"{tool}: {sum(1 for r in rows.values() if r.get(tool, '').startswith('yes'))} of {len(ITEMS)} items; "
              f"noise lines ignored: {len(noise.get(tool, ()))}")


if __name__ == "__main__":
    main()
