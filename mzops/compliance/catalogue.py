"""Baselines as data: `baselines/<profile>/<family>.yml`, one rule catalogue per file.

A rule carries its MLPS clause and GB/T 28448 evaluation id, severity, platforms, the
check type with its arguments, the parameters it reads, the remediation task and its
test scenarios. Thresholds are parameters with defaults in the file; an inventory
group overrides them with `mzops_baseline_params` (the hardening roles are to read the same
variable once hardening exists, so audit and hardening cannot drift apart).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mzops import yamlfile
from mzops.compliance.checks import registry
from mzops.errors import InputError

BASELINES = Path(__file__).resolve().parent.parent.parent / "baselines"
PARAMS_VAR = "mzops_baseline_params"
SEVERITIES = ("low", "medium", "high", "critical")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    en: str
    zh: str


class Remediation(_Strict):
    # The tag of the Ansible task block that fixes this rule (the rule id itself), or
    # null where the fix is manual (playbooks/roles/mlps3_linux).
    task: str | None = None
    # Could cut off access if the site has not prepared for it (SSH lockdown, PAM
    # lockout, root login): applied only with `harden run --disruptive`.
    disruptive: bool = False
    # Parameters that must be set (non-empty) for the site before the task can run.
    requires: tuple[str, ...] = ()
    # Takes effect only when the server restarts (database settings read at start):
    # announced in the preview, applied with `harden run --restart` in one controlled
    # restart per server.
    restart: bool = False
    hint: Text


class Scenarios(_Strict):
    """How tests make the rule pass and fail: shell run on a lab host, or, where the lab
    cannot show it (shared kernel), sections replaced in a recorded fact bundle."""

    lab: bool = True
    # What the failing scenario must yield: "manual" where the host alone cannot prove
    # non-compliance (e.g. a second factor enforced by a bastion).
    fail_status: Literal["fail", "manual"] = "fail"
    passing: str | dict[str, str] = Field(alias="pass")
    failing: str | dict[str, str] = Field(alias="fail")
    why_not_lab: str | None = None


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    title: Text
    clause: str
    eval_id: str = Field(pattern=r"^L3-[A-Z0-9]+-\d+$")
    severity: Literal["low", "medium", "high", "critical"]
    platforms: tuple[str, ...] = ("linux",)
    check: str
    args: dict[str, Any] = {}
    remediation: Remediation
    scenarios: Scenarios

    @field_validator("check")
    @classmethod
    def _known_check(cls, value: str) -> str:
        if value not in registry():
            raise ValueError(f"unknown check type {value!r}")
        return value

    def params_used(self) -> set[str]:
        found: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, str) and value.startswith("$"):
                found.add(value[1:])
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
        walk(self.args)
        return found

    def resolve_args(self, params: dict[str, Any]) -> dict[str, Any]:
        def sub(value: Any) -> Any:
            if isinstance(value, str) and value.startswith("$"):
                return params[value[1:]]
            if isinstance(value, dict):
                return {k: sub(v) for k, v in value.items()}
            if isinstance(value, list):
                return [sub(v) for v in value]
            return value
        return sub(self.args)


class Baseline(_Strict):
    profile: str
    family: str
    title: Text
    parameters: dict[str, Any]
    rules: tuple[Rule, ...]


class Catalogue:
    def __init__(self, baseline: Baseline, path: Path):
        self.baseline = baseline
        self.path = path
        self.rules = {r.id: r for r in baseline.rules}

    def select(self, ids: list[str] | None, option: str = "--rules") -> list[Rule]:
        if not ids:
            return list(self.baseline.rules)
        unknown = [i for i in ids if i not in self.rules and not any(r.startswith(i.rstrip("*")) for r in self.rules if i.endswith("*"))]
        if unknown:
            raise InputError(f"{option}: unknown rule id {unknown[0]!r} in profile {self.baseline.profile} "
                             f"({self.path})")
        out = []
        for rule in self.baseline.rules:
            if any(rule.id == i or (i.endswith("*") and rule.id.startswith(i[:-1])) for i in ids):
                out.append(rule)
        return out

    def params_for(self, asset_vars: dict[str, Any], where: str) -> dict[str, Any]:
        """This baseline's parameters with the asset's overrides. One variable serves every
        family (group_vars/all may set it for hosts and databases alike): a key another
        family of the profile knows is not this one's business; a key no family knows is
        a typo, reported."""
        overrides = asset_vars.get(PARAMS_VAR) or {}
        if not isinstance(overrides, dict):
            raise InputError(f"{where}: {PARAMS_VAR} must be a mapping")
        unknown = sorted(set(overrides) - set(self.baseline.parameters) - _sibling_parameters(self.path))
        if unknown:
            raise InputError(f"{where}: {PARAMS_VAR}.{unknown[0]}: unknown baseline parameter "
                             f"(known: {', '.join(sorted(self.baseline.parameters))})")
        for key, value in overrides.items():
            if key in self.baseline.parameters:
                wrong = _type_problem(self.baseline.parameters[key], value)
                if wrong:
                    raise InputError(f"{where}: {PARAMS_VAR}.{key}: {wrong}")
        return {**self.baseline.parameters,
                **{k: v for k, v in overrides.items() if k in self.baseline.parameters}}

    def groups_needed(self, rules: list[Rule]) -> list[str]:
        needs = {"os"} | {n for r in rules for n in registry()[r.check].needs}
        return sorted(needs)


def _type_problem(default: Any, value: Any) -> str | None:
    """An override must have its default's type (a number where the baseline has a number,
    a list where it has a list): a string where a list is due would be read letter by letter."""
    if default is None or value is None:
        return None
    kinds = ((bool, "true or false"), (int, "a whole number"), (float, "a number"), (str, "a string"),
             (list, "a list"), (dict, "a mapping"))
    for kind, words in kinds:
        if isinstance(default, kind):
            fits = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
            if kind is float:
                fits = isinstance(value, (int, float)) and not isinstance(value, bool)
            return None if fits else f"{words} expected (the baseline's default is {default!r}), got {value!r}"
    return None


@functools.lru_cache(maxsize=None)
def _sibling_parameters(path: Path) -> set[str]:
    """Parameter names of the other baseline files of the same profile folder."""
    names: set[str] = set()
    for other in sorted(path.parent.glob("*.yml")):
        if other != path:
            data = yamlfile.load(other).data
            if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
                names |= set(data["parameters"])
    return names


def families(profile: str, root: Path = BASELINES) -> list[str]:
    folder = root / profile
    return sorted(p.stem for p in folder.glob("*.yml")) if folder.is_dir() else []


def load_profile(profile: str, root: Path = BASELINES) -> dict[str, Catalogue]:
    """Every baseline family of a profile (linux, postgresql, mysql, ...)."""
    found = families(profile, root)
    if not found:
        known = ", ".join(profiles()) or "none"
        raise InputError(f"--profile: unknown profile {profile!r} (no {root / profile}; profiles: {known})")
    return {family: load(profile, family, root) for family in found}


def select_across(catalogues: dict[str, Catalogue], ids: list[str] | None,
                  option: str = "--rules") -> dict[str, list[Rule]]:
    """Rules per family for ids (prefix* allowed); an id no family knows is an error.
    Without ids, every rule of every family; families with nothing selected are left out."""
    if not ids:
        return {f: list(c.baseline.rules) for f, c in catalogues.items()}

    def known(cat: Catalogue, rule_id: str) -> bool:
        return rule_id in cat.rules or (rule_id.endswith("*") and any(r.startswith(rule_id[:-1]) for r in cat.rules))
    for rule_id in ids:
        if not any(known(c, rule_id) for c in catalogues.values()):
            profile = next(iter(catalogues.values())).baseline.profile
            raise InputError(f"{option}: unknown rule id {rule_id!r} in profile {profile} "
                             f"({', '.join(str(c.path) for c in catalogues.values())})")
    out = {}
    for family, cat in catalogues.items():
        mine = [i for i in ids if known(cat, i)]
        if mine:
            out[family] = cat.select(mine, option)
    return out


def profiles() -> list[str]:
    return sorted(p.name for p in BASELINES.iterdir() if p.is_dir()) if BASELINES.is_dir() else []


def load(profile: str, family: str = "linux", root: Path = BASELINES) -> Catalogue:
    path = root / profile / f"{family}.yml"
    if not path.exists():
        known = ", ".join(profiles()) or "none"
        raise InputError(f"--profile: unknown profile {profile!r} (no {path}; profiles: {known})")
    doc = yamlfile.load(path)
    try:
        baseline = Baseline.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise doc.error(tuple(err["loc"]), err["msg"]) from None
    problems = _consistency(baseline)
    if problems:
        keypath, message = problems[0]
        raise doc.error(keypath, message)
    return Catalogue(baseline, path)


def _consistency(baseline: Baseline) -> list[tuple[tuple, str]]:
    out = []
    seen: set[str] = set()
    for index, rule in enumerate(baseline.rules):
        if rule.id in seen:
            out.append((("rules", index, "id"), f"duplicate rule id {rule.id!r}"))
        seen.add(rule.id)
        for name in sorted(rule.params_used() - set(baseline.parameters)):
            out.append((("rules", index, "args"), f"unknown parameter ${name}"))
        if rule.remediation.task not in (None, rule.id):
            out.append((("rules", index, "remediation", "task"),
                        f"remediation task must be the rule id {rule.id!r} (its Ansible tag)"))
        for name in rule.remediation.requires:
            if name not in baseline.parameters:
                out.append((("rules", index, "remediation", "requires"), f"unknown parameter {name!r}"))
        if not re.match(r"^8\.\d+\.\d+(\.\d+)? ?[a-z]?\)?", rule.clause):
            out.append((("rules", index, "clause"), f"not a GB/T 22239-2019 clause: {rule.clause!r}"))
    return out
