"""Adversarial firewall exports, each verdict decided from the vendor's documentation
before mzops ran on it:

- Huawei USG (security-policy rule view): `disable` takes a rule out of force; addresses
  written inline (`source-address 10.0.0.0 8`, `range A B`); IPv4 and IPv6 in one list.
- H3C Comware 7 Security Command Reference, "Security policy commands" (`disable`,
  `source-ip-subnet`/`-host`/`-range`, `security-policy ipv6`) and "Object policy
  commands" (`object-policy ip`, `rule N pass|drop ... logging disable`, applied to a
  `zone-pair security`); H3C SecPath FAQ V7: object policies lose effect once security
  policy view has been entered.
- Hillstone StoneOS policy rule mode: `disable`, `src-ip`/`dst-ip`/`src-range`,
  `schedule`.
- Pagers: Huawei and H3C print `---- More ----` and erase it with cursor moves,
  StoneOS prints `--More--`; an export captured that way may have cut or joined lines.
"""

from __future__ import annotations

import pytest

from bundles import assert_verdict
from mzops.compliance import catalogue
from mzops.errors import InputError
from mzops.firewall import audit_config

FIREWALL = catalogue.load("mlps3", "firewall")

HUAWEI = """#
 sysname fw-a
#
firewall zone trust
 add interface GigabitEthernet1/0/1
#
ip address-set users type object
 address 0 10.20.0.0 mask 16
#
security-policy
{rules}#
return
"""
USG_PERMIT = """ rule name users-web
  source-zone trust
  destination-zone untrust
  source-address address-set users
  service http
  action permit
  policy logging
"""
USG_DENY = """ rule name deny-all
  action deny
  policy logging
"""

H3C = """#
 sysname fw-b
#
security-zone name Trust
 import interface GigabitEthernet1/0/1
#
object-group ip address users
 0 network subnet 10.20.0.0 255.255.0.0
#
{policy}#
return
"""
H3C_IP = """security-policy ip
 rule 0 name users-web
  action pass
  logging enable
  source-zone Trust
  destination-zone Untrust
  source-ip users
  service http
 rule 5 name deny-all
  action drop
  logging enable
"""

STONEOS = """hostname fw-c
address "users"
  ip 10.20.0.0/16
exit
policy-global
{rules}exit
"""
SOS_PERMIT = """  rule id 1
    action permit
    src-zone "trust"
    dst-zone "untrust"
    src-addr "users"
    dst-addr "Any"
    service "HTTP"
    name "users-web"
    log session-start
  exit
"""
SOS_DENY = """  rule id 99
    action deny
    src-addr "Any"
    dst-addr "Any"
    service "Any"
    name "deny-all"
    log session-start
  exit
"""


def export(vendor: str, text: str):
    return audit_config.bundle(text, vendor, "adversarial")


def usg(*rules: str):
    return export("huawei_usg", HUAWEI.format(rules="".join(rules)))


def comware(*policy: str):
    return export("h3c_secpath", H3C.format(policy="#\n".join(policy)))


def stoneos(*rules: str):
    return export("hillstone_stoneos", STONEOS.format(rules="".join(rules)))


def disabled(rule: str) -> str:
    lines = rule.splitlines()
    return "\n".join(lines[:2] + ["  disable" if rule.startswith(" rule") else "    disable"] + lines[2:]) + "\n"


H3C_IPV6_OPEN = """security-policy ipv6
 rule 0 name v6-open
  action pass
  logging enable
"""
H3C_OBJECT_OPEN = """object-policy ip trust-out
 rule 0 pass logging
 rule 5 drop logging
#
zone-pair security source Trust destination Untrust
 object-policy apply ip trust-out
"""
H3C_OBJECT_GOOD = """object-policy ip trust-out
 rule 0 pass source-ip users service http logging
 rule 5 drop logging
#
zone-pair security source Trust destination Untrust
 object-policy apply ip trust-out
"""

