"""linux.updates.security on the package managers' own output (the lab shows apt's for
real, tests/integration/test_audit_lab.py; here also yum's, and what may not pass).

apt: `apt-get -s upgrade` prints `Inst NAME [OLD] (NEW ORIGINS [ARCH])`, ORIGINS naming
each source's `Label:Version/Archive` (apt-pkg/algorithms.cc, pkgSimulate::Describe);
Debian's security archive is labelled Debian-Security. yum/dnf: `updateinfo list
security` prints `ADVISORY SEVERITY/Sec. PACKAGE` (dnf(8), updateinfo).
"""

from __future__ import annotations

import pytest

from bundles import debian12, patched
from mzops.compliance import catalogue, evaluate

CATALOGUE = catalogue.load("mlps3")
RULE = next(r for r in CATALOGUE.baseline.rules if r.id == "linux.updates.security")
LISTS = "/var/lib/apt/lists:\ndeb.debian.org_debian_dists_bookworm_InRelease\nlock\npartial\n"
NOW = 1_780_000_000
# `date +%s`, then find -printf '%T@ %p\n' (find(1): %T@ is the modification time in
# seconds since the epoch, with a fraction)
FRESH = f"{NOW}\n{NOW - 3600}.5 /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease\n"
QUIET = "Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"


def status(changes: dict) -> tuple[str, str]:
    _, results = evaluate.evaluate(patched(debian12(), changes), [RULE], CATALOGUE.baseline.parameters)
    return results[0].status, results[0].actual


@pytest.mark.parametrize("updates, expected", [
    ("Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n", "pass"),
    # a point-release update is no security update
    ("Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable [all])\n", "pass"),
    ("Inst openssl [3.0.15-1~deb12u1] (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])\n", "fail"),
    # the same version in the point release and the security archive is still a security fix
    ("Inst libssl3 [3.0.15-1] (3.0.17-1 Debian:12.11/stable, Debian-Security:12/stable-security [amd64])\n",
     "fail"),
    ("RHSA-2025:1234 Important/Sec. openssl-libs-1:3.0.7-27.el9.x86_64\n", "fail"),
])
def test_pending_security_updates_fail(updates, expected):
    assert status({"pkglists": LISTS, "listsage": FRESH, "updates": updates})[0] == expected


def test_no_lists_or_no_answer_is_never_a_pass():
    quiet = "Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"
    assert status({"pkglists": "/var/lib/apt/lists:\nlock\npartial\n", "updates": quiet}) == \
        ("manual", "the host has no package lists to compare against")
    assert status({"pkglists": LISTS, "updates": None})[0] == "manual"


@pytest.mark.parametrize("age, expected", [
    (f"{NOW}\n{NOW - 13 * 86400} /var/lib/apt/lists/x_InRelease\n", ("pass", "none pending")),
    # the newest index counts: an old one beside a fresh one is no finding
    (f"{NOW}\n{NOW - 90 * 86400} /var/lib/apt/lists/a_Release\n{NOW - 60} /var/lib/apt/lists/b_InRelease\n",
     ("pass", "none pending")),
    (f"{NOW}\n{NOW - 120 * 86400} /var/lib/apt/lists/x_InRelease\n", ("fail", "package lists 120 days old (at most 14)")),
    (f"{NOW}\n{NOW - 30 * 86400} /var/cache/dnf/baseos-1/repodata/repomd.xml\n",
     ("fail", "package lists 30 days old (at most 14)")),
    (None, ("manual", "the package lists' age was not read")),
    ("not a clock\n", ("manual", "the package lists' age was not read")),
    (f"{NOW}\n", ("manual", "no signed index among the package lists")),
    (f"{NOW}\nbroken line\n", ("manual", "the package lists' age was not read")),
])
def test_none_pending_passes_only_against_lists_refreshed_lately(age, expected):
    """A host whose lists were last read months ago has nothing pending by them, and
    that says nothing of the security updates published since."""
    assert status({"pkglists": LISTS, "listsage": age, "updates": QUIET}) == expected
