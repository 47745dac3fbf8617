"""NAPALM community-style entry point: napalm.get_network_driver("hillstone_stoneos")."""
from mzops.firewall.drivers import HillstoneStoneOSDriver

__all__ = ["HillstoneStoneOSDriver"]
