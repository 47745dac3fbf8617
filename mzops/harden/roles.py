"""The hardening role of each baseline family (linux, postgresql, mysql): its playbook,
its snapshot table (what its rules may change), whether a fresh SSH login proves the
change, and how a restored server re-reads its configuration. What a database keeps in
its catalogue, and the SQL that puts it back, is its engine's (mzops.engines).

A database family comes with its engine's file: its playbook harden_<family>.yml and
role mlps3_<family> are found by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mzops import engines
from mzops.compliance.catalogue import Rule
from mzops.bundle import Bundle
from mzops.facts import Facts
from mzops.errors import InputError
from mzops.paths import PLAYBOOKS

# After a Linux host's files are restored: validated reloads of what reads its
# configuration once.
LINUX_RELOAD = b"""
if /usr/sbin/sshd -t; then
  if [ -d /run/systemd/system ]; then systemctl reload ssh 2>/dev/null || systemctl reload sshd
  elif [ -s /run/sshd.pid ]; then kill -HUP "$(cat /run/sshd.pid)"; fi
else echo "sshd -t failed: sshd not reloaded" >&2; fi
if command -v rsyslogd >/dev/null && rsyslogd -N1 >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then systemctl try-restart rsyslog
  elif pid=$(pgrep -xo rsyslogd); then kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; rsyslogd; fi
fi
exit 0
"""

@dataclass(frozen=True)
class Role:
    name: str
    playbook: str
    role: str
    fresh_login: bool          # its rules touch sshd/PAM: prove a new SSH login works
    after_restore: bytes       # run on the host after its files are restored

    @property
    def snapshot_table(self) -> Path:
        return PLAYBOOKS / "roles" / self.role / "snapshot.yml"

    def table(self) -> dict[str, dict]:
        return yaml.safe_load(self.snapshot_table.read_text())["rules"]


def _roles() -> dict[str, Role]:
    """Linux, and each database engine's family (its playbook and role named after it)."""
    out = {"linux": Role("linux", "harden_linux.yml", "mlps3_linux", True, LINUX_RELOAD)}
    for engine in engines.known().values():
        out.setdefault(engine.family, Role(engine.family, f"harden_{engine.family}.yml", f"mlps3_{engine.family}",
                                             False, engine.after_restore))
    return out


ROLES = _roles()   # baseline family -> its role


def placeholders(bundle: Bundle | None, params: dict[str, Any]) -> dict[str, str]:
    """Values for {names} in a database role's snapshot table: the server's own paths."""
    values = {k: str(v) for k, v in params.items() if isinstance(v, (str, int))}
    if bundle is None or "db:engine" not in bundle.sections:
        return values
    engine = engines.of_bundle(bundle)
    try:
        _, known = engine.settings(Facts(bundle)) if engine else ("", {})
    except engines.Refused:
        return values
    for name in ("config_file", "hba_file", "ident_file", "data_directory", "datadir"):
        if known.get(name) and known[name].value:
            values[name] = known[name].value.rstrip("/") or "/"
    if "config_file" in values:
        values["managed"] = os.path.join(os.path.dirname(values["config_file"]), "mzops-mlps3.conf")
    return values


def snapshot_specs(role: Role, rule_ids: list[str], rules: dict[str, Rule],
                 values: dict[str, str] | None = None) -> list[str]:
    """snapshot.sh arguments for these rules: C:content M:metadata of a tree, N:of one
    path (a data directory whose files belong to the server), S:sysctl key."""
    table = role.table()
    specs: list[str] = []

    def flat(items):
        for item in items:
            yield from (flat(item) if isinstance(item, list) else [item])

    def path(text: str) -> str:
        try:
            return text.format(**(values or {}))
        except KeyError as exc:
            raise InputError(f"{role.snapshot_table}: {text}: the server did not report {exc}") from None

    for rule_id in rule_ids:
        entry = table.get(rule_id)
        if entry is None:
            raise InputError(f"{role.snapshot_table}: rule {rule_id} has no entry (what its tasks may change)")
        specs += [f"C:{path(p)}" for p in flat(entry.get("content", []))]
        specs += [f"M:{path(p)}" for p in flat(entry.get("metadata", []))]
        specs += [f"N:{path(p)}" for p in flat(entry.get("node", []))]
        if entry.get("sysctl"):
            keys = list(rules[rule_id].args.get("keys", {}))
            # the task sets each interface's value of a conf.all key too (snapshot.sh expands *)
            specs += [f"S:{k}" for k in keys] + [f"S:{k.replace('.all.', '.*.')}" for k in keys
                                                  if k.startswith("net.ipv4.conf.all.")]
    return list(dict.fromkeys(specs))
