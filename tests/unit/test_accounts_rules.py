"""The account-hygiene rules as pure functions (no lab): parsers and edge cases."""

from __future__ import annotations

import datetime as dt

from bundles import debian12, patched
from mzops import accounts
from mzops.facts import Facts
from mzops.inventory.model import Asset
from mzops.inventory.register import Account as Entry
from mzops.inventory.register import Person

TODAY = dt.date(2026, 11, 28)
HOST = Asset(name="h1", kind="host", zone="core", site="primary")
POLICY = accounts.Thresholds(today=TODAY)


def view(*entries, people=()):
    return accounts.RegisterView(entries={"h1": list(entries)}, explicit={"h1": list(entries)},
                                 people={p.id: p for p in people})


def kinds(findings):
    return sorted((f.account, f.kind) for f in findings)


def test_lastlog_and_last_parsing():
    lastlog = ("Username         Port     From             Latest\n"
               "root             pts/0    10.1.1.1         Tue Mar  3 10:00:00 +0000 2026\n"
               "bob                                        **Never logged in**\n")
    assert accounts._parse_lastlog(lastlog) == {"root": dt.date(2026, 3, 3), "bob": None}
    last = ("ops  pts/1  10.20.1.5  Fri Nov 20 10:00:00 2026 - Fri Nov 20 10:00:00 2026  (00:00)\n"
            "ops  pts/2  10.20.1.6  Fri Nov 20 11:00:00 2026   still logged in\n"
            "reboot   system boot  6.1.0  Fri Nov 20 09:00:00 2026   still running\n")
    assert accounts._parse_last(last) == {"ops": {"10.20.1.5", "10.20.1.6"}}


def test_generic_name_is_fine_when_one_person_owns_it_personally():
    record = accounts.Account("h1", "admin", "/etc/passwd:20", uid=1001)
    personal = Entry(account="admin", person="p1", kind="personal", assets=("h1",))
    service = Entry(account="admin", person="p1", kind="service", assets=("h1",))
    person = Person(id="p1", name="P", roles=("sysadmin",))
    assert kinds(accounts.evaluate_asset(HOST, [record], view(personal, people=[person]), POLICY)) == []
    assert kinds(accounts.evaluate_asset(HOST, [record], view(service, people=[person]), POLICY)) == [("admin", "shared")]


def test_shared_reasons_are_one_finding():
    record = accounts.Account("h1", "ops", "/etc/passwd:21", uid=1002, sources={"a", "b", "c"},
                              concurrent={"a", "b"}, keys=[("SHA256:x", "alice@w"), ("SHA256:y", "bob@w")])
    entry = Entry(account="ops", person="p1", kind="service", assets=("h1",))
    found = accounts.evaluate_asset(HOST, [record], view(entry, people=[Person(id="p1", name="P")]), POLICY)
    assert kinds(found) == [("ops", "shared")]
    assert "3 addresses" in found[0].detail and "2 identities" in found[0].detail and "ops" in found[0].detail


def test_dormant_uses_last_login_not_password_age():
    entry = Entry(account="u", person="p1", kind="personal", assets=("h1",))
    people = [Person(id="p1", name="P")]
    recent_login_old_password = accounts.Account("h1", "u", "x", uid=1003, last_login=TODAY - dt.timedelta(days=5),
                                                 password_changed=TODAY - dt.timedelta(days=400))
    assert kinds(accounts.evaluate_asset(HOST, [recent_login_old_password], view(entry, people=people), POLICY)) == []
    old_login = accounts.Account("h1", "u", "x", uid=1003, last_login=TODAY - dt.timedelta(days=91))
    assert kinds(accounts.evaluate_asset(HOST, [old_login], view(entry, people=people), POLICY)) == [("u", "dormant")]
    never_new = accounts.Account("h1", "u", "x", uid=1003, never_logged_in=True,
                                 password_changed=TODAY - dt.timedelta(days=3))
    assert kinds(accounts.evaluate_asset(HOST, [never_new], view(entry, people=people), POLICY)) == []


def test_locked_accounts_are_not_expired_or_unregistered():
    record = accounts.Account("h1", "old", "x", uid=1004, locked=True, expired=["/etc/shadow: account expired"])
    assert kinds(accounts.evaluate_asset(HOST, [record], view(), POLICY)) == []


def test_pristine_lab_host_has_nothing_but_root():
    records = accounts.host_accounts("h1", Facts(debian12()), TODAY)
    assert [r.name for r in records] == ["root"], "system accounts without a login are not candidates"
    bad = patched(debian12(), {"+file:/etc/passwd": "games2:x:5:60:g:/:/bin/sh\n",
                               "+shadow": "games2:empty::20000:0:99999:7:::\n"})
    names = [r.name for r in accounts.host_accounts("h1", Facts(bad), TODAY)]
    assert "games2" in names, "a system account with a shell and no password is a candidate"


def test_person_with_two_admin_roles():
    from mzops.inventory.register import LoadedRegister, Register
    from mzops.yamlfile import Located
    from pathlib import Path

    reg = LoadedRegister(Register(people=(Person(id="d", name="D", roles=("sysadmin", "auditadmin")),)),
                         Located(Path("accounts.yml"), {}, {("people", 0, "roles"): 3}))
    found = accounts.register_findings(reg, POLICY)
    assert kinds(found) == [("d", "role_conflict")] and found[0].evidence == ["accounts.yml:3: roles sysadmin, auditadmin"]


def test_the_account_check_fails_closed_on_login_records_it_could_not_read():
    """An unreadable lastlog is no evidence that nobody is dormant: the host is an error
    naming the section, not a clean host."""
    from mzops.bundle import Section
    from mzops.compliance import accounts_check

    whole = patched(debian12(), {"lastlog": "Username Port From Latest\n", "last": "", "who": "",
                                 "authorized_keys": "", "today": "2026-11-28\n", "group:logins": ""})
    statuses, _ = accounts_check.evaluate_bundle(whole, [HOST], view(), POLICY)
    assert statuses[0].status == "assessed", statuses[0].message
    broken = patched(whole, {})
    broken.sections["lastlog"] = Section(1, b"lastlog: cannot open /var/log/lastlog: Permission denied\n")
    statuses, findings = accounts_check.evaluate_bundle(broken, [HOST], view(), POLICY)
    assert statuses[0].status == "error" and "lastlog" in statuses[0].message and findings == []
    cut = patched(whole, {"who": None})
    statuses, _ = accounts_check.evaluate_bundle(cut, [HOST], view(), POLICY)
    assert statuses[0].status == "error" and "'who' is missing" in statuses[0].message
