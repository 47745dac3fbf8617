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
    assert status({"pkglists": LISTS, "updates": updates})[0] == expected


def test_no_lists_or_no_answer_is_never_a_pass():
    quiet = "Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"
    assert status({"pkglists": "/var/lib/apt/lists:\nlock\npartial\n", "updates": quiet}) == \
        ("manual", "the host has no package lists to compare against")
    assert status({"pkglists": LISTS, "updates": None})[0] == "manual"
