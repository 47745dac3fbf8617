"""The catalogue's schema migrations (Alembic): a catalogue an older mzops made is
refused with the command that upgrades it, upgraded in place with a copy kept first and
its rows intact, and ends with exactly the schema a new catalogue has (Alembic's own
comparison of the database with the models); one from a newer mzops is refused."""

from __future__ import annotations

import gzip
import sqlite3

import pytest
from sqlalchemy import select

from conftest import REPO
from mzops.backup.catalogue import Catalogue, OutdatedSchema, Run, _alembic
from mzops.errors import OperationFailed

SCHEMA_1 = REPO / "tests" / "fixtures" / "catalogue" / "schema-1.sql"


def old_catalogue(path):
    with sqlite3.connect(path) as con:
        con.executescript(SCHEMA_1.read_text())
    return f"sqlite:///{path}"


def schema_differences(catalogue: Catalogue) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mzops.backup.catalogue import Base
    with catalogue.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_a_new_catalogue_is_at_the_newest_revision_and_matches_the_models(tmp_path):
    catalogue = Catalogue(f"sqlite:///{tmp_path}/c.sqlite")
    current, head = catalogue.revisions()
    assert current == head == "0003"
    assert schema_differences(catalogue) == []


def test_an_older_catalogue_is_refused_until_upgraded_and_keeps_its_rows(tmp_path):
    url = old_catalogue(tmp_path / "c.sqlite")
    with pytest.raises(OutdatedSchema, match=r"revision 0001, this mzops needs 0003: run `mzops backup catalog "
                                             r"upgrade`"):
        Catalogue(url)
    before, after, kept = Catalogue(url, upgrading=True).upgrade()
    assert (before, after, kept) == ("0001", "0003", f"{tmp_path}/c.sqlite.before-0003")
    with sqlite3.connect(kept) as copy:           # the copy is the old catalogue, untouched
        assert copy.execute("select count(*) from runs").fetchone() == (1,)
        assert "problem" not in {row[1] for row in copy.execute("pragma table_info(volumes)")}
    catalogue = Catalogue(url)
    assert schema_differences(catalogue) == []
    with catalogue.session() as session:
        run = session.scalars(select(Run)).one()
        assert (run.id, run.level, [p.volume for p in run.parts], run.copies) == ("r1/h", 0, ["V001"], [])
        assert (run.kind, run.facts) == ("files", "{}")                  # 0003: every older run was of files
        assert run.sha256 == "ab" * 32
    assert catalogue.snapshot_of("r1/h").startswith(b"GNU tar-1.34-2\n")     # zlib-deflated by schema 1: inflated
    with catalogue.session() as session:                                      # ... and gzipped for a manifest
        assert gzip.decompress(catalogue.snapshot_packed(session, "r1/h")) == catalogue.snapshot_of("r1/h")
    assert [(v.barcode, v.state, v.problem) for v in catalogue.volumes()] == [("V001", "append", "")]
    files = {f.path: f for f in catalogue.files_of("r1/h")}
    assert files["srv/a.txt"].raw_name is None and files["srv/a.txt"].raw == b"srv/a.txt"     # kept once
    assert files["srv/\\xff\\xfe.bin"].raw == b"srv/\xff\xfe.bin"                         # not UTF-8: kept
    assert files["srv/a.txt"].sha256 == "ef" * 32
    with sqlite3.connect(tmp_path / "c.sqlite") as db:            # as 32 bytes, not 64 hex characters
        assert db.execute("select length(sha256) from files").fetchall() == [(32,), (32,)]
    assert Catalogue(url, upgrading=True).upgrade() == ("0003", "0003", None)      # twice: nothing to do


def test_a_catalogue_from_a_newer_mzops_is_refused(tmp_path):
    catalogue = Catalogue(f"sqlite:///{tmp_path}/c.sqlite")
    with catalogue.engine.begin() as connection:
        from alembic import command
        command.stamp(_alembic(connection), "0002")
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(OperationFailed, match="schema revision 0099 is newer than this mzops knows"):
        Catalogue(f"sqlite:///{tmp_path}/c.sqlite")


def test_the_cli_upgrades_the_catalogue(tmp_path, sample_inventory):
    from conftest import run_mzops
    home = tmp_path / "home"
    (home / "backup").mkdir(parents=True)
    old_catalogue(home / "backup" / "catalogue.sqlite")
    refused = run_mzops("-i", str(sample_inventory), "backup", "list", home=home)
    assert refused.returncode != 0 and "mzops backup catalog upgrade" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    done = run_mzops("-i", str(sample_inventory), "backup", "catalog", "upgrade", home=home)
    assert done.returncode == 0, done.stderr
    assert "from schema revision 0001 to 0003" in done.stderr + done.stdout
    assert run_mzops("-i", str(sample_inventory), "backup", "list", home=home).returncode == 0
