"""Check types: pure functions over parsed facts, registered by name.

A rule in baselines/ names its check type and arguments; a new check type is a new
function in any module of this package (modules are discovered, not listed).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from mzops.facts import Facts
from mzops.compliance.platforms import Platform

PASS, FAIL, ERROR, NOTAPPLICABLE, MANUAL = "pass", "fail", "error", "notapplicable", "manual"


@dataclass
class Outcome:
    status: str
    expected: str
    actual: str
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckType:
    name: str
    fn: Callable[..., Outcome]
    needs: tuple[str, ...]   # collector groups this check reads


REGISTRY: dict[str, CheckType] = {}
_discovered = False


def check(name: str, needs: tuple[str, ...]):
    def wrap(fn):
        if name in REGISTRY:
            raise RuntimeError(f"check type {name!r} defined twice")
        REGISTRY[name] = CheckType(name, fn, needs)
        return fn
    return wrap


def registry() -> dict[str, CheckType]:
    """Every check type. Modules are discovered once, whether or not one of them was
    imported directly before (an empty registry is no sign of discovery)."""
    global _discovered
    if not _discovered:
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")
        _discovered = True
    return REGISTRY


@dataclass
class Context:
    facts: Facts
    platform: Platform
    args: dict[str, Any]


# ------------------------------------------------------------------ comparisons

def compare(actual: Any, op: str, expected: Any) -> bool:
    """Compare a setting with its expectation. Numbers compare numerically."""
    if op == "present":
        return actual is not None and str(actual).strip() != ""
    if actual is None:
        return op == "absent"
    if op == "absent":
        return False
    if op in ("le", "ge", "lt", "gt", "range"):
        try:
            number = float(actual)
        except (TypeError, ValueError):
            return False
        if op == "range":
            low, high = expected
            return float(low) <= number <= float(high)
        return {"le": number <= float(expected), "ge": number >= float(expected),
                "lt": number < float(expected), "gt": number > float(expected)}[op]
    text = str(actual).strip().lower()
    if op == "eq":
        return text == str(expected).strip().lower()
    if op == "in":
        return text in {str(v).lower() for v in expected}
    if op == "not_in":
        return text not in {str(v).lower() for v in expected}
    raise ValueError(f"unknown comparison {op!r}")


def describe(op: str, expected: Any) -> str:
    words = {"eq": "= {}", "le": "<= {}", "ge": ">= {}", "lt": "< {}", "gt": "> {}",
             "in": "one of {}", "not_in": "none of {}", "absent": "not set",
             "present": "set{}"}
    if op == "range":
        return f"between {expected[0]} and {expected[1]}"
    if op == "present":
        return "set"
    if isinstance(expected, (list, tuple)):
        expected = ", ".join(map(str, expected))
    return words[op].format(expected)
