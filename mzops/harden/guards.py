"""Never lock the automation account out: refusals decided before anything changes.

Pure functions over the facts collected from the host just before the run. Each
refusal names the rule, the host's state that makes it unsafe and what to do first.
"""

from __future__ import annotations

from typing import Any

from mzops.facts import Facts, completeness
from mzops.facts.sudo import user_specs


def _sudo_admins(facts: Facts) -> set[str]:
    """Accounts that sudo grants ALL, directly or through a group."""
    principals = {p for who, _ in facts.sudo_all_grants for p in who}
    out = {p for p in principals if not p.startswith("%")}
    for name, gid, members, _ in facts.groups:
        if f"%{name}" in principals:
            out |= set(members) | {a.name for a in facts.accounts if a.gid == gid}
    return out


def _nopasswd(facts: Facts, user: str) -> bool:
    groups = facts.groups_of(user)
    return any("NOPASSWD:" in rest and (user in who or any(w.startswith("%") and w[1:] in groups for w in who))
               for who, rest, _ in user_specs(facts.sudoers))


def refusals(facts: Facts, rule_ids: set[str], params: dict[str, Any], user: str, become: bool) -> list[str]:
    """Reasons not to run these rules on this host, as the automation account `user`;
    a guard whose facts were not collected whole refuses (it cannot tell it is safe)."""
    with facts.reading() as read:
        out = _refusals(facts, rule_ids, params, user, become)
    lost = completeness.problems(facts.bundle, read)
    if lost:
        out.append(f"the lockout guards cannot tell this host is safe: {lost[0]}")
    return out


def _refusals(facts: Facts, rule_ids: set[str], params: dict[str, Any], user: str, become: bool) -> list[str]:
    out = []
    if "linux.ssh.root_login" in rule_ids:
        value = str(params["ssh_permit_root_login"][0])
        if user == "root" and value == "no":
            out.append("linux.ssh.root_login: mzops logs in as root here and PermitRootLogin no would lock it out; "
                       "give the inventory a named automation account with sudo (ansible_user, ansible_become) first")
        usable = {a.name for a in facts.accounts
                  if (facts.shadow.get(a.name) and facts.shadow[a.name].state == "password")} | set(facts.authorized_keys)
        named = sorted((_sudo_admins(facts) & usable) - {"root", user})
        if not named:
            out.append("linux.ssh.root_login: no named administrator (a personal account with sudo and a password "
                       "or key) would remain once root cannot log in; create one first")
    if "linux.ssh.allow_groups" in rule_ids:
        allowed = set(params.get("ssh_allow_groups") or [])
        if allowed and not (facts.groups_of(user) & allowed):
            out.append(f"linux.ssh.allow_groups: the automation account {user} is in none of AllowGroups "
                       f"{' '.join(sorted(allowed))}; add it to one of them first")
    if rule_ids & {"linux.pam.lockout", "linux.pam.lockout_root"} and become and user != "root":
        if not _nopasswd(facts, user):
            out.append(f"linux.pam.lockout: {user} needs a sudo password, which goes through the PAM lockout; "
                       "give it NOPASSWD for mzops (keys only) first")
    return out
