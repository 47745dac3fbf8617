"""Credentials from a real Vault-API server (OpenBao dev server on loopback)."""

from __future__ import annotations

import json
import secrets as pysecrets
import time

import pytest

from conftest import SAMPLE_INVENTORY, free_port, run_mzops
from mzops import secrets
from mzops.secrets import Resolver, SecretError


@pytest.fixture
def vault_env(openbao, monkeypatch):
    env = openbao.approle()
    for key in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_kv_read_with_approle(openbao, vault_env):
    value = "pw-" + pysecrets.token_hex(6)
    openbao.put("mzops/db/core-pg-01", password=value, user="mzops_ro")
    secret = Resolver().resolve("vault:secret/mzops/db/core-pg-01#password")
    assert secret.reveal() == value
    assert str(secret) == repr(secret) == f"{secret}" == secrets.MASK
    assert value not in f"connecting with {secret}"
    assert secrets.redact(f"error: bad password {value}") == f"error: bad password {secrets.MASK}"


def test_missing_denied_and_field(openbao, vault_env):
    openbao.put("mzops/hosts/web01", password="x" * 12)
    openbao.put("other/thing", password="y" * 12)   # outside the policy
    resolver = Resolver()
    assert resolver.check("vault:secret/mzops/hosts/nope#password")[0] == "missing"
    assert resolver.check("vault:secret/mzops/hosts/web01#token")[0] == "missing"
    status, detail = resolver.check("vault:secret/other/thing#password")
    assert status == "denied" and "policy" in detail


def test_token_login_and_renewal(openbao, vault_env, monkeypatch):
    monkeypatch.setenv("VAULT_SECRET_ID", openbao.approle(ttl="4s")["VAULT_SECRET_ID"])
    openbao.put("mzops/hosts/a", password="a" * 12)
    openbao.put("mzops/hosts/b", password="b" * 12)
    resolver = Resolver()
    resolver.resolve("vault:secret/mzops/hosts/a#password")
    client = resolver.vault._client
    first = client.auth.token.lookup_self()["data"]
    time.sleep(2.5)   # past half of the 4 s TTL: the next read renews
    resolver.resolve("vault:secret/mzops/hosts/b#password")
    after = client.auth.token.lookup_self()["data"]
    assert after["accessor"] == first["accessor"], "the same token, renewed, not a new login"
    assert after["ttl"] > 2, "renewed to a full TTL"
    openbao.put("mzops/hosts/c", password="c" * 12)
    time.sleep(2.5)   # 5 s after login: the 4 s token only lives if it was renewed
    assert resolver.vault._client is client, "still the first login"
    assert resolver.resolve("vault:secret/mzops/hosts/c#password").reveal() == "c" * 12


def test_server_down(monkeypatch):
    monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("VAULT_TOKEN", "whatever")
    with pytest.raises(SecretError) as err:
        Resolver().resolve("vault:secret/mzops/x#password")
    assert err.value.status == "error" and "unreachable" in str(err.value)
    assert "vault:secret/mzops/x#password" in str(err.value)


def test_env_and_ansible_vault(tmp_path, monkeypatch):
    from ansible.parsing.vault import VaultLib, VaultSecret

    monkeypatch.setenv("MZOPS_TEST_PW", "from-env-123")
    assert Resolver().resolve("env:MZOPS_TEST_PW").reveal() == "from-env-123"
    assert Resolver().check("env:MZOPS_NOT_SET")[0] == "missing"
    (tmp_path / "pass").write_text("vault-pass\n")
    blob = VaultLib([("default", VaultSecret(b"vault-pass"))]).encrypt("fw_admin: s3cret-fw\n")
    (tmp_path / "secrets.yml").write_bytes(blob)
    monkeypatch.setenv("MZOPS_VAULT_PASSWORD_FILE", str(tmp_path / "pass"))
    resolver = Resolver(base=tmp_path)
    assert resolver.resolve("ansible-vault:secrets.yml#fw_admin").reveal() == "s3cret-fw"
    assert resolver.check("ansible-vault:secrets.yml#other")[0] == "missing"
    (tmp_path / "pass").write_text("wrong\n")
    assert Resolver(base=tmp_path).check("ansible-vault:secrets.yml#fw_admin")[0] == "denied"


