#!/usr/bin/env python3
"""Firewall benchmark: push the management baseline plus a 100-rule zone policy to one
device of each CLI vendor, and parse a 10,000-rule configuration.

Pushes go to the vendor simulators (tests/fwsim, SSH on loopback), each starting from
the same as-found configuration, on loopback and behind a relay adding 300 ms of round
trip. Side by side:
- mzops: snapshot, delta, pipelined batches, save, re-read and verify (push.push);
- netmiko as a script would use it: ConnectHandler, send_config_set(delta commands,
  error_pattern=...), save_config — the same commands, without snapshot or verify.

    .venv/bin/python bench/firewall_bench.py [--rules 100] [--rtt 0.3] [--parse-rules 10000]
"""

from __future__ import annotations

import argparse
import copy
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mzops.firewall import delta, vendors  # noqa: E402
from mzops.firewall.model import Address, Rule, Service  # noqa: E402
from mzops.firewall.push import Device, push  # noqa: E402
from mzops.firewall.push import desired as push_desired  # noqa: E402
from mzops.inventory import register as register_file  # noqa: E402
from mzops.inventory.loader import load as load_estate  # noqa: E402
from tests.fwsim.device import Device as SimDevice  # noqa: E402
from tests.fwsim.dialects import DIALECTS  # noqa: E402
from tests.fwsim.server import Simulators  # noqa: E402

VENDORS = {"huawei_usg": "fw-inet-01", "h3c_secpath": "fw-core-01", "hillstone_stoneos": "fw-wan-01"}
START = REPO / "tests" / "fixtures" / "firewall" / "start"
PASSWORD = "bench-Passw0rd!"


def desired(vendor: str, name: str, rules: int):
    """The sample estate's desired configuration for NAME plus RULES more rules."""
    estate = load_estate(REPO / "inventory")
    register = register_file.load(REPO / "inventory" / "accounts.yml")
    cfg = push_desired(estate, REPO / "inventory", Device(estate.assets[name], "mzops"), register)
    cfg.vendor = vendor
    zones = list(cfg.ruleset.zones)
    final = cfg.ruleset.rules.pop()                     # the explicit deny stays last
    for i in range(rules):
        cfg.ruleset.addresses[f"bench-src-{i}"] = Address(f"bench-src-{i}", [f"10.{100 + i // 250}.{i % 250}.0/24"])
        cfg.ruleset.services[f"bench-svc-{i}"] = Service(f"bench-svc-{i}", "tcp", [str(8000 + i)])
        cfg.ruleset.rules.append(Rule(f"bench-{i}", zones[0], zones[-1], [f"bench-src-{i}"], ["any"],
                                     [f"bench-svc-{i}"], "permit", True))
    cfg.ruleset.rules.append(final)
    return cfg


def relay(port: int, rtt: float) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        listen = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "delay_relay.py"), "--listen", f"127.0.0.1:{listen}",
                             "--target", f"127.0.0.1:{port}", "--rtt", str(rtt), "--lifetime", "900"])
    time.sleep(0.7)      # a probe connection would open a session to the device behind it
    return proc, listen


def fresh(sims: Simulators, vendor: str, name: str) -> tuple[SimDevice, int]:
    device = SimDevice.from_text(DIALECTS[vendor], name, {"mzops": PASSWORD}, (START / f"{vendor}.cfg").read_text())
    return device, sims.add(device)


def with_mzops(vendor: str, name: str, port: int, want) -> tuple[float, int]:
    from mzops.inventory.model import Asset
    asset = Asset(name=name, kind="firewall", zone="", site="", fw_vendor=vendor,
                  vars={"ansible_host": "127.0.0.1", "ansible_port": port, "ansible_user": "mzops"})
    start = time.monotonic()
    outcome = push(Device(asset, "mzops", PASSWORD), want, apply=True)
    assert outcome.status == "changed", outcome
    return time.monotonic() - start, len(outcome.commands)


