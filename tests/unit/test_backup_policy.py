"""The backup policy (backup/ beside the inventory): the sample loads, and each
mistake is one line naming the file, line and key."""

from __future__ import annotations

import shutil

import pytest

from conftest import REPO
from mzops.backup import policy
from mzops.errors import InputError
from mzops.inventory import loader


@pytest.fixture
def estate_and_policy(tmp_path, sample_inventory):
    shutil.copytree(REPO / "backup", tmp_path / "backup")
    return loader.load(sample_inventory), tmp_path / "backup"


def test_the_sample_policy_loads(estate_and_policy):
    estate, folder = estate_and_policy
    found = policy.load(folder, estate)
    assert found.pools["daily"].block_size == 1024 ** 2 and found.jobs["core-data"].levels.differential
    assert found.jobs["smc-system"].retention.restorable_days == 35
    assert found.pools["daily"].copy_to == "offsite" and found.libraries["primary-library"].spool.segment_size == 8 << 30
    assert found.jobs["core-pg"].kind == "database" and found.jobs["core-pg"].drill_host == "dr-db-01"


@pytest.mark.parametrize("file,old,new,message", [
    ("pools.yml", "block_size: 1MiB", "block_size: 100", r"pools.yml:\d+: pools.daily.block_size: .*multiple of 512"),
    ("pools.yml", "block_size: 1MiB", "block_size: lots", r"pools.daily.block_size: not a size: 'lots'"),
    ("jobs.yml", "pool: daily\n    levels: {full_every_days: 7}\n", "pool: weekly\n    levels: {full_every_days: 7}\n",
     r"jobs.yml:\d+: jobs.smc-system.pool: no pool 'weekly' in pools.yml"),
    ("libraries.yml", "drives: [/dev/nst0, /dev/nst1]", "drives: [/dev/st0]",
     r"libraries.primary-library.drives: .*non-rewinding device"),
    ("jobs.yml", "assets: [core-app-01]", "assets: [core-app-99]",
     r"jobs.yml:\d+: jobs.core-data.assets.0: 'core-app-99' is no asset or group"),
    ("jobs.yml", "assets: [core-app-01]", "assets: [core-pg-01]", r"core-pg-01 is a database: file jobs back up hosts"),
    ("jobs.yml", 'key: "vault:secret/mzops/backup/keys#core-data"', "key: hunter2",
     r"jobs.core-data.encryption.key: a reference to where the key lives"),
    ("jobs.yml", "    pool: daily\n    levels: {full_every_days: 7, differential: true}",
     "    pool: daily\n    levles: {full_every_days: 7}", r"jobs.core-data.levles: Extra inputs are not permitted"),
    ("jobs.yml", "paths: [/etc, /srv]", "paths: [etc]", r"jobs.core-data.paths: 'etc': an absolute path"),
    ("libraries.yml", "site: dr", "site: mars", r"libraries.dr-library.site: unknown site 'mars'"),
    ("pools.yml", "copy_to: offsite", "copy_to: daily",
     r"pools.yml:\d+: pools.daily.copy_to: 'daily' is in primary-library too: the copy goes to another library"),
    ("pools.yml", "copy_to: offsite", "copy_to: vault", r"pools.daily.copy_to: no pool 'vault'"),
    ("libraries.yml", "directory: /var/spool/mzops/backup", "directory: spool",
     r"libraries.yml:\d+: libraries.primary-library.spool.directory: 'spool': an absolute path"),
    ("jobs.yml", "assets: [core-pg-01]", "assets: [core-app-01]", r"jobs.core-pg.assets.0: core-app-01 is a host: "
     "a database job backs up databases"),
    ("jobs.yml", "assets: [core-pg-01]\n    pool", "assets: [core-pg-01]\n    paths: [/etc]\n    pool",
     r"jobs.yml:\d+: jobs.core-pg: a database job has no paths"),
    ("jobs.yml", "drill_host: dr-db-01", "drill_host: dr-pg-01", r"jobs.core-pg.drill_host: 'dr-pg-01' is no host"),
    ("jobs.yml", "drill_host: dr-db-01", "drill_host: dr-db-01\n    read_from: replica",
     r"jobs.yml:\d+: jobs.core-pg.read_from: Input should be 'standby' or 'primary'"),
    ("jobs.yml", "paths: [/etc, /srv]", "paths: [/etc, /srv]\n    read_from: primary",
     r"jobs.core-data: read_from is for database jobs"),
    ("jobs.yml", "assets: [core-pg-01]", "assets: [core-mysql-01]",
     r"jobs.core-pg.assets.0: core-mysql-01: mzops has no backup for database engine '\w+' yet"),
    ("libraries.yml", "segment_size: 8GiB", "segment_size: 64KiB",
     r"libraries.primary-library.spool.segment_size: '64KiB': a spool segment is at least 1MiB"),
    ("jobs.yml", "retention: {restorable_days: 35, monthly_fulls_years: 3}\n    encryption",
     "retention: {monthly_fulls_years: 3}\n    encryption", r"jobs.core-data.retention.restorable_days: Field required"),
])
def test_each_mistake_is_named_by_file_line_and_key(estate_and_policy, file, old, new, message):
    estate, folder = estate_and_policy
    path = folder / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError, match=message):
        policy.load(folder, estate)


def test_inventory_validate_checks_the_backup_policy(tmp_path, sample_inventory):
    from conftest import run_mzops

    shutil.copytree(REPO / "backup", tmp_path / "backup")
    proc = run_mzops("-i", str(sample_inventory), "inventory", "validate", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    jobs = tmp_path / "backup" / "jobs.yml"
    jobs.write_text(jobs.read_text().replace("pool: daily", "pool: nightly", 1))
    proc = run_mzops("-i", str(sample_inventory), "inventory", "validate", home=tmp_path / "home")
    assert proc.returncode == 2 and "jobs.smc-system.pool: no pool 'nightly'" in proc.stderr
