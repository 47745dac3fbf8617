"""Credentials resolved at run time from references; values never printed or stored.

References (in the inventory's `mzops_credentials`):

    vault:PATH#FIELD           KV v2 in Vault/OpenBao; PATH's first part is the mount
    env:NAME                   an environment variable
    ansible-vault:FILE#KEY     a YAML mapping in an ansible-vault encrypted file
                               (FILE relative to the inventory folder)

Vault login: VAULT_ADDR with VAULT_TOKEN, or AppRole with VAULT_ROLE_ID and
VAULT_SECRET_ID (or MZOPS_VAULT_SECRET_ID_FILE). Tokens are renewed during long runs.
ansible-vault files are opened with the password in MZOPS_VAULT_PASSWORD_FILE.

A resolved value is a `Secret`: its str() and repr() are redacted, every value seen
is registered so `redact()` can scrub it from any text that leaves the process.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mzops.errors import MzopsError

REFERENCE = re.compile(r"^(?P<scheme>vault|env|ansible-vault):(?P<path>[^#\s]+)(?:#(?P<field>[^\s#]+))?$")
MASK = "********"
_seen: set[str] = set()
_seen_lock = threading.Lock()


class Secret:
    """A secret value that does not print itself."""

    __slots__ = ("_value", "reference")

    def __init__(self, value: str, reference: str):
        self._value = value
        self.reference = reference
        if len(value) >= 4:
            with _seen_lock:
                _seen.add(value)
                # Multi-line secrets (keys) are scrubbed line by line too.
                _seen.update(line for line in value.splitlines() if len(line) >= 16)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return MASK


def redact(text: str) -> str:
    """Replace every secret value this process has resolved."""
    with _seen_lock:
        values = sorted(_seen, key=len, reverse=True)
    for value in values:
        text = text.replace(value, MASK)
    return text


class SecretError(MzopsError):
    """A reference that could not be resolved: says which and why, never a value."""

    def __init__(self, reference: str, status: str, detail: str):
        super().__init__(f"credential {reference}: {status}: {detail}")
        self.reference = reference
        self.status = status  # missing | denied | error


@dataclass
class Reference:
    scheme: str
    path: str
    field: str | None
    text: str

    @classmethod
    def parse(cls, text: str) -> Reference:
        match = REFERENCE.match(text.strip())
        if not match:
            raise SecretError(text, "error", "not a reference (vault:PATH#FIELD, env:NAME, ansible-vault:FILE#KEY)")
        return cls(match["scheme"], match["path"], match["field"], text.strip())


class VaultBackend:
    """hvac client with lazy login and renewal; one per process."""

    RENEW_BELOW = 0.5  # renew when less than half of the token's TTL is left

    def __init__(self) -> None:
        self._client = None
        self._lock = threading.Lock()
        self._expires = 0.0
        self._ttl = 0

    def _addr(self) -> str:
        addr = os.environ.get("VAULT_ADDR")
        if not addr:
            raise SecretError("vault:", "error", "VAULT_ADDR is not set")
        return addr

    def client(self, reference: str):
        import hvac
        import requests

        with self._lock:
            try:
                if self._client is None:
                    self._client = self._login(hvac)
                elif self._ttl and time.monotonic() > self._expires - self._ttl * self.RENEW_BELOW:
                    self._renew()
            except requests.exceptions.RequestException:
                self._client = None
                raise SecretError(reference, "error", f"Vault at {self._addr()} is unreachable") from None
            except hvac.exceptions.Forbidden:
                self._client = None
                raise SecretError(reference, "denied", "Vault login refused") from None
            return self._client

    def _login(self, hvac):
        client = hvac.Client(url=self._addr(), timeout=10)
        token = os.environ.get("VAULT_TOKEN")
        role_id = os.environ.get("VAULT_ROLE_ID")
        if token:
            client.token = token
        elif role_id:
            secret_id = os.environ.get("VAULT_SECRET_ID")
            path = os.environ.get("MZOPS_VAULT_SECRET_ID_FILE")
            if not secret_id and path:
                secret_id = Path(path).read_text().strip()
            if not secret_id:
                raise SecretError("vault:", "error", "VAULT_ROLE_ID set without VAULT_SECRET_ID or MZOPS_VAULT_SECRET_ID_FILE")
            client.auth.approle.login(role_id=role_id, secret_id=secret_id)
        else:
            raise SecretError("vault:", "error", "no Vault credentials (VAULT_TOKEN, or VAULT_ROLE_ID + secret id)")
        self._note_ttl(client.auth.token.lookup_self()["data"])
        return client

    def _note_ttl(self, data: dict) -> None:
        self._ttl = int(data.get("ttl") or 0) if data.get("renewable") else 0
        self._expires = time.monotonic() + self._ttl

    def _renew(self) -> None:
        response = self._client.auth.token.renew_self()
        auth = response.get("auth") or {}
        self._ttl = int(auth.get("lease_duration") or 0) if auth.get("renewable") else 0
        self._expires = time.monotonic() + self._ttl

    def read(self, ref: Reference) -> str:
        import hvac
        import requests

        client = self.client(ref.text)
        mount, _, path = ref.path.partition("/")
        if not path:
            raise SecretError(ref.text, "error", "the path needs a mount and a secret path (secret/NAME)")
        try:
            data = client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount,
                                                            raise_on_deleted_version=True)["data"]["data"]
        except hvac.exceptions.InvalidPath:
            raise SecretError(ref.text, "missing", "no such secret") from None
        except hvac.exceptions.Forbidden:
            raise SecretError(ref.text, "denied", "the Vault policy does not allow reading it") from None
        except requests.exceptions.RequestException:
            raise SecretError(ref.text, "error", f"Vault at {self._addr()} is unreachable") from None
        except hvac.exceptions.VaultError as exc:
            raise SecretError(ref.text, "error", type(exc).__name__) from None
        field = ref.field or "value"
        if field not in data:
            raise SecretError(ref.text, "missing", f"the secret has no field {field!r}")
        return str(data[field])


class Resolver:
    """Resolves references once per run and caches the Secrets in memory only."""

    def __init__(self, base: Path | None = None):
        self.base = base or Path.cwd()
        self.vault = VaultBackend()
        self._cache: dict[str, Secret] = {}

    def resolve(self, reference: str) -> Secret:
        if reference in self._cache:
            return self._cache[reference]
        ref = Reference.parse(reference)
        if ref.scheme == "vault":
            value = self.vault.read(ref)
        elif ref.scheme == "env":
            if ref.path not in os.environ:
                raise SecretError(reference, "missing", "environment variable not set")
            value = os.environ[ref.path]
        else:
            value = self._ansible_vault(ref)
        secret = Secret(value, reference)
        self._cache[reference] = secret
        return secret

    def _ansible_vault(self, ref: Reference) -> str:
        from ansible.parsing.vault import AnsibleVaultError, VaultLib, VaultSecret
        import yaml

        password_file = os.environ.get("MZOPS_VAULT_PASSWORD_FILE")
        if not password_file:
            raise SecretError(ref.text, "error", "MZOPS_VAULT_PASSWORD_FILE is not set")
        path = (self.base / ref.path) if not Path(ref.path).is_absolute() else Path(ref.path)
        try:
            password = Path(password_file).read_bytes().strip()
            blob = path.read_bytes()
        except OSError as exc:
            raise SecretError(ref.text, "missing" if isinstance(exc, FileNotFoundError) else "error",
                              f"cannot read {exc.filename}") from None
        try:
            plain = VaultLib([("default", VaultSecret(password))]).decrypt(blob)
        except AnsibleVaultError:
            raise SecretError(ref.text, "denied", "the vault password does not open this file") from None
        data = yaml.safe_load(plain) or {}
        if not isinstance(data, dict) or ref.field not in data:
            raise SecretError(ref.text, "missing", f"no key {ref.field!r} in the encrypted file")
        return str(data[ref.field])

    def check(self, reference: str) -> tuple[str, str]:
        """(status, detail) without ever returning the value."""
        try:
            self.resolve(reference)
            return "ok", ""
        except SecretError as exc:
            return exc.status, str(exc).split(": ", 2)[-1]
