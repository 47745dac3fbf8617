"""Who may run which mzops command: operator, auditor, scheduler (MLPS 8.1.5).

The roles file (MZOPS_ROLES, default /etc/mzops/roles.yml) maps OS users and groups
to one role each; a person holding two roles is refused (separation of duties). It
must be owned by root and writable by no one else, like sshd's StrictModes: an
auditor who could edit it could grant themselves the operator role. Without a roles
file mzops runs unrestricted (a single-admin workstation) and logs the role as
`unrestricted`.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from mzops import yamlfile
from mzops.errors import InputError

ROLES = ("operator", "auditor", "scheduler")
UNRESTRICTED = "unrestricted"
DEFAULT_PATH = Path("/etc/mzops/roles.yml")

READ = {"operator", "auditor"}
# Command (group, or "group sub") -> roles allowed. Most specific entry wins.
COMMANDS: dict[str, set[str]] = {
    "inventory": {"operator", "auditor", "scheduler"},
    "audit": READ,
    "accounts check": READ,
    "accounts lock": {"operator"},
    "harden run": {"operator"},
    "harden rollback": {"operator"},
    "harden history": READ,
    "firewall render": READ,
    "firewall diff": READ,
    "firewall history": READ,
    # Nightly saves of the running configurations run from the scheduler too.
    "firewall save": {"operator", "auditor", "scheduler"},
    "firewall backup": {"operator", "auditor", "scheduler"},   # the old name of `firewall save`
    "firewall push": {"operator"},
    "secrets check": READ,
    "log show": READ,
    "log verify": READ,
    "log init": {"operator"},
    "lab": {"operator"},
    # The scheduler runs the nightly backups and nothing else; restores are operators'.
    "backup run": {"operator", "scheduler"},
    "backup copy": {"operator", "scheduler"},       # the DR site copy, when a night left it undone
    "backup drill": {"operator", "scheduler"},      # restores onto scratch folders and drill hosts, then removes them
    "backup list": {"operator", "auditor", "scheduler"},
    "backup verify": {"operator", "auditor", "scheduler"},
    "backup restore": {"operator"},
    "backup tapes": {"operator"},
    "backup catalog": {"operator"},
    "backup schedule": {"operator"},
    "backup prune": {"operator", "scheduler"},
    "backup report": {"operator", "auditor", "scheduler"},
    # DR: auditors and the scheduler (monitoring) read; changes and switches are operators'.
    "dr plans": READ,
    "dr status": {"operator", "auditor", "scheduler"},
    "dr history": READ,
    "dr report": {"operator", "auditor", "scheduler"},
    "dr protect": {"operator"},
    "dr failover": {"operator"},
    "dr failback": {"operator"},
    "dr drill": {"operator", "scheduler"},     # a copy on the DR host, removed; production untouched
}


class Members(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


class RolesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    roles: dict[str, Members]


def roles_path() -> Path:
    return Path(os.environ.get("MZOPS_ROLES", str(DEFAULT_PATH)))


@dataclass
class Decision:
    allowed: bool
    role: str
    reason: str = ""


def load(path: Path) -> RolesFile:
    st = path.stat()
    if st.st_uid != 0 or st.st_mode & 0o022:
        raise InputError(f"{path}: roles file must be owned by root and writable by no one else "
                         f"(owner uid {st.st_uid}, mode {st.st_mode & 0o777:04o})")
    doc = yamlfile.load(path)
    try:
        parsed = RolesFile.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise doc.error(tuple(err["loc"]), "unknown key" if err["type"] == "extra_forbidden" else err["msg"]) from None
    for role in parsed.roles:
        if role not in ROLES:
            raise doc.error(("roles", role), f"unknown role (one of: {', '.join(ROLES)})")
    seen: dict[str, str] = {}
    for role, members in parsed.roles.items():
        for user in members.users:
            if user in seen:
                raise doc.error(("roles", role, "users"),
                                f"{user} already holds role {seen[user]}: one person, one role (separation of duties)")
            seen[user] = role
    return parsed


def role_of(config: RolesFile, user: str, uid: int) -> set[str]:
    try:
        entry = pwd.getpwuid(uid)
        groups = {g.gr_name for g in grp.getgrall() if entry.pw_name in g.gr_mem}
        groups.add(grp.getgrgid(entry.pw_gid).gr_name)
    except KeyError:
        groups = set()
    return {role for role, m in config.roles.items() if user in m.users or groups & set(m.groups)}


def required(command: str) -> set[str] | None:
    parts = command.split()
    for size in (2, 1):
        key = " ".join(parts[:size])
        if key in COMMANDS:
            return COMMANDS[key]
    return None


def authorize(command: str, user: str, uid: int) -> Decision:
    path = roles_path()
    if not path.exists():
        if "MZOPS_ROLES" in os.environ:
            raise InputError(f"{path}: roles file not found (MZOPS_ROLES)")
        return Decision(True, UNRESTRICTED)
    config = load(path)
    roles = role_of(config, user, uid)
    if len(roles) > 1:
        return Decision(False, "+".join(sorted(roles)),
                        f"user {user} holds roles {' and '.join(sorted(roles))} in {path}: one person, one role")
    role = next(iter(roles), "none")
    allowed = required(command)
    if allowed is None:
        return Decision(False, role, f"`mzops {command}` is not assigned to any role in mzops")
    if role not in allowed:
        return Decision(False, role, f"user {user} (role {role}) may not run `mzops {command}` "
                                     f"(allowed: {', '.join(sorted(allowed))})")
    return Decision(True, role)