def with_netmiko(vendor: str, port: int, want, sample: int) -> tuple[float, bool]:
    """Wall time, and whether the configuration part was scaled up from the first SAMPLE
    commands (netmiko's Comware and StoneOS drivers wait ~2 s of silence per command
    when checking errors: 1,466 commands would take most of an hour)."""
    from netmiko import ConnectHandler
    v = vendors.get(vendor)
    start = time.monotonic()
    conn = ConnectHandler(device_type=v.device_type, host="127.0.0.1", port=port, username="mzops",
                          password=PASSWORD)
    running = conn.send_command(v.show_running, read_timeout=120)
    commands = delta.delta(v.render(v.parse(running)), v.render(want), v.syntax)
    errors = "|".join(v.error_patterns)
    scaled = bool(sample) and len(commands) > sample
    extra = 0.0
    if scaled:
        # The session's own cost (entering and leaving config mode) from a one-command
        # call, the cost per command from SAMPLE more; the rest is scaled from those.
        before = time.monotonic()
        conn.send_config_set(commands[:1], error_pattern=errors, read_timeout=600)
        one = time.monotonic() - before
        before = time.monotonic()
        conn.send_config_set(commands[1:sample + 1], error_pattern=errors, read_timeout=600)
        per = (time.monotonic() - before - one) / sample
        extra = per * (len(commands) - 1 - sample) - one     # the second call's session cost counted once
    else:
        conn.send_config_set(commands, error_pattern=errors, read_timeout=600)
    if vendor == "hillstone_stoneos":      # netmiko answers one of StoneOS's two save questions
        conn.send_command_timing("save")
        conn.send_command_timing("y")
        conn.send_command_timing("n")
    else:
        conn.save_config(*(("save force", False) if vendor == "h3c_secpath" else ()))
    conn.disconnect()
    return time.monotonic() - start + extra, bool(scaled)


def parse_time(vendor: str, rules: int) -> tuple[float, int, int]:
    v = vendors.get(vendor)
    cfg = desired(vendor, VENDORS.get(vendor, "fw-core-01"), rules)
    text = v.render(cfg)
    start = time.monotonic()
    parsed = v.parse(text)
    took = time.monotonic() - start
    assert len(parsed.ruleset.rules) == len(cfg.ruleset.rules)
    return took, len(text.splitlines()), len(parsed.ruleset.rules)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--rtt", type=float, default=0.3)
    ap.add_argument("--parse-rules", type=int, default=10000)
    ap.add_argument("--skip-netmiko-rtt", action="store_true", help="netmiko behind the relay takes minutes")
    ap.add_argument("--vendors", default=",".join(VENDORS), help="comma-separated vendors to push to")
    ap.add_argument("--netmiko-sample", type=int, default=150,
                    help="send netmiko at most this many commands and scale its time up (0: all)")
    args = ap.parse_args()

    print(f"push: management baseline + {args.rules}-rule policy, from the as-found configuration")
    print(f"{'vendor':<18} {'link':<10} {'commands':>8} {'mzops s':>9} {'netmiko s':>10}   (~: scaled from "
          f"the first {args.netmiko_sample} commands)")
    with Simulators() as sims:
        for vendor, name in VENDORS.items():
            if vendor not in args.vendors.split(","):
                continue
            want = desired(vendor, name, args.rules)
            for link in ("loopback", f"+{args.rtt * 1000:.0f} ms"):
                device, port = fresh(sims, vendor, name)
                proc = None
                if link != "loopback":
                    proc, port = relay(port, args.rtt)
                try:
                    ours, count = with_mzops(vendor, name, port, copy.deepcopy(want))
                    theirs = "-"
                    if link == "loopback" or not args.skip_netmiko_rtt:
                        device2, port2 = fresh(sims, vendor, name)
                        proc2 = None
                        if link != "loopback":
                            proc2, port2 = relay(port2, args.rtt)
                        try:
                            took, scaled = with_netmiko(vendor, port2, copy.deepcopy(want), args.netmiko_sample)
                            theirs = f"~{took:.0f}" if scaled else f"{took:.1f}"
                        finally:
                            if proc2:
                                proc2.kill()
                    print(f"{vendor:<18} {link:<10} {count:>8} {ours:>9.1f} {theirs:>10}", flush=True)
                finally:
                    if proc:
                        proc.kill()

    print(f"\nparse: a {args.parse_rules}-rule configuration (running-configuration text -> model)")
    print(f"{'vendor':<18} {'lines':>8} {'rules':>7} {'seconds':>8}")
    for vendor in (*VENDORS, "nftables"):
        took, lines, rules = parse_time(vendor, args.parse_rules)
        print(f"{vendor:<18} {lines:>8} {rules:>7} {took:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
