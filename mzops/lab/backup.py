"""The lab's backup layer (`lab up --backup`): a backup server at each site (labbk1 at the
primary site's management zone, labbk2 at the DR site's), each driving its site's
file-backed tape library, a backup policy for the lab's hosts, and the inventory as a
backup server sees it.

mzops runs as a backup server with `mzops lab server [--site dr] -- ARGS`: the same
program, inside that server's network namespace, so the clients' tar streams cross the
lab network from each client to the server, as they would in the estate; the server
has its own MZOPS_HOME (its catalogue, its run records). The copy job drives the DR
site's library from the primary server, as a backup server does when the DR site's
library sits on the metropolitan SAN; after a loss of the primary site, labbk2 rebuilds
its catalogue from the DR library's cartridges and restores from them.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import yaml

from mzops.backup.tape.filelibrary import FileLibrary
from mzops.lab import files, topology
from mzops.lab.topology import LabHost

SERVERS = {site: name for name, site, _ in topology.BACKUP_SERVERS}
PRIMARY_CARTRIDGES = [f"LAB{n:03d}L8" for n in range(1, 9)]
DR_CARTRIDGES = [f"OFF{n:03d}L8" for n in range(1, 5)]
CAPACITY = 4 * 1024 ** 3


def folder(lab_dir: Path) -> Path:
    return lab_dir / "backup"


def server_home(lab_dir: Path, site: str) -> Path:
    return folder(lab_dir) / "homes" / site


def server_inventory(lab_dir: Path) -> Path:
    return lab_dir / "server-inventory"


def prepare(hosts: list[LabHost], lab_dir: Path, inventory: Path) -> Path:
    """The libraries with their cartridges, the policy beside the lab inventory, the
    servers' homes and the inventory as the servers see it. The policy folder."""
    base = folder(lab_dir)
    for site, barcodes, drives in (("primary", PRIMARY_CARTRIDGES, 2), ("dr", DR_CARTRIDGES, 1)):
        library = FileLibrary.create(base / "libraries" / site, drives=drives, slots=10, ie=2)
        for slot, barcode in enumerate(barcodes, 1):
            library.add_cartridge(slot, barcode, capacity=CAPACITY)
        server_home(lab_dir, site).mkdir(parents=True, exist_ok=True)
    (base / "libraries.yml").write_text(_dump({"libraries": {
        "primary-library": {"site": "primary", "kind": "file", "path": str(base / "libraries" / "primary"),
                            "drives": 2, "slots": 10, "ie": 2,
                            "spool": {"directory": str(base / "spool"), "segment_size": "64MiB", "clients": 4}},
        "dr-library": {"site": "dr", "kind": "file", "path": str(base / "libraries" / "dr"),
                       "drives": 1, "slots": 10, "ie": 2}}}))
    (base / "pools.yml").write_text(_dump({"pools": {
        "daily": {"library": "primary-library", "label": "LAB{n:03d}L8", "block_size": "256KiB",
                  "copy_to": "offsite"},
        "offsite": {"library": "dr-library", "label": "OFF{n:03d}L8", "block_size": "256KiB"}}}))
    jobs = {"lab-system": {"assets": ["hosts"], "paths": ["/etc", "/root"], "pool": "daily",
                           "levels": {"full_every_days": 7}, "retention": {"restorable_days": 35}}}
    primary_db = next((h for h in hosts if h.databases and h.site == "primary"), None)
    dr_db = next((h for h in hosts if h.databases and h.site == "dr"), None)
    if primary_db is not None:         # its servers, restored and drilled on the DR site's database host
        for job, engine in (("lab-pg", "postgresql"), ("lab-mariadb", "mariadb")):
            jobs[job] = {"kind": "database", "assets": [f"{primary_db.name}-{files.LAB_DATABASES[engine][0]}"],
                         "pool": "daily", "levels": {"full_every_days": 7}, "retention": {"restorable_days": 35},
                         **({"drill_host": dr_db.name} if dr_db else {})}
    (base / "jobs.yml").write_text(_dump({"jobs": jobs}))
    if primary_db is not None and dr_db is not None:
        # each site's first core-zone host stands for the applications of the service
        apps = {site: next((h.name for h in hosts if h.site == site and h.zone == "core" and not h.databases
                            and not h.firewall and not h.backup), None) for site in ("primary", "dr")}
        (base / "dr").mkdir(exist_ok=True)
        for engine, name in (("postgresql", "lab-pg"), ("mariadb", "lab-mariadb")):
            (base / "dr" / f"{name}.yml").write_text(_dump({"plan": dr_plan(primary_db, dr_db, engine, apps)}))
    seen = server_inventory(lab_dir)
    shutil.rmtree(seen, ignore_errors=True)
    shutil.copytree(inventory, seen)
    config = lab_dir / "ssh" / "config-server"
    config.write_text(files.ssh_config([h for h in hosts if not h.backup], lab_dir, from_server=True))
    (lab_dir / "cms").mkdir(mode=0o700, exist_ok=True)
    hosts_yml = seen / "hosts.yml"
    hosts_yml.write_text(hosts_yml.read_text().replace(str(lab_dir / "ssh" / "config"), str(config)))
    return base