def test_secrets_check_command(openbao, vault_env, tmp_path):
    import shutil

    canary = "canary-" + pysecrets.token_hex(10)
    openbao.put("mzops/automation/ssh", private_key=canary)
    openbao.put("mzops/db/core-pg-01", password=canary + "-pg")
    inv = tmp_path / "inventory"
    shutil.copytree(SAMPLE_INVENTORY, inv)
    home = tmp_path / "home"
    proc = run_mzops("-i", str(inv), "secrets", "check", "--json", home=home, env=vault_env)
    assert proc.returncode == 1  # the sample references secrets not stored here
    rows = {r["reference"]: r for r in json.loads(proc.stdout)}
    assert rows["vault:secret/mzops/automation/ssh#private_key"]["status"] == "ok"
    assert rows["vault:secret/mzops/db/core-pg-01#password"]["status"] == "ok"
    assert rows["vault:secret/mzops/db/dr-pg-01#password"]["status"] == "missing"
    assert rows["vault:secret/mzops/firewalls/fw-wan-01#password"]["status"] == "missing"
    everything = proc.stdout + proc.stderr + "".join(
        p.read_text(errors="replace") for p in home.rglob("*") if p.is_file())
    assert canary not in everything


@pytest.mark.lab
def test_vaulted_ssh_key_never_leaks_and_vault_down_is_per_target(lab_session, lab, openbao, vault_env, tmp_path):
    import glob
    import shutil

    import yaml

    labdir = lab_session.home / "lab"
    key = (labdir / "ssh" / "id_ed25519").read_text()
    openbao.put("mzops/lab/ssh", private_key=key)
    target = lab["hosts"][0]
    config = tmp_path / "vaulted_ssh_config"
    config.write_text("\n".join([   # no IdentityFile: the key can only come from Vault
        "Host vaulted", f"  HostName {target['address']}", "  User root", "  IdentitiesOnly no",
        f"  UserKnownHostsFile {labdir / 'ssh' / 'known_hosts'}", "  StrictHostKeyChecking yes",
        "  ControlMaster no", "  BatchMode yes",
        "  ProxyCommand /usr/bin/nsenter --net=/run/netns/mzl-ctl /usr/bin/socat STDIO TCP:%h:%p", ""]))
    inv = tmp_path / "inv"
    shutil.copytree(lab["inventory"], inv)
    doc = yaml.safe_load((inv / "hosts.yml").read_text())
    children = doc["all"]["children"]
    children["hosts"]["hosts"]["vaulted"] = {
        "ansible_host": "vaulted", "ansible_ssh_args": f"-F {config}", "mzops_platform": "debian-12",
        "mzops_credentials": {"ssh": "vault:secret/mzops/lab/ssh#private_key"}}
    children["zone_core"]["hosts"]["vaulted"] = None
    children["primary"]["hosts"]["vaulted"] = None
    (inv / "hosts.yml").write_text(yaml.safe_dump(doc))
    other = lab["hosts"][1]["name"]
    home = tmp_path / "home"
    env = {**vault_env, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()

    proc = run_mzops("-i", str(inv), "audit", "run", "--limit", f"vaulted,{other}", "--json",
                     "--save-facts", str(home / "facts"), home=home, env=env)
    assert proc.returncode == 1, proc.stderr
    statuses = {t["name"]: t["status"] for t in json.loads(proc.stdout)["targets"]}
    assert statuses == {"vaulted": "assessed", other: "assessed"}
    # Ansible (the hardening preview) gets the same key through an agent only.
    preview = run_mzops("-i", str(inv), "harden", "run", "--limit", "vaulted", "--rules", "linux.ssh.x11",
                        "--json", home=home, env=env)
    assert preview.returncode == 0, preview.stderr[-2000:]
    assert json.loads(preview.stdout)["hosts"][0]["status"] == "previewed"
    # Canary: no line of the key in anything mzops wrote or printed, no agent left over.
    lines = [line for line in key.splitlines() if len(line) > 20 and "PRIVATE KEY" not in line]
    written = proc.stdout + proc.stderr + preview.stdout + preview.stderr + "".join(
        p.read_text(errors="replace") for p in home.rglob("*") if p.is_file())
    assert lines and not any(line in written for line in lines)
    assert glob.glob(str(tmp_path / "tmp" / "mzops-agent-*")) == []

    down = {**env, "VAULT_ADDR": f"http://127.0.0.1:{free_port()}"}
    proc = run_mzops("-i", str(inv), "audit", "run", "--limit", f"vaulted,{other}", "--json", home=home, env=down)
    assert proc.returncode == 1          # the other host's findings; the vaulted one is not assessed
    targets = {t["name"]: t for t in json.loads(proc.stdout)["targets"]}
    assert targets["vaulted"]["status"] == "error"
    assert "vault:secret/mzops/lab/ssh#private_key" in targets["vaulted"]["message"]
    assert "unreachable" in targets["vaulted"]["message"]
    assert targets[other]["status"] == "assessed"
