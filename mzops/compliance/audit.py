"""The audit run: select targets, collect each asset once, evaluate, aggregate.

Each asset is held to its own baseline family: hosts to linux, databases to their
engine's (postgresql, mysql). Collection is the only I/O (one SSH execution per host
or per database on its server host, assets in parallel); the evaluation of saved
bundles is the same code, offline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mzops.compliance import collectors, dbcollect, evaluate, history
from mzops.compliance.catalogue import Catalogue, Rule
from mzops.bundle import Bundle, CollectionError
from mzops.compliance.waivers import Waiver
from mzops.errors import InputError
from mzops.inventory.model import Asset, Estate
from mzops import run as runlayer
from mzops.results import ASSESSED, TARGET_ERROR, UNREACHABLE, Run, TargetResult
from mzops.secrets import Resolver, SecretError

AUDITED_KINDS = ("host", "database", "firewall")


@dataclass
class Suite:
    """One baseline family's catalogue and the rules selected from it."""

    catalogue: Catalogue
    rules: list[Rule]


@dataclass
class AuditRequest:
    suites: dict[str, Suite]   # baseline family -> suite
    waivers: list[Waiver]
    expired_waivers: list[Waiver]
    forks: int = 10
    save_facts: Path | None = None
    timeout: float = 300
    resolver: Resolver | None = None
    # Collector groups wanted beyond the rules' own (hardening's lockout guards).
    extra_groups: tuple[str, ...] = ()
    # The account register: a firewall's administrators are checked against it.
    register: object | None = None

    @classmethod
    def single(cls, catalogue: Catalogue, rules: list[Rule], waivers: list[Waiver] = (),
               expired_waivers: list[Waiver] = (), **options) -> AuditRequest:
        return cls({catalogue.baseline.family: Suite(catalogue, rules)}, list(waivers), list(expired_waivers),
                   **options)

    @property
    def profile(self) -> str:
        return next(iter(self.suites.values())).catalogue.baseline.profile


def family_of(asset: Asset) -> str:
    """The baseline family an asset is held to (InputError for an engine without one)."""
    if asset.kind == "firewall":
        return "firewall"
    return "linux" if asset.kind == "host" else dbcollect.family_of(asset)


def targets(estate: Estate, pattern: str | None, families: set[str] | None = None) -> list[Asset]:
    """Hosts and databases the pattern selects (and, given FAMILIES, that have rules
    selected). A database engine without a baseline stays in: it is reported as such."""
    names = estate.limit(pattern)
    if pattern and not names:
        raise InputError(f"--limit: {pattern!r} matches no asset in {estate.source}")
    chosen = []
    for name in names:
        asset = estate.assets[name]
        if asset.kind not in AUDITED_KINDS:
            continue
        try:
            family = family_of(asset)
        except InputError:
            family = None
        if families is None or family is None or family in families:
            chosen.append(asset)
    if not chosen:
        wanted = f" with rules from {', '.join(sorted(families))}" if families else ""
        raise InputError(f"--limit: no host, database or firewall{wanted} among the {len(names)} selected assets")
    return chosen


def _result_for(asset: Asset, bundle: Bundle, request: AuditRequest, where: str,
                estate: Estate | None = None) -> TargetResult:
    suite = request.suites[family_of(asset)]
    params = suite.catalogue.params_for(asset.vars, where)
    if asset.kind == "firewall" and request.register is not None and estate is not None:
        params = {**params, "fw_registered_admins": registered_admins(request.register, estate, asset.name)}
    platform, results = evaluate.evaluate(bundle, suite.rules, params, request.waivers, asset.groups)
    return TargetResult(asset.name, ASSESSED, asset.kind, asset.zone, asset.site,
                        platform.name, seconds=bundle.seconds, results=results, server=asset.db_server or "",
                        collected_at=bundle.collected_at)


def _collect(estate: Estate, asset: Asset, request: AuditRequest, groups: list[str]) -> Bundle:
    return collectors.get(asset.kind)(estate, asset, request.resolver or Resolver(), groups, request.timeout)


