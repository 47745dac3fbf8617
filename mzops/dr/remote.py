"""What DR scripts are sent with: the replication account's secrets as the first lines
of the script (ssh's stdin, never argv or a file of the controller's)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shlex


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for PASSWORD (RFC 5802/7677, as
    libpq's pg_fe_scram_build_secret): the server never sees the password itself."""
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client = hmac.new(salted, b"Client Key", "sha256").digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client).digest())}:{b64(server)}"


def pgpass_line(account: str, password: str) -> str:
    """A libpq password file line for ACCOUNT on any host (':' and '\\' escaped)."""
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:{account}:{escaped}"


def with_secrets(script: bytes, **values: str) -> bytes:
    """SCRIPT with shell variables set in its first lines: sent on ssh's stdin, never argv."""
    head = "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())
    return head.encode() + script
