"""Every file loader, fed the sample files with generated mistakes (Hypothesis), either
loads or refuses with mzops's own error naming the file: never a traceback (issue 18).

The mistakes are the ones hand-edited YAML gets: a line lost or doubled, a value
replaced by something of another shape (text, number, list, mapping, null, a string
with YAML's special characters), indentation shifted, a stray character typed.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, SAMPLE_INVENTORY
from mzops.errors import MzopsError

JUNK = st.one_of(
    st.text(max_size=12), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.sampled_from(["[", "]", "{", "}", ":", "- ", "&a", "*a", "!!python/object:os.system", "'", '"', "#",
                     "10.10.1.300", "vault:", "~", "0x1F", "2026-13-45", "|", "\t", "％", "\x00"]),
)


@st.composite
def mistakes(draw, text: str) -> str:
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["drop", "double", "value", "indent", "stray"]))
        if kind == "drop":
            del lines[i]
        elif kind == "double":
            lines.insert(i, lines[i])
        elif kind == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {draw(JUNK)!s}"
        elif kind == "indent":
            lines[i] = " " * draw(st.integers(0, 7)) + lines[i].lstrip()
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.sampled_from(list(":-[]{}#&*!|>'\"%@`\t"))) + lines[i][at:]
    return "\n".join(lines) + "\n"


def estate_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the repository's inventory and backup/ (backup policy and DR plans
    sit beside the inventory folder)."""
    root = tmp_path / "site"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(SAMPLE_INVENTORY, root / "inventory")
    shutil.copytree(REPO / "backup", root / "backup")
    return root / "inventory", root


def mutate(data, path: Path, sample: str | None = None) -> Path:
    """PATH written with generated mistakes in SAMPLE (by default its own text)."""
    path.write_text(data.draw(mistakes(path.read_text() if sample is None else sample)))
    return path


def refused_or_loaded(call, path: Path) -> None:
    try:
        call()
    except MzopsError as exc:
        assert str(path) in str(exc) or str(path.parent) in str(exc), f"error does not name the file: {exc}"
        assert "\n" not in str(exc).strip(), f"not one line: {exc!r}"


# The suite replays the same examples every run (a CI run does not go red on luck);
# MZOPS_FUZZ_EXAMPLES=5000 explores afresh (a finding is then a test case to keep).
EXPLORE = os.environ.get("MZOPS_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(EXPLORE or 60), deadline=None, derandomize=not EXPLORE, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
def test_inventory_loader_and_validator(tmp_path, data):
    from mzops.inventory import loader, validate

    inv, _ = estate_copy(tmp_path)
    hosts = mutate(data, inv / "hosts.yml")

    def load():
        validate.estate_problems(loader.load(inv))
    refused_or_loaded(load, hosts)


@FUZZ
@given(data=st.data())
def test_account_register(tmp_path, data):
    from mzops.inventory import register

    path = mutate(data, tmp_path / "accounts.yml", (SAMPLE_INVENTORY / "accounts.yml").read_text())
    refused_or_loaded(lambda: register.load(path), path)


@FUZZ
@given(data=st.data())
def test_waivers(tmp_path, data):
    from mzops.compliance import waivers

    sample = ("waivers:\n  - rule: linux.auth.mfa\n    targets: zone_core\n"
              "    justification: Admin logins only through the two-factor bastion.\n"
              "    approver: li.ming\n    expires: 2099-12-31\n")
    path = mutate(data, tmp_path / "waivers.yml", sample)
    refused_or_loaded(lambda: waivers.load(path, {"linux.auth.mfa"}, {"zone_core", "core-db-01"}), path)


@functools.lru_cache(maxsize=1)
def sample_estate():
    from mzops.inventory import loader

    return loader.load(SAMPLE_INVENTORY)


@FUZZ
@given(data=st.data())
def test_zone_policy(tmp_path, data):
    from mzops.firewall import policy

    inv, _ = estate_copy(tmp_path)
    path = mutate(data, inv / "zone_policy.yml")
    refused_or_loaded(lambda: policy.load(inv, sample_estate()), path)


@FUZZ
@given(data=st.data(), name=st.sampled_from(["jobs", "pools", "libraries"]))
def test_backup_policy(tmp_path, data, name):
    from mzops.backup import policy

    _, root = estate_copy(tmp_path)
    path = mutate(data, root / "backup" / f"{name}.yml")
    refused_or_loaded(lambda: policy.load(root / "backup", sample_estate()), path)


@FUZZ
@given(data=st.data())
def test_dr_plan(tmp_path, data):
    from mzops.dr import plan

    inv, root = estate_copy(tmp_path)
    path = mutate(data, root / "backup" / "dr" / "core-records.yml")
    refused_or_loaded(lambda: plan.load(inv, "core-records", sample_estate()), path)


@FUZZ
@given(data=st.data())
def test_roles_file(tmp_path, data):
    from mzops import access

    sample = ("roles:\n  operator:  {users: [zhangwei], groups: [mzops-ops]}\n"
              "  auditor:   {users: [wangfang], groups: [mzops-audit]}\n  scheduler: {users: [backup]}\n")
    path = mutate(data, tmp_path / "roles.yml", sample)
    if os.geteuid() != 0:
        return              # a roles file must be root's (access.load refuses others')
    os.chmod(path, 0o644)
    refused_or_loaded(lambda: access.load(path), path)
