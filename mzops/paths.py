"""Where mzops keeps its state: everything lives under $MZOPS_HOME."""

from __future__ import annotations

import os
from pathlib import Path


def mzops_home() -> Path:
    home = os.environ.get("MZOPS_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "mzops"


def cache_dir() -> Path:
    """Machine-wide cache for large, rebuildable things (lab root filesystems)."""
    return Path(os.environ.get("MZOPS_CACHE", "/var/cache/mzops"))


# The Ansible playbooks and roles mzops runs (shipped with it, read in place).
PLAYBOOKS = Path(__file__).resolve().parent.parent / "playbooks"
