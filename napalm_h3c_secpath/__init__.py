"""NAPALM community-style entry point: napalm.get_network_driver("h3c_secpath")."""
from mzops.firewall.drivers import H3CSecPathDriver

__all__ = ["H3CSecPathDriver"]