def run(estate: Estate, assets: list[Asset], request: AuditRequest,
        progress: runlayer.Events | Callable[[str], None] | None = None, run_id: str = "") -> Run:
    started = time.monotonic()
    events = runlayer.as_events(progress)
    linux = request.suites.get("linux")
    groups = sorted(set(linux.catalogue.groups_needed(linux.rules) if linux else ["os"]) | set(request.extra_groups))
    # Parameter overrides are checked before anything connects: bad input changes nothing.
    for asset in assets:
        try:
            family = family_of(asset)
        except InputError:
            continue  # reported for that asset below
        if family in request.suites:
            request.suites[family].catalogue.params_for(asset.vars, estate.where(asset.name))

    def one(asset: Asset) -> TargetResult:
        def failed(status: str, message: str) -> TargetResult:
            return TargetResult(asset.name, status, asset.kind, asset.zone, asset.site, message=message,
                                server=asset.db_server or "")

        try:
            bundle = _collect(estate, asset, request, groups)
        except (SecretError, InputError) as exc:
            return failed(TARGET_ERROR, str(exc))
        except CollectionError as exc:
            return failed(UNREACHABLE if exc.unreachable else TARGET_ERROR, str(exc))
        if request.save_facts:
            bundle.save(request.save_facts)
        return _result_for(asset, bundle, request, estate.where(asset.name), estate)

    for kind in {a.kind for a in assets}:
        collectors.get(kind)   # providers imported once, before the workers start
    events.begin("audit", [a.name for a in assets])
    results = runlayer.each(assets, one, request.forks, events=events, outcome=TargetResult.outcome)
    events.end()
    return Run(request.profile, results,
               expired_waivers=[w.to_dict() for w in request.expired_waivers],
               seconds=time.monotonic() - started, run_id=run_id, system=_system(estate))


def _system(estate: Estate | None) -> dict:
    return estate.system.to_dict() if estate is not None and estate.system is not None else {}


def registered_admins(register, estate: Estate, name: str) -> list[str]:
    """Every account the register grants on asset NAME (personal and service)."""
    return sorted({a.account for a in register.accounts if name in estate.expand(list(a.assets))})


RECORDS = history.RECORDS


def record(result: Run, **extra) -> Path:
    """The run's record: who was assessed, with what outcome, score and verdict per clause
    (the report is the evidence; this is what `mzops log`, `mzops audit history` and the
    next audit's report find again)."""
    return RECORDS.save(result.run_id, {
        **result.result().summary(), "profile": result.profile, "generated_at": result.generated_at,
        **extra, "assets": [history.entry(t) for t in result.targets]})


def evaluate_config(bundle: Bundle, request: AuditRequest, source: str) -> Run:
    """A firewall configuration given as text (an export): no device is contacted."""
    vendor = bundle.sections["fw:vendor"].text.strip()
    asset = Asset(name=bundle.target, kind="firewall", zone="", site="", fw_vendor=vendor)
    return Run(request.profile, [_result_for(asset, bundle, request, source)],
               expired_waivers=[w.to_dict() for w in request.expired_waivers])


def evaluate_saved(folder: Path, estate: Estate | None, request: AuditRequest) -> Run:
    """Evaluate bundles saved by --save-facts, without touching any target."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder of fact bundles")
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise InputError(f"{folder}: no fact bundles (*.json) in this folder")
    results = []
    for path in paths:
        try:
            bundle = Bundle.load(path)
        except InputError as exc:   # one damaged bundle is that target's error; the others go on
            results.append(TargetResult(path.stem, TARGET_ERROR, message=str(exc)))
            continue
        asset = estate.assets.get(bundle.target) if estate else None
        if asset is None:  # the bundle says what it was collected from
            engine = bundle.sections.get("db:engine")
            asset = (Asset(name=bundle.target, kind="database", zone="", site="", db_engine=engine.text.strip())
                     if engine else Asset(name=bundle.target, kind="host", zone="", site=""))
        if family_of(asset) not in request.suites:
            continue
        results.append(_result_for(asset, bundle, request, str(path)))
    return Run(request.profile, results,
               expired_waivers=[w.to_dict() for w in request.expired_waivers], system=_system(estate))
