import ipaddress

import pytest

from mzops.lab import topology


def test_hosts_spread_over_sites_and_zones():
    hosts = topology.plan(9)
    assert {h.site for h in hosts} == {"primary", "dr"}
    assert {h.zone for h in hosts if h.site == "primary"} == set(topology.ZONES)
    assert len({h.address for h in hosts}) == 9


def test_addresses_sit_in_their_segment_and_the_lab_subnet():
    hosts = topology.plan(40, databases=True)
    for host in hosts:
        address = ipaddress.ip_address(host.address)
        assert address in host.segment.network
        assert address in topology.SUBNET
        assert host.address != host.segment.gateway
    # primary and DR never share a segment: the link between sites can be cut.
    primary = {h.segment.network for h in hosts if h.site == "primary"}
    dr = {h.segment.network for h in hosts if h.site == "dr"}
    assert primary.isdisjoint(dr)
    assert len({h.address for h in hosts}) == len(hosts)


def test_database_hosts_one_per_site():
    dbs = [h for h in topology.plan(2, databases=True) if h.databases]
    assert [(h.name, h.site, h.zone) for h in dbs] == [("labdb1", "primary", "core"), ("labdb2", "dr", "core")]


def test_interface_names_fit_the_kernel_limit():
    for host in topology.plan(topology.MAX_HOSTS, databases=True):
        assert len(f"v-{host.name}") <= 15
        assert len(host.segment.bridge) <= 15


@pytest.mark.parametrize("count", [0, topology.MAX_HOSTS + 1])
def test_host_count_is_bounded(count):
    with pytest.raises(ValueError):
        topology.plan(count)


def test_backup_servers_one_per_site_in_the_management_zone_and_not_in_the_inventory(tmp_path):
    from mzops.lab import files
    hosts = topology.plan(3, backup=True)
    servers = [(h.name, h.site, h.zone) for h in hosts if h.backup]
    assert servers == [("labbk1", "primary", "smc"), ("labbk2", "dr", "smc")]
    assert len({h.address for h in hosts}) == len(hosts)
    inventory = files.inventory(hosts, tmp_path)["hosts.yml"]
    assert "labbk" not in inventory and "lab01" in inventory
    # as a server sees the lab: no relay through the control namespace, control sockets of its own
    seen = files.ssh_config(hosts, tmp_path, from_server=True)
    assert "ProxyCommand" not in seen and f'ControlPath "{tmp_path / "cms"}/%C"' in seen
    assert "ProxyCommand" in files.ssh_config(hosts, tmp_path)
