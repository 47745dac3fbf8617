"""Which rules a hardening run applies, and why the others are left out (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mzops.compliance.catalogue import Rule

# Why a selected rule is not applied.
MANUAL = "no automated remediation (manual)"
DISRUPTIVE = "disruptive: can cut off access; apply with --disruptive once the site is ready"
RESTART = "needs a server restart: apply with --restart in a maintenance window"


@dataclass
class Selection:
    apply: list[Rule] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)   # rule id -> reason

    @property
    def tags(self) -> list[str]:
        return [r.id for r in self.apply]


def select(rules: list[Rule], params: dict[str, Any], disruptive: bool, skip: set[str] = frozenset(),
           restart: bool = False) -> Selection:
    out = Selection()
    for rule in rules:
        if rule.id in skip:
            out.left_out[rule.id] = "skipped (--skip)"
        elif rule.remediation.task is None:
            out.left_out[rule.id] = MANUAL
        elif rule.remediation.disruptive and not disruptive:
            out.left_out[rule.id] = DISRUPTIVE
        elif rule.remediation.restart and not restart:
            out.left_out[rule.id] = RESTART
        elif missing := [p for p in rule.remediation.requires if not params.get(p)]:
            out.left_out[rule.id] = (f"needs site parameter {', '.join(missing)} "
                                     f"(mzops_baseline_params in the inventory)")
        else:
            out.apply.append(rule)
    return out
