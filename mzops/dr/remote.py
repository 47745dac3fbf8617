"""What DR scripts are sent with: the replication account's secrets as the first lines
of the script (ssh's stdin, never argv or a file of the controller's)."""

from __future__ import annotations

import shlex


def with_secrets(script: bytes, **values: str) -> bytes:
    """SCRIPT with shell variables set in its first lines: sent on ssh's stdin, never argv."""
    head = "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())
    return head.encode() + script
