"""Roles for the people who run mzops: operator, auditor, scheduler."""

from __future__ import annotations

import json
import os
import pwd

import pytest

from conftest import run_mzops
from mzops import access
from mzops.errors import InputError

ME = pwd.getpwuid(os.getuid()).pw_name


def roles_file(tmp_path, text, mode=0o644):
    path = tmp_path / "roles.yml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.fixture
def as_role(tmp_path, monkeypatch):
    def set_role(role):
        others = "\n".join(f"  {r}:\n    users: [someone-{r}]" for r in access.ROLES if r != role)
        path = roles_file(tmp_path, f"roles:\n  {role}:\n    users: [{ME}]\n{others}\n")
        monkeypatch.setenv("MZOPS_ROLES", str(path))
        return {"MZOPS_ROLES": str(path)}
    return set_role


@pytest.mark.skipif(os.geteuid() != 0, reason="roles files must be owned by root")
def test_auditor_reads_but_cannot_change(as_role, tmp_path):
    env = as_role("auditor")
    home = tmp_path / "home"
    assert run_mzops("inventory", "list", home=home, env=env).returncode == 0
    assert run_mzops("log", "verify", home=home, env=env).returncode == 0
    refused = run_mzops("lab", "up", home=home, env=env)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (f"mzops: error: refused: user {ME} (role auditor) may not run "
                                      "`mzops lab up` (allowed: operator)")
    last = json.loads((home / "oplog" / "operations.jsonl").read_text().splitlines()[-1])
    assert (last["result"], last["role"], last["command"][:3]) == ("refused", "auditor", ["mzops", "lab", "up"])


@pytest.mark.skipif(os.geteuid() != 0, reason="roles files must be owned by root")
def test_operator_and_scheduler(as_role, tmp_path):
    home = tmp_path / "home"
    env = as_role("scheduler")
    refused = run_mzops("audit", "run", home=home, env=env)
    assert refused.returncode == 2 and "(role scheduler) may not run `mzops audit run`" in refused.stderr
    assert run_mzops("inventory", "validate", home=home, env=env).returncode == 0
    env = as_role("operator")
    assert run_mzops("log", "show", home=home, env=env).returncode == 0


def test_one_person_one_role(tmp_path):
    path = roles_file(tmp_path, "roles:\n  operator:\n    users: [alice]\n  auditor:\n    users: [bob, alice]\n")
    if os.geteuid() != 0:
        pytest.skip("roles files must be owned by root")
    with pytest.raises(InputError) as err:
        access.load(path)
    assert str(err.value) == (f"{path}:5: roles.auditor.users: alice already holds role operator: "
                              "one person, one role (separation of duties)")


def test_roles_file_writable_by_others_is_refused(tmp_path, monkeypatch):
    path = roles_file(tmp_path, "roles:\n  auditor:\n    users: [bob]\n", mode=0o666)
    with pytest.raises(InputError, match="must be owned by root and writable by no one else"):
        access.load(path)
    monkeypatch.setenv("MZOPS_ROLES", str(path))
    proc = run_mzops("inventory", "list", env={"MZOPS_ROLES": str(path)}, home=tmp_path / "h")
    assert proc.returncode == 2 and "writable by no one else" in proc.stderr


def test_unknown_role_and_missing_file(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("roles files must be owned by root")
    with pytest.raises(InputError, match=r":2: roles.admin: unknown role"):
        access.load(roles_file(tmp_path, "roles:\n  admin:\n    users: [x]\n"))
    monkeypatch.setenv("MZOPS_ROLES", str(tmp_path / "nope.yml"))
    with pytest.raises(InputError, match="roles file not found"):
        access.authorize("audit run", "x", 1)


def test_every_command_has_roles():
    """A new sub-command must be assigned to roles, or every user is refused it."""
    from mzops.cli import app, register
    import typer.main

    register()
    group = typer.main.get_command(app)
    for name, sub in group.commands.items():
        for child in getattr(sub, "commands", {None: None}):
            path = f"{name} {child}" if child else name
            assert access.required(path), f"mzops {path} has no roles"
