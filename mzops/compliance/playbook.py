"""The host audit as Ansible runs it: the `mzops.mlps3` collection's side of mzops.

AWX / Automation Platform reaches provinces from execution nodes near them; there the
audit runs as an Ansible task (the collection's `mzops.mlps3.audit` action) instead of
`mzops audit run`. Both send the same collector and evaluate with the same catalogue,
parameters and waivers, so they give the same results: this module is what the action
calls, split as the audit is into planning the command (`plan`) and pure evaluation
of what came back (`evaluate`). The collection's callback writes the results as JSON
Lines, which `mzops audit merge` joins.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mzops.bundle import Bundle
from mzops.compliance import catalogue, collector, evaluate as evaluation, waivers as waiver_file
from mzops.errors import InputError
from mzops.inventory.loader import asset_from_vars
from mzops.results import ASSESSED, TARGET_ERROR, TargetResult


@dataclass
class Plan:
    command: str          # run on the host, the collector on its standard input
    script: bytes
    nonce: str
    started: str


def _suite(profile: str, rules: list[str] | None):
    catalogues = catalogue.load_profile(profile)
    selected = catalogue.select_across(catalogues, rules)
    if "linux" not in selected:
        raise InputError(f"rules: no host rule selected from profile {profile!r}")
    return catalogues["linux"], selected["linux"]


def plan(profile: str = "mlps3", rules: list[str] | None = None) -> Plan:
    """The command that collects what the selected host rules need (as `audit run` does,
    without gzip: Ansible hands the action its output as text)."""
    cat, chosen = _suite(profile, rules)
    nonce = "MZ" + secrets.token_hex(8)
    args = [nonce, *sorted(set(cat.groups_needed(chosen)))]
    return Plan("/bin/sh -s -- " + " ".join(shlex.quote(a) for a in args), collector.script(), nonce,
                dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def evaluate(name: str, hostvars: dict[str, Any], groups: list[str], done: Plan, rc: int, stdout: bytes,
             stderr: str, seconds: float, profile: str = "mlps3", rules: list[str] | None = None,
             waivers: str | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """One host's result (`TargetResult.to_dict()`) from the collector's output."""
    asset = asset_from_vars(name, hostvars, groups)
    sections = collector.parse(stdout, done.nonce)
    if not sections:
        last = [line for line in stderr.splitlines() if line.strip()]
        return TargetResult(name, TARGET_ERROR, asset.kind or "host", asset.zone, asset.site,
                            message=f"no facts returned (exit {rc}): {last[-1] if last else 'empty output'}").to_dict()
    cat, chosen = _suite(profile, rules)
    in_force = []
    if waivers:
        in_force, _ = waiver_file.split(waiver_file.load(Path(waivers), set(cat.rules)), today or dt.date.today())
    bundle = Bundle(name, done.started, sections, seconds)
    params = cat.params_for(asset.vars, "inventory")
    platform, results = evaluation.evaluate(bundle, chosen, params, in_force, asset.groups)
    return TargetResult(name, ASSESSED, asset.kind or "host", asset.zone, asset.site, platform.name,
                        seconds=seconds, results=results, collected_at=done.started).to_dict()
