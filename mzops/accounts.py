"""Account hygiene (MLPS 8.1.4.2 c/d): shared, unregistered, expired, dormant accounts,
empty passwords, extra UID 0, role conflicts, stale register entries.

Pure functions: collected facts are first normalised per source (Linux host,
PostgreSQL, MariaDB/MySQL) into `Account` records; the findings come from those and
the account register alone. The register is the decisive evidence: it says who
answers for each account on each asset.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from mzops.facts import Facts
from mzops.inventory.model import Asset, Estate
from mzops.inventory.register import LoadedRegister

ADMIN_ROLES = ("sysadmin", "secadmin", "auditadmin")
GENERIC_NAMES = ("admin", "administrator", "test", "guest", "oper", "operator", "ops", "dba", "app",
                 "temp", "tmp", "share", "shared", "user", "demo", "support")
SEVERITY = {"uid0": "critical", "empty_password": "critical", "shared": "high", "expired": "high",
            "role_conflict": "high", "unregistered": "medium", "dormant": "medium", "register_stale": "low"}


@dataclass
class Account:
    asset: str
    name: str
    origin: str                      # where it was seen, e.g. "/etc/passwd:12"
    uid: int | None = None
    locked: bool = False
    empty_password: bool = False
    expired: list[str] = field(default_factory=list)
    admin: list[str] = field(default_factory=list)
    keys: list[tuple[str, str]] = field(default_factory=list)   # (fingerprint, comment)
    sources: set[str] = field(default_factory=set)              # addresses it was used from
    concurrent: set[str] = field(default_factory=set)           # addresses of open sessions
    wildcard_hosts: list[str] = field(default_factory=list)     # DB accounts allowed from anywhere
    last_login: dt.date | None = None
    never_logged_in: bool = False
    password_changed: dt.date | None = None
    tracks_logins: bool = True


@dataclass
class Finding:
    asset: str
    account: str
    kind: str
    detail: str
    evidence: list[str]
    severity: str = ""

    def __post_init__(self) -> None:
        self.severity = self.severity or SEVERITY[self.kind]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Thresholds:
    today: dt.date
    dormant_days: int = 90
    shared_sources: int = 3          # distinct login sources that suggest several people
    generic_names: tuple[str, ...] = GENERIC_NAMES


# ------------------------------------------------------------------ normalisation: Linux host

def _day(epoch_days: int | None) -> dt.date | None:
    return dt.date(1970, 1, 1) + dt.timedelta(days=epoch_days) if epoch_days else None


def _parse_lastlog(text: str) -> dict[str, dt.date | None]:
    """Username -> date of last login, None for 'Never logged in'."""
    out: dict[str, dt.date | None] = {}
    for line in text.splitlines()[1:]:
        name = line.split(" ", 1)[0]
        if not name:
            continue
        if "**Never logged in**" in line:
            out[name] = None
            continue
        match = re.search(r"(\w{3}) (\w{3}) +(\d+) [\d:]+ [+-]\d{4} (\d{4})", line)
        if match:
            out[name] = dt.datetime.strptime(f"{match[2]} {match[3]} {match[4]}", "%b %d %Y").date()
    return out


def _parse_last(text: str) -> dict[str, set[str]]:
    """Username -> source addresses of logins in wtmp (`last -w -F -i`)."""
    out: dict[str, set[str]] = defaultdict(set)
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] not in ("reboot", "wtmp", "shutdown") and re.match(r"^[\d.:a-f]+$", parts[2]):
            if parts[2] not in ("0.0.0.0", "::"):
                out[parts[0]].add(parts[2])
    return out


def host_accounts(asset: str, facts: Facts, today: dt.date) -> list[Account]:
    uid_min = facts.uid_min()
    shells = facts.login_shells
    lastlog = _parse_lastlog(facts.text("lastlog") or "")
    sources = _parse_last(facts.text("last") or "")
    open_sessions: dict[str, set[str]] = defaultdict(set)
    for line in (facts.text("who") or "").splitlines():
        parts = line.split()
        if len(parts) >= 5 and re.match(r"^[\d.:a-f]+$", parts[-1]):
            open_sessions[parts[0]].add(parts[-1])
    keys = facts.authorized_keys
    admin_groups = {"sudo", "wheel", "admin"}
    members: dict[str, list[str]] = defaultdict(list)
    for group, _, names, line in facts.groups:
        if group in admin_groups:
            for name in names:
                members[name].append(f"member of {group} ({line})")
    sudo_all = _sudo_all(facts)
    out = []
    for acct in facts.accounts:
        shadow = facts.shadow.get(acct.name)
        locked = shadow is None or shadow.state in ("locked", "nologin")
        usable = not locked or bool(keys.get(acct.name))
        login_shell = acct.shell in shells
        if acct.uid != 0 and acct.uid < uid_min and not (login_shell and usable):
            continue  # system account that cannot log in: not a finding (README)
        if acct.uid >= uid_min and not login_shell and locked and not keys.get(acct.name):
            continue
        record = Account(asset, acct.name, str(acct.origin), uid=acct.uid,
                         locked=locked and not keys.get(acct.name) or not login_shell,
                         empty_password=bool(shadow and shadow.state == "empty"),
                         keys=keys.get(acct.name, []), sources=sources.get(acct.name, set()),
                         concurrent=open_sessions.get(acct.name, set()))
        if shadow:
            expire = _day(shadow.expire)
            if expire and expire < today:
                record.expired.append(f"/etc/shadow: account expired on {expire}")
            changed = _day(shadow.lastchg)
            record.password_changed = changed
            if shadow.state == "password" and changed and shadow.max_days and shadow.max_days < 99999:
                if changed + dt.timedelta(days=shadow.max_days) < today:
                    record.expired.append(f"/etc/shadow: password expired on "
                                          f"{changed + dt.timedelta(days=shadow.max_days)} (max {shadow.max_days} days)")
        if acct.name in lastlog:
            record.last_login = lastlog[acct.name]
            record.never_logged_in = lastlog[acct.name] is None
        record.admin = members.get(acct.name, []) + [f"sudo ALL: {line}" for who, line in sudo_all if who == acct.name]
        out.append(record)
    return out


def _sudo_all(facts: Facts) -> list[tuple[str, str]]:
    """(user, sudoers line) for users granted unrestricted sudo by name."""
    return [(name, str(line)) for who, line in facts.sudo_all_grants
            for name in who if not name.startswith("%")]


# Databases' accounts are normalised by their engines (mzops.engines.*.accounts).


# ------------------------------------------------------------------ the findings

@dataclass
class RegisterView:
    """Register entries per asset, with group names expanded through the inventory."""

    entries: dict[str, list] = field(default_factory=dict)          # asset -> [Account entry]
    explicit: dict[str, list] = field(default_factory=dict)         # asset -> entries naming it directly
    people: dict = field(default_factory=dict)
    key_owner: dict[str, str] = field(default_factory=dict)         # fingerprint -> person id

    @classmethod
    def build(cls, register: LoadedRegister, estate: Estate) -> RegisterView:
        view = cls(people=register.people)
        for entry in register.accounts:
            for asset in estate.expand(list(entry.assets)):
                view.entries.setdefault(asset, []).append(entry)
            for name in entry.assets:
                if name in estate.assets:
                    view.explicit.setdefault(name, []).append(entry)
        for person in register.register.people:
            for key in person.ssh_keys:
                view.key_owner[key] = person.id
        return view

    def for_account(self, asset: str, account: str) -> list:
        return [e for e in self.entries.get(asset, []) if e.account == account]


def evaluate_asset(asset: Asset, accounts: list[Account], view: RegisterView, thresholds: Thresholds,
                   present: set[str] | None = None) -> list[Finding]:
    """Findings for one asset. `present` names every account that exists there, also
    those left out of `accounts` because they cannot log in (default: the records)."""
    findings: list[Finding] = []
    add = findings.append
    by_uid: dict[int, list[Account]] = defaultdict(list)
    for acct in accounts:
        if acct.uid is not None:
            by_uid[acct.uid].append(acct)
    shared: dict[str, tuple[list[str], list[str]]] = {}

    def share(acct_name: str, reason: str, evidence: list[str]) -> None:
        reasons, ev = shared.setdefault(acct_name, ([], []))
        reasons.append(reason)
        ev.extend(evidence)

    for uid, group in sorted(by_uid.items()):
        if uid != 0 and len(group) > 1:
            share(",".join(a.name for a in group), f"UID {uid} is shared by {len(group)} names",
                  [a.origin for a in group])

    for acct in accounts:
        entries = view.for_account(asset.name, acct.name)
        persons = sorted({e.person for e in entries})
        if acct.uid == 0 and acct.name != "root":
            add(Finding(asset.name, acct.name, "uid0", "UID 0 besides root: a second, unnamed root", [acct.origin]))
        if acct.empty_password:
            add(Finding(asset.name, acct.name, "empty_password", "logs in without a password", [acct.origin]))
        # --- shared
        owners = sorted({view.key_owner[fp] for fp, _ in acct.keys if fp in view.key_owner})
        identities = sorted({c.split("@")[0] for _, c in acct.keys if c})
        if len(owners) > 1:
            share(acct.name, f"authorized_keys hold keys of {len(owners)} people ({', '.join(owners)})",
                  [f"{fp} {c}" for fp, c in acct.keys])
        elif not owners and len(identities) > 1:
            share(acct.name, f"authorized_keys hold keys of {len(identities)} identities ({', '.join(identities)})",
                  [f"{fp} {c}" for fp, c in acct.keys])
        if len(acct.sources) >= thresholds.shared_sources and acct.tracks_logins:
            share(acct.name, f"logins from {len(acct.sources)} addresses",
                  [f"wtmp: logins from {', '.join(sorted(acct.sources))}"])
        if not acct.tracks_logins and len(acct.sources) >= thresholds.shared_sources:
            share(acct.name, f"used from {len(acct.sources)} client hosts", [f"clients: {', '.join(sorted(acct.sources))}"])
        if len(acct.concurrent) > 1:
            share(acct.name, f"open sessions from {len(acct.concurrent)} addresses at once",
                  [f"who: {acct.name} from {', '.join(sorted(acct.concurrent))}"])
        if acct.wildcard_hosts:
            share(acct.name, "may connect from any client host", acct.wildcard_hosts)
        personal_owner = len(persons) == 1 and all(e.kind == "personal" for e in entries)
        if acct.name.lower() in thresholds.generic_names and not acct.locked and not personal_owner:
            share(acct.name, f"generic name {acct.name!r} with a login", [acct.origin])
        if len(persons) > 1:
            share(acct.name, f"the register maps it to {len(persons)} people ({', '.join(persons)})",
                  [f"{view_where(e)}" for e in entries])
        # --- register
        expired = list(acct.expired)
        if not entries:
            if not acct.locked:
                add(Finding(asset.name, acct.name, "unregistered", "present and usable, but in no register entry",
                            [acct.origin] + acct.admin))
                if expired:  # a second, separate problem: it should not work at all any more
                    add(Finding(asset.name, acct.name, "expired", "expired but still able to log in",
                                [acct.origin] + expired))
            continue
        for entry in entries:
            person = view.people.get(entry.person)
            for label, until in (("register entry", entry.valid_until),
                                 (f"person {entry.person}", person.valid_until if person else None)):
                if until and until < thresholds.today:
                    expired.append(f"{label} valid_until {until}")
        if expired and not acct.locked:
            add(Finding(asset.name, acct.name, "expired", "expired but still able to log in", [acct.origin] + expired))
        if acct.tracks_logins and not acct.locked:
            if acct.last_login and (thresholds.today - acct.last_login).days > thresholds.dormant_days:
                add(Finding(asset.name, acct.name, "dormant",
                            f"no login for {(thresholds.today - acct.last_login).days} days",
                            [f"lastlog: last login {acct.last_login}"]))
            elif acct.never_logged_in and acct.password_changed and \
                    (thresholds.today - acct.password_changed).days > thresholds.dormant_days:
                add(Finding(asset.name, acct.name, "dormant",
                            f"never logged in, set up {(thresholds.today - acct.password_changed).days} days ago",
                            ["lastlog: **Never logged in**", f"/etc/shadow: last change {acct.password_changed}"]))
        if acct.admin and persons:
            allowed = any((e.role == "sysadmin") or (e.kind == "service" and e.role is None and
                          "sysadmin" in (view.people.get(e.person).roles if view.people.get(e.person) else ()))
                          for e in entries)
            if not allowed:
                roles = ", ".join(sorted({e.role or "none" for e in entries}))
                add(Finding(asset.name, acct.name, "role_conflict",
                            f"administrator rights beyond its registered role ({roles})", acct.admin))

    for name, (reasons, evidence) in shared.items():
        add(Finding(asset.name, name, "shared", "; ".join(reasons), evidence))

    present = present if present is not None else {a.name for a in accounts}
    for entry in view.explicit.get(asset.name, []):
        if entry.account not in present:
            add(Finding(asset.name, entry.account, "register_stale",
                        "the register lists it here, but the asset has no such account", [view_where(entry)]))
    return findings


def view_where(entry) -> str:
    return f"register: {entry.account} -> {entry.person} ({entry.kind}{', ' + entry.role if entry.role else ''})"


def register_findings(register: LoadedRegister, thresholds: Thresholds) -> list[Finding]:
    """Problems of the register itself: one person holding two admin roles."""
    out = []
    for index, person in enumerate(register.register.people):
        held = [r for r in person.roles if r in ADMIN_ROLES]
        if len(held) > 1:
            out.append(Finding("register", person.id, "role_conflict",
                               f"{person.name} holds {' and '.join(held)}: system, security and audit "
                               "administration must be separate people",
                               [f"{register.doc.where(('people', index, 'roles'))}: roles {', '.join(held)}"]))
    return out
