"""Recorded fact bundles for tests: the lab's pristine Debian 12 host, and variations."""

from __future__ import annotations

import copy
from pathlib import Path

import datetime as dt

from mzops.compliance import audit, catalogue, waivers
from mzops.bundle import Bundle, Section
from mzops.inventory.model import Asset, Estate
from mzops.results import Run, TargetResult

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bundles"


def debian12() -> Bundle:
    return Bundle.load(FIXTURES / "debian12-lab.json")


def patched(bundle: Bundle, changes: dict[str, str]) -> Bundle:
    """Replace sections (a key starting with '+' appends to the section instead)."""
    out = copy.deepcopy(bundle)
    for name, text in changes.items():
        if name.startswith("+"):
            name = name[1:]
            old = out.sections.get(name, Section(0, b"")).data
            out.sections[name] = Section(0, old + text.encode())
        elif text is None:
            out.sections.pop(name, None)
        else:
            out.sections[name] = Section(0, text.encode())
    return out


def with_sysctl(bundle: Bundle, values: dict[str, str]) -> Bundle:
    """sysctl -a with some keys changed (appending would leave the old value first)."""
    lines = [line for line in bundle.sections["sysctl"].text.splitlines()
             if line.split(" = ")[0] not in values]
    lines += [f"{k} = {v}" for k, v in values.items() if v is not None]   # None: the key is absent
    return patched(bundle, {"sysctl": "\n".join(lines) + "\n"})


CATALOGUE = catalogue.load("mlps3")


def write_waivers(tmp_path, text):
    path = tmp_path / "waivers.yml"
    path.write_text(text)
    return path


WAIVERS = """waivers:
  - rule: linux.auth.mfa
    targets: zone_core
    justification: Admin logins only through the two-factor bastion smc-bastion-01.
    approver: 李娜 (security admin)
    expires: 2099-12-31
  - rule: linux.ssh.x11
    targets: "lab*"
    justification: Temporary exception for a graphical installer during migration.
    approver: 张伟
    expires: 2020-01-31
"""


def evaluated_run(tmp_path, waiver_text=WAIVERS, hosts=("lab-a", "lab-b")) -> Run:
    folder = tmp_path / "facts"
    folder.mkdir(parents=True)
    for index, name in enumerate(hosts):
        bundle = debian12() if index == 0 else patched(debian12(), {"file:/etc/login.defs": "PASS_MAX_DAYS 30\n"})
        bundle.target = name
        bundle.save(folder)
    in_force, expired = waivers.split(waivers.load(write_waivers(tmp_path, waiver_text), set(CATALOGUE.rules)),
                                      dt.date(2026, 11, 28))
    request = audit.AuditRequest.single(CATALOGUE, list(CATALOGUE.baseline.rules), in_force, expired)
    # Place the bundles in the estate (zone_core) so waivers match them for real.
    estate = Estate(source="test", assets={name: Asset(name=name, kind="host", zone="core", site="primary",
                                                       groups=["zone_core"]) for name in hosts},
                    zones={}, sites={}, groups={"zone_core": list(hosts)})
    run = audit.evaluate_saved(folder, estate, request)
    run.targets.append(TargetResult("county-07", "unreachable", message="ssh: connect to host 10.9.7.11 port 22: Connection timed out"))
    return run


def assert_verdict(case: tuple, of=None) -> None:
    """An adversarial case (id, rule, bundle, verdict decided beforehand, why) holds,
    with the rules of catalogue OF (the Linux baseline unless told)."""
    case_id, rule_id, bundle, verdict, why = case
    from mzops.compliance import evaluate

    of = of or CATALOGUE
    _, results = evaluate.evaluate(bundle, [of.rules[rule_id]], of.baseline.parameters)
    got = results[0]
    assert got.status == verdict, f"{case_id}: {why}: got {got.status}: {got.actual} {got.evidence}"


ZONES = ("core", "dmz", "office", "mgmt")


def fleet_run(tmp_path, count: int) -> Run:
    """COUNT targets spread over zones and sites (a data centre, the DR site, provinces),
    made from the two evaluated lab bundles and varied so the reports have something to
    tell apart: every 40th unreachable, every 7th with one more failing rule, AIDE
    (8.1.4.7) passing in the core zone."""
    base = evaluated_run(tmp_path, hosts=("lab-a", "lab-b"))
    models = [t for t in base.targets if t.status == "assessed"]
    targets = []
    for i in range(count):
        model = models[i % len(models)]
        zone, site = ZONES[i % len(ZONES)], ("primary", "dr", *(f"prov-{n:02d}" for n in range(1, 32)))[i % 33]
        name = f"host-{i:04d}"
        if i % 40 == 39:
            targets.append(TargetResult(name, "unreachable", zone=zone, site=site,
                                        message=f"ssh: connect to host 10.{i // 250}.{i % 250}.9 port 22: timed out"))
            continue
        results = model.results
        if i % 7 == 3 or zone == "core":
            results = [copy.copy(r) for r in results]
        if i % 7 == 3:
            first = next(r for r in results if r.status == "pass")
            first.status, first.actual = "fail", "changed on this host"
        if zone == "core":
            for r in results:
                if r.clause == "8.1.4.7":
                    r.status, r.actual = "pass", "initialised and scheduled"
        targets.append(TargetResult(name, "assessed", "host", zone, site, model.platform, results=results,
                                    collected_at=model.collected_at))
    return Run(base.profile, targets, expired_waivers=base.expired_waivers, system=base.system)
