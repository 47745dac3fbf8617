"""The audit run: select targets, collect each host once, evaluate, aggregate.

Collection is the only I/O (one SSH execution per host, hosts in parallel); the
evaluation of saved bundles is the same code, offline.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mzops.compliance import collector, evaluate
from mzops.compliance.catalogue import Catalogue, Rule
from mzops.compliance.collector import Bundle, CollectionError
from mzops.compliance.waivers import Waiver
from mzops.connect import ssh
from mzops.errors import InputError
from mzops.inventory.model import Asset, Estate
from mzops.results import ASSESSED, TARGET_ERROR, UNREACHABLE, Run, TargetResult
from mzops.secrets import Resolver, SecretError

AUDITED_KINDS = ("host",)


@dataclass
class AuditRequest:
    catalogue: Catalogue
    rules: list[Rule]
    waivers: list[Waiver]
    expired_waivers: list[Waiver]
    forks: int = 10
    save_facts: Path | None = None
    timeout: float = 300
    resolver: Resolver | None = None
    # Collector groups wanted beyond the rules' own (hardening's lockout guards).
    extra_groups: tuple[str, ...] = ()


def targets(estate: Estate, pattern: str | None) -> list[Asset]:
    names = estate.limit(pattern)
    if pattern and not names:
        raise InputError(f"--limit: {pattern!r} matches no asset in {estate.source}")
    chosen = [estate.assets[n] for n in names if estate.assets[n].kind in AUDITED_KINDS]
    if not chosen:
        raise InputError(f"--limit: no host among the {len(names)} selected assets "
                         "(databases and firewalls are audited by their own baselines, not yet available)")
    return chosen


def _result_for(asset: Asset, bundle: Bundle, request: AuditRequest, where: str) -> TargetResult:
    params = request.catalogue.params_for(asset.vars, where)
    platform, results = evaluate.evaluate(bundle, request.rules, params, request.waivers, asset.groups)
    return TargetResult(asset.name, ASSESSED, asset.kind, asset.zone, asset.site,
                        platform.family, seconds=bundle.seconds, results=results)


def run(estate: Estate, assets: list[Asset], request: AuditRequest,
        progress: Callable[[str], None] = lambda _: None) -> Run:
    started = time.monotonic()
    groups = sorted(set(request.catalogue.groups_needed(request.rules)) | set(request.extra_groups))
    # Parameter overrides are checked before anything connects: bad input changes nothing.
    for asset in assets:
        request.catalogue.params_for(asset.vars, estate.where(asset.name))

    def one(asset: Asset) -> TargetResult:
        target = ssh.Target.from_vars(asset.name, asset.vars)
        reference = asset.credentials.get("ssh")
        if reference:
            try:
                target.key = (request.resolver or Resolver()).resolve(reference)
            except SecretError as exc:
                progress(f"{asset.name}: error: {exc}")
                return TargetResult(asset.name, TARGET_ERROR, asset.kind, asset.zone, asset.site, message=str(exc))
        try:
            bundle = collector.collect(target, groups, timeout=request.timeout)
        except CollectionError as exc:
            status = UNREACHABLE if exc.unreachable else TARGET_ERROR
            progress(f"{asset.name}: {status}: {exc}")
            return TargetResult(asset.name, status, asset.kind, asset.zone, asset.site, message=str(exc))
        if request.save_facts:
            bundle.save(request.save_facts)
        result = _result_for(asset, bundle, request, estate.where(asset.name))
        counts = result.counts()
        progress(f"{asset.name}: {counts['pass']} pass, {counts['fail']} fail, {counts['error']} error, "
                 f"{counts['manual']} manual ({bundle.seconds:.2f} s)")
        return result

    with ThreadPoolExecutor(max_workers=max(1, request.forks)) as pool:
        results = list(pool.map(one, assets))
    return Run(request.catalogue.baseline.profile, results,
               expired_waivers=[w.to_dict() for w in request.expired_waivers],
               seconds=time.monotonic() - started)


def evaluate_saved(folder: Path, estate: Estate | None, request: AuditRequest) -> Run:
    """Evaluate bundles saved by --save-facts, without touching any target."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder of fact bundles")
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise InputError(f"{folder}: no fact bundles (*.json) in this folder")
    results = []
    for path in paths:
        bundle = Bundle.load(path)
        asset = estate.assets.get(bundle.target) if estate else None
        if asset is None:
            asset = Asset(name=bundle.target, kind="host", zone="", site="")
        results.append(_result_for(asset, bundle, request, str(path)))
    return Run(request.catalogue.baseline.profile, results,
               expired_waivers=[w.to_dict() for w in request.expired_waivers])