# The lab's replication password: an environment variable of the controller (tests and
# the demo set it), like any other credential reference; never written by the lab.
DR_PASSWORD_REFERENCE = "env:MZOPS_LAB_DR_PASSWORD"


# Each lab database engine's service: its name and its address on the shared segment.
SERVICES = {"postgresql": ("records", 10), "mariadb": ("accounts", 11)}


def dr_plan(primary_db: LabHost, dr_db: LabHost, engine: str = "postgresql",
            apps: dict[str, str | None] | None = None) -> dict:
    """A lab database pair as a DR plan: labdb1 (primary site) to labdb2 (DR site); it
    also points each site's application host at the new primary (an Ansible play) when
    the lab has one at both sites."""
    suffix = files.LAB_DATABASES[engine][0]
    service, octet = SERVICES[engine]
    address = topology.SERVICE_NETWORK.network_address + octet
    return {
        "service": f"lab {service}",
        "databases": [{"primary": f"{primary_db.name}-{suffix}", "standby": f"{dr_db.name}-{suffix}",
                       "mode": "asynchronous"}],
        "replication": {"account": "mzops_replication", "credentials": DR_PASSWORD_REFERENCE,
                        "wal_keep": "512MB"},
        "steps": [
            {"name": "preflight", "kind": "preflight", "group": 1, "timeout": 30},
            {"name": "fence", "kind": "fence", "group": 1, "after": ["preflight"], "timeout": 60,
             "confirm": f"Stop the lab {service} database at the primary site?"},
            {"name": "promote", "kind": "promote", "group": 2, "timeout": 60},
            {"name": "service-address", "kind": "address", "group": 3, "timeout": 30,
             "address": f"{address}/{topology.SERVICE_NETWORK.prefixlen}",
             "device": topology.SERVICE_DEVICE},
            *([{"name": "point-apps", "kind": "play", "group": 3, "after": ["service-address"], "timeout": 120,
                "playbook": "point-apps.yml", "hosts": dict(apps)}]
              if apps and all(apps.values()) else []),
            {"name": "smoke", "kind": "smoke", "group": 4, "timeout": 30},
            {"name": "notify", "kind": "notify", "group": 5, "timeout": 15},
        ],
    }


def server_command(lab_dir: Path, site: str, args: list[str]) -> tuple[list[str], dict]:
    """argv and environment of mzops run as the backup server of SITE."""
    name = SERVERS[site]
    argv = ["nsenter", f"--net=/run/netns/{topology.NETNS_PREFIX}{name}", sys.executable, "-m", "mzops",
            "-i", str(server_inventory(lab_dir)), *args]
    return argv, {**os.environ, "MZOPS_HOME": str(server_home(lab_dir, site))}


def _dump(data: dict) -> str:
    return "# Generated by `mzops lab up --backup`; removed by `mzops lab down`.\n" + yaml.safe_dump(
        data, sort_keys=False)
