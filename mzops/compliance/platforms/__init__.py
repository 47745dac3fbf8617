"""Platforms, decided from /etc/os-release; one module per distribution line.

A platform module declares what differs between distributions (PAM file names, the
package manager, package names) so rules never test `if distro == ...`.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Platform:
    name: str                           # debian, rhel, openeuler, kylin, uos
    matches: tuple[str, ...]            # os-release IDs this platform claims
    # PAM services whose stacks carry the password / auth phases for logins.
    password_stacks: tuple[str, ...] = ()
    auth_stacks: tuple[str, ...] = ()
    # Names a package has on this platform, keyed by a neutral name.
    package_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()       # other names rules may use (e.g. "rhel" for openEuler)
    kind: str = "linux"                 # what the baseline's rules run on: linux, postgresql, mysql

    @property
    def names(self) -> set[str]:
        return {self.name, self.kind, *self.aliases}

    def packages(self, neutral: str) -> tuple[str, ...]:
        return self.package_names.get(neutral, (neutral,))


PLATFORMS: list[Platform] = []
_discovered = False


def register(platform: Platform) -> Platform:
    PLATFORMS.append(platform)
    return platform


UNKNOWN = Platform("unknown", ())

# Database servers' platforms are their engines' (mzops.engines): the flavour decides,
# from the server's own version string, not the host's distribution.


def firewall(vendor: str) -> Platform:
    """A firewall's platform: its vendor module's name, of kind firewall."""
    return Platform(vendor, (), kind="firewall")


def detect(os_release: dict[str, str]) -> Platform:
    """ID first (kylin is also ID_LIKE rhel or debian), then ID_LIKE in order."""
    global _discovered
    if not _discovered:  # all platform modules, even if one was imported directly before
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")
        _discovered = True
    ids = [os_release.get("ID", "").lower()] + os_release.get("ID_LIKE", "").lower().split()
    for candidate in ids:
        for platform in PLATFORMS:
            if candidate in platform.matches:
                return platform
    return UNKNOWN