CASES = [
    # ---- Huawei USG
    ("usg-baseline", "fw.final_deny", usg(USG_PERMIT, USG_DENY), "pass", "a permit, then deny any any with logging"),
    ("usg-final-deny-disabled", "fw.final_deny", usg(USG_PERMIT, disabled(USG_DENY)), "fail",
     "a disabled rule matches nothing: the last rule in force is a permit"),
    ("usg-any-permit-disabled", "fw.no_any_permit",
     usg(" rule name open\n  disable\n  action permit\n  policy logging\n", USG_PERMIT, USG_DENY), "pass",
     "the any-any permit is disabled: not in force (its evidence still names it)"),
    ("usg-unlogged-permit-disabled", "fw.permits_log",
     usg(" rule name quiet\n  source-address address-set users\n  service ssh\n  action permit\n  disable\n",
         USG_PERMIT, USG_DENY), "pass", "the permit that does not log is disabled"),
    ("usg-final-deny-inline-source", "fw.final_deny",
     usg(USG_PERMIT, " rule name deny-lan\n  source-address 10.0.0.0 8\n  action deny\n  policy logging\n"), "fail",
     "an inline source address makes the last deny cover 10/8 only: it is no deny-all"),
    ("usg-inline-any-permit", "fw.no_any_permit",
     usg(" rule name wide\n  source-address 0.0.0.0 0\n  action permit\n  policy logging\n", USG_DENY), "fail",
     "source-address 0.0.0.0 0 is every IPv4 source: an any-any permit written another way"),
    ("usg-inline-range-not-shadowed", "fw.no_shadowed",
     usg(" rule name a\n  source-address range 10.1.0.1 10.1.0.20\n  action permit\n  policy logging\n",
         " rule name b\n  source-address range 10.1.0.30 10.1.0.40\n  action permit\n  policy logging\n", USG_DENY),
     "pass", "two disjoint inline ranges: neither covers the other"),
    ("usg-inline-shadowed", "fw.no_shadowed",
     usg(" rule name wide\n  source-address 10.1.0.0 mask 255.255.0.0\n  action deny\n  policy logging\n",
         " rule name narrow\n  source-address 10.1.2.0 24\n  action permit\n  policy logging\n", USG_DENY),
     "fail", "10.1.0.0/16 first takes everything 10.1.2.0/24 would"),
    ("usg-time-range-shadow", "fw.no_shadowed",
     usg(" rule name office\n  time-range workhours\n  action deny\n  policy logging\n", USG_PERMIT, USG_DENY),
     "error", "the earlier rule only applies in a time range mzops does not read: shadowing is unproven"),
    ("usg-application-any-permit", "fw.no_any_permit",
     usg(" rule name app\n  application app WeChat\n  action permit\n  policy logging\n", USG_DENY), "error",
     "an any-any permit narrowed by an application mzops does not model: neither pass nor fail is proven"),
    ("usg-disabled-shadower", "fw.no_shadowed",
     usg(" rule name all\n  action permit\n  policy logging\n  disable\n", USG_PERMIT, USG_DENY), "pass",
     "a disabled rule shadows nothing"),
    ("usg-ipv6-inline-open", "fw.no_any_permit",
     usg(" rule name v6\n  source-address :: 0\n  action permit\n  policy logging\n", USG_DENY), "fail",
     "USG matches IPv6 in the same list: ::/0 is every IPv6 source"),
    # ---- H3C SecPath (Comware 7)
    ("h3c-baseline", "fw.final_deny", comware(H3C_IP), "pass", "rule 5 drops any any and logs"),
    ("h3c-final-deny-disabled", "fw.final_deny",
     comware(H3C_IP.replace("  action drop\n", "  action drop\n  disable\n")), "fail",
     "`disable` in the rule view: the final drop is not in force"),
    ("h3c-ipv6-open", "fw.no_any_permit", comware(H3C_IP, H3C_IPV6_OPEN), "fail",
     "security-policy ipv6 is in force too: its pass rule has no criteria"),
    ("h3c-ipv6-no-final-deny", "fw.final_deny",
     comware(H3C_IP, H3C_IPV6_OPEN.replace("v6-open", "v6-web").replace("  logging enable\n",
                                                                         "  logging enable\n  service http\n")),
     "fail", "the IPv6 list ends with a permit, not a drop"),
    ("h3c-ipv6-good", "fw.final_deny",
     comware(H3C_IP, "security-policy ipv6\n rule 0 name v6-deny\n  action drop\n  logging enable\n"), "pass",
     "both lists end with a logged drop"),
    ("h3c-inline-subnet-final", "fw.final_deny",
     comware(H3C_IP.replace("  action drop\n", "  action drop\n  source-ip-subnet 10.0.0.0 8\n")), "fail",
     "source-ip-subnet narrows the last drop to 10/8"),
    ("h3c-inline-host-any-permit", "fw.no_any_permit",
     comware("security-policy ip\n rule 0 name h\n  action pass\n  logging enable\n  source-ip-host 10.20.1.5\n"
             " rule 5 name deny-all\n  action drop\n  logging enable\n"), "pass",
     "a permit from one host is not any-any"),
    ("h3c-object-policy-open", "fw.no_any_permit", comware(H3C_OBJECT_OPEN), "fail",
     "no security policy configured: the object policy applied to Trust->Untrust passes anything"),
    ("h3c-object-policy-good", "fw.final_deny", comware(H3C_OBJECT_GOOD), "pass",
     "the applied object policy ends with `rule 5 drop logging`"),
    ("h3c-object-policy-deny-disabled", "fw.final_deny",
     comware(H3C_OBJECT_GOOD.replace("rule 5 drop logging", "rule 5 drop logging disable")), "fail",
     "`disable` in an object-policy rule: the drop is not in force"),
    ("h3c-object-policy-not-applied", "fw.no_any_permit",
     comware(H3C_IP, H3C_OBJECT_OPEN.split("#\n")[0]), "pass",
     "an object policy applied to no zone pair matches nothing"),
    ("h3c-object-policy-superseded", "fw.no_any_permit", comware(H3C_IP, H3C_OBJECT_OPEN), "pass",
     "security policies are configured: object policies have lost effect (SecPath FAQ)"),
    ("h3c-object-policy-inspect", "fw.no_any_permit",
     comware("object-policy ip t\n rule 0 inspect ips-default logging\n#\n"
             "zone-pair security source Trust destination Untrust\n object-policy apply ip t\n"), "error",
     "`inspect` passes what a DPI profile allows: mzops cannot say"),
    # ---- Hillstone StoneOS
    ("sos-baseline", "fw.final_deny", stoneos(SOS_PERMIT, SOS_DENY), "pass", "the last rule denies any any and logs"),
    ("sos-final-deny-disabled", "fw.final_deny",
     stoneos(SOS_PERMIT, SOS_DENY.replace("    action deny\n", "    action deny\n    disable\n")), "fail",
     "a disabled rule is not in force"),
    ("sos-inline-any", "fw.no_any_permit",
     stoneos("  rule id 1\n    action permit\n    src-ip 0.0.0.0/0\n    dst-addr \"Any\"\n    service \"Any\"\n"
             "    name \"wide\"\n    log session-start\n  exit\n", SOS_DENY), "fail",
     "src-ip 0.0.0.0/0 is any source"),
    ("sos-schedule-any", "fw.no_any_permit",
     stoneos("  rule id 1\n    action permit\n    src-addr \"Any\"\n    dst-addr \"Any\"\n    service \"Any\"\n"
             "    schedule \"office\"\n    name \"office\"\n    log session-start\n  exit\n", SOS_DENY), "error",
     "an any-any permit on a schedule mzops does not read"),
    ("sos-inline-range-final", "fw.final_deny",
     stoneos(SOS_PERMIT, SOS_DENY.replace('    src-addr "Any"\n', "    src-range 10.0.0.1 10.0.0.9\n")), "fail",
     "the last deny covers a range, not any source"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_adversarial_firewall_case(case):
    assert_verdict(case, FIREWALL)


PAGED = {
    "huawei_usg": (HUAWEI.format(rules=USG_PERMIT + USG_DENY), "  ---- More ----\x1b[42D" + " " * 42 + "\x1b[42D"),
    "h3c_secpath": (H3C.format(policy=H3C_IP), "---- More ----\x1b[16D                \x1b[16D"),
    "hillstone_stoneos": (STONEOS.format(rules=SOS_PERMIT + SOS_DENY), "--More--\x08\x08\x08\x08\x08\x08\x08\x08"),
}


@pytest.mark.parametrize("vendor", sorted(PAGED))
def test_pager_residue_is_refused_not_evaluated(vendor, tmp_path):
    text, residue = PAGED[vendor]
    lines = text.splitlines()
    lines[6] = residue + lines[6].lstrip()       # the pager ate the line's indentation
    paged = "\n".join(lines) + "\n"
    path = tmp_path / "export.cfg"
    path.write_text(paged)
    with pytest.raises(InputError, match=r"line 7: pager residue .*capture it again with paging off"):
        audit_config.from_file(path, vendor)
    assert_verdict((f"{vendor}-paged", "fw.final_deny", export(vendor, paged), "error",
                    "a collected configuration with pager residue is no evidence"), FIREWALL)


@pytest.mark.parametrize("written,claimed", [("h3c_secpath", "huawei_usg"), ("huawei_usg", "h3c_secpath"),
                                             ("hillstone_stoneos", "h3c_secpath"), ("h3c_secpath", "hillstone_stoneos")])
def test_wrong_vendor_is_refused(written, claimed, tmp_path):
    """VRP and Comware share `sysname`, `#` and one-space views: what tells them apart are
    lines only one of them writes (`security-policy` bare vs `security-policy ip`)."""
    text = {"huawei_usg": HUAWEI.format(rules=USG_PERMIT + USG_DENY), "h3c_secpath": H3C.format(policy=H3C_IP),
            "hillstone_stoneos": STONEOS.format(rules=SOS_PERMIT + SOS_DENY)}[written]
    path = tmp_path / "export.cfg"
    path.write_text(text)
    with pytest.raises(InputError, match=f"not .*: use --vendor {written}"):
        audit_config.from_file(path, claimed)
    assert_verdict((f"{written}-as-{claimed}", "fw.no_any_permit", export(claimed, text), "error",
                    "evaluating another vendor's syntax proves nothing"), FIREWALL)
    audit_config.from_file(path, written)   # and the right vendor reads it
