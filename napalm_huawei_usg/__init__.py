"""NAPALM community-style entry point: napalm.get_network_driver("huawei_usg")."""
from mzops.firewall.drivers import HuaweiUSGDriver

__all__ = ["HuaweiUSGDriver"]
