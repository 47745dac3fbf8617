"""The backup catalogue: volumes, runs (one job on one asset at one level), the parts of
each run's stream on tape, and every archived file with its SHA-256.

SQLite at $MZOPS_HOME/backup/catalogue.sqlite by default (nothing to install), any
SQLAlchemy URL for a larger estate (postgresql+psycopg://...). A run is written in one
transaction when its stream is on tape and its snapshot committed: a job killed
midway leaves no half run. The tape's manifests hold the same facts, so the catalogue
can be rebuilt from the volumes alone.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import zlib
from pathlib import Path

from sqlalchemy import (BigInteger, Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, TypeDecorator,
                        create_engine, event, func, inspect, or_, select)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from mzops import paths
from mzops.errors import OperationFailed

GZIP_MAGIC = b"\x1f\x8b"


def gzipped(data: bytes) -> bytes:
    return zlib.compress(data, 1, wbits=31)


class Base(DeclarativeBase):
    pass


class Digest(TypeDecorator):
    """A SHA-256 kept as its 32 bytes, given as hex (a full has millions of them)."""
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return bytes.fromhex(value) if value else b""

    def process_result_value(self, value, dialect):
        return bytes(value).hex() if value else ""


class Meta(Base):
    """Facts about the catalogue itself (schema 1 kept its version here; Alembic's
    alembic_version table does since)."""
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Volume(Base):
    __tablename__ = "volumes"
    barcode: Mapped[str] = mapped_column(String(32), primary_key=True)
    pool: Mapped[str] = mapped_column(String(64))
    library: Mapped[str] = mapped_column(String(64))
    labelled_at: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="append")      # append | full | recycled | error
    location: Mapped[str] = mapped_column(String(128), default="")       # "primary-library slot 3", "dr vault"
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    problem: Mapped[str] = mapped_column(String(256), default="", server_default="")  # why state is error


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(256), primary_key=True)       # RUNID/JOB/ASSET
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    asset: Mapped[str] = mapped_column(String(128), index=True)
    level: Mapped[int] = mapped_column(Integer)
    parent: Mapped[str | None] = mapped_column(String(256), nullable=True)  # the run this level is based on
    started: Mapped[str] = mapped_column(String(32))
    finished: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # GNU tar's snapshot file after the run, gzipped as the asset sent it and as a manifest
    # carries it (rows written before 2026-12: zlib-deflated); it names every file, so it is
    # loaded only when asked (`snapshot_of`, `snapshot_packed`)
    snapshot_gz: Mapped[bytes] = mapped_column("snapshot", LargeBinary, deferred=True)
    encryption: Mapped[str] = mapped_column(String(256), default="")     # the key's reference ("": plain)
    # files: a GNU tar level; full: a database engine's full backup; log: its archived logs
    kind: Mapped[str] = mapped_column(String(8), default="files", server_default="files")
    # what the engine said of a full or a log collection (positions, settings): JSON
    facts: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    parts: Mapped[list["Part"]] = relationship(back_populates="run", order_by="Part.number",
                                               cascade="all, delete-orphan")
    files: Mapped[list["File"]] = relationship(back_populates="run", cascade="all, delete-orphan")
    copies: Mapped[list["CopyPart"]] = relationship(back_populates="run", order_by="CopyPart.number",
                                                    cascade="all, delete-orphan")


class Part(Base):
    __tablename__ = "parts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_key: Mapped[str] = mapped_column(String(256), ForeignKey("runs.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    volume: Mapped[str] = mapped_column(ForeignKey("volumes.barcode"), index=True)
    tape_file: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    run: Mapped[Run] = relationship(back_populates="parts")


class CopyPart(Base):
    """A part of a run's stream as the copy job wrote it on a second library's volume."""
    __tablename__ = "copies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_key: Mapped[str] = mapped_column(String(256), ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    library: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    volume: Mapped[str] = mapped_column(ForeignKey("volumes.barcode"), index=True)
    tape_file: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    copied: Mapped[str] = mapped_column(String(32))
    run: Mapped[Run] = relationship(back_populates="copies")


class File(Base):
    __tablename__ = "files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_key: Mapped[str] = mapped_column(String(256), ForeignKey("runs.id"), index=True)
    path: Mapped[str] = mapped_column(String(4096))                      # for people: undecodable bytes as \xNN
    # the name's bytes as the file system has them, kept only when they are not the path's UTF-8
    raw_name: Mapped[bytes | None] = mapped_column("raw", LargeBinary, nullable=True)
    kind: Mapped[str] = mapped_column(String(8))                         # file | dir | link | hard | other
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Digest, default="")
    offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # of its header in the stream
    run: Mapped[Run] = relationship(back_populates="files")

    @property
    def raw(self) -> bytes:
        return self.raw_name if self.raw_name is not None else self.path.encode()

    @staticmethod
    def row(raw: bytes, **fields) -> dict:
        """A row for a bulk insert of files named RAW."""
        path = display(raw)
        return {"path": path, "raw_name": None if path.encode() == raw else raw, **fields}


class Verification(Base):
    """A read-back of a run: when, and what was found (nothing: every checksum matched)."""
    __tablename__ = "verifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_key: Mapped[str] = mapped_column(String(256), ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    at: Mapped[str] = mapped_column(String(32))
    problems: Mapped[str] = mapped_column(String(4096), default="")


class Drill(Base):
    """A restore drill: what was restored where, what the check found, how long it took
    (GB/T 22239-2019 8.1.4.9 a): restores are proven, not promised)."""
    __tablename__ = "drills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    asset: Mapped[str] = mapped_column(String(128), index=True)
    point: Mapped[str] = mapped_column(String(256))                   # the run, or the moment, restored
    host: Mapped[str] = mapped_column(String(128), default="")        # where (empty: the backup server)
    started: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float] = mapped_column(Float)                     # the whole restore and its check
    first_byte_seconds: Mapped[float] = mapped_column(Float)          # until the first byte came off tape
    passed: Mapped[bool] = mapped_column(Boolean)
    checked: Mapped[str] = mapped_column(String(256), default="")     # what was compared ("412 files")
    problems: Mapped[str] = mapped_column(Text, default="")


def display(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def url_of(home: Path | None = None) -> str:
    folder = (home or paths.mzops_home()) / "backup"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'catalogue.sqlite'}"


class OutdatedSchema(OperationFailed):
    """The catalogue was made by an older mzops: `mzops backup catalog upgrade` first."""


def _alembic(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    return config


def _revision(connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


class Catalogue:
    def __init__(self, url: str | None = None, upgrading: bool = False):
        """Open (or create) the catalogue at URL. One made by an older mzops is refused
        until `upgrade()` (UPGRADING: opened for it); one made by a newer mzops is refused."""
        self.engine = create_engine(url or url_of())
        if self.engine.dialect.name == "sqlite":
            @event.listens_for(self.engine, "connect")
            def _pragmas(connection, _record):     # noqa: ANN001 - SQLAlchemy's signature
                cursor = connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=30000")     # drives in parallel write runs at once
                cursor.close()
        current, head = self.revisions()
        if current is None:
            self._create()
        elif current != head and not upgrading:
            raise OutdatedSchema(f"{self.where()}: the catalogue's schema is revision {current}, this mzops "
                                 f"needs {head}: run `mzops backup catalog upgrade` (it keeps a copy first)")

    def where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def revisions(self) -> tuple[str | None, str]:
        """(the catalogue's schema revision, or None when it is empty; this mzops's).
        A catalogue of before the migrations (a `meta` table, no alembic_version) is 0001."""
        from alembic.script import ScriptDirectory

        with self.engine.connect() as connection:
            script = ScriptDirectory.from_config(_alembic(connection))
            head = script.get_current_head()
            current = _revision(connection)
            tables = inspect(connection).get_table_names()
        if current is None and "runs" in tables:
            current = "0001"
        if current is not None and current not in {r.revision for r in script.walk_revisions()}:
            raise OperationFailed(f"{self.where()}: the catalogue's schema revision {current} is newer than "
                                  f"this mzops knows (its newest is {head}): use the mzops that wrote it")
        return current, head

    def _create(self) -> None:
        from alembic import command

        with self.engine.begin() as connection:
            Base.metadata.create_all(connection)
            command.stamp(_alembic(connection), "head")

    def upgrade(self) -> tuple[str, str, str | None]:
        """Migrate the schema to this mzops's: (from, to, the copy kept first, for SQLite)."""
        from alembic import command

        current, head = self.revisions()
        if current is None:
            self._create()
            return head, head, None
        if current == head:
            return current, head, None
        kept = None
        if self.engine.dialect.name == "sqlite" and self.engine.url.database:
            kept = f"{self.engine.url.database}.before-{head}"
            source = sqlite3.connect(self.engine.url.database)
            with sqlite3.connect(kept) as copy:
                source.backup(copy)
            source.close()
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "sqlite":
                # a table copied by a batch migration is dropped: no cascade, no check, meanwhile
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            with connection.begin():
                if _revision(connection) is None:
                    command.stamp(_alembic(connection), "0001")
                command.upgrade(_alembic(connection), "head")
                if self.engine.dialect.name == "sqlite":
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise OperationFailed(f"{self.where()}: the upgraded catalogue has {len(broken)} rows "
                                              f"whose references are broken (first: {broken[0]}): not upgraded")
            if self.engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
        return current, head, kept

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -------------------------------------------------------------- queries

    def chain(self, job: str, asset: str, at: str | None = None, run: str | None = None) -> list[Run]:
        """The runs a restore to time AT (default: the latest), or to run RUN, needs, full first."""
        with self.session() as session:
            query = select(Run).where(Run.job == job, Run.asset == asset).order_by(Run.finished)
            until = dt.datetime.fromisoformat(at) if at is not None else None
            runs = [r for r in session.scalars(query) if until is None or dt.datetime.fromisoformat(r.finished) <= until]
            if run is not None:
                ids = [r.id for r in runs]
                runs = runs[:ids.index(run) + 1] if run in ids else []
            for r in runs:
                _ = r.parts, r.copies      # loaded before the session closes (files: `files_of`)
        if not runs:
            return []
        by_key = {r.id: r for r in runs}
        out, current = [], runs[-1]
        while current is not None:
            out.append(current)
            current = by_key.get(current.parent) if current.parent else None
        out.reverse()
        if out[0].level != 0:
            raise LookupError(f"{asset}: the chain of {job} to {out[-1].finished} lacks its full "
                              f"(run {out[0].parent})")
        return out

    def last(self, job: str, asset: str) -> Run | None:
        with self.session() as session:
            return session.scalars(select(Run).where(Run.job == job, Run.asset == asset)
                                   .order_by(Run.finished.desc()).limit(1)).first()

    def listing(self, asset: str | None = None) -> list[dict]:
        """Every catalogued run (of ASSET), oldest first, as `backup list` shows it."""
        with self.session() as session:
            query = select(Run).order_by(Run.finished)
            if asset:
                query = query.where(Run.asset == asset)
            counts = dict(session.execute(select(File.run_key, func.count()).group_by(File.run_key)).all())
            return [{"id": r.id, "job": r.job, "asset": r.asset, "kind": r.kind, "level": r.level,
                     "finished": r.finished,
                     "bytes": r.bytes, "files": counts.get(r.id, 0), "volumes": sorted({p.volume for p in r.parts})}
                    for r in session.scalars(query)]

    def add_files(self, session: Session, run_key: str, files: list[dict]) -> None:
        """The run's files (File.row dicts) in one executemany of the database driver: a
        full has millions, and SQLAlchemy's per-row parameter processing would take longer
        than reading the stream (the values are bound as Digest and File.row make them)."""
        columns = ("run_key", "path", "raw", "kind", "size", "mtime", "sha256", "offset")
        style = self.engine.dialect.paramstyle
        marks = ", ".join("?" if style == "qmark" else "%s" for _ in columns)
        quoted = ", ".join(self.engine.dialect.identifier_preparer.quote(c) for c in columns)
        session.connection().exec_driver_sql(
            f"INSERT INTO files ({quoted}) VALUES ({marks})",
            [(run_key, f["path"], f["raw_name"], f["kind"], f["size"], f["mtime"],
              bytes.fromhex(f["sha256"]) if f["sha256"] else b"", f["offset"]) for f in files])

    def snapshot_of(self, run_key: str) -> bytes | None:
        """The run's snapshot file (b"" for a run of no files, None for no such run)."""
        with self.session() as session:
            stored = session.scalar(select(Run.snapshot_gz).where(Run.id == run_key))
        return None if stored is None else zlib.decompress(stored, wbits=47) if stored else b""   # 47: either header

    def snapshot_packed(self, session: Session, run_key: str) -> bytes:
        """The run's snapshot gzipped, as stored: a manifest takes it without inflating and
        deflating again a snapshot that names a million files."""
        stored = bytes(session.scalar(select(Run.snapshot_gz).where(Run.id == run_key)) or b"")
        return stored if stored[:2] == GZIP_MAGIC else gzipped(zlib.decompress(stored) if stored else b"")

    def holds(self, run_key: str, name: str) -> bool:
        """Whether the run's stream has NAME (a member path) or anything under it."""
        with self.session() as session:
            query = select(File.id).where(File.run_key == run_key, or_(
                File.path == name, File.path.startswith(name + "/", autoescape=True))).limit(1)
            return session.scalar(query) is not None

    def member_span(self, run_key: str, name: str) -> tuple[int, int | None, str] | None:
        """Where file NAME's members are in the run's stream: (from, to or None for the end,
        its SHA-256), when NAME is one file of the run and its offset is known."""
        with self.session() as session:
            found = session.scalars(select(File).where(File.run_key == run_key, File.path == name,
                                                       File.kind == "file").limit(2)).all()
            if len(found) != 1 or found[0].offset is None:
                return None
            following = session.scalar(select(File.offset).where(File.run_key == run_key, File.id > found[0].id)
                                       .order_by(File.id).limit(1))
            return found[0].offset, following, found[0].sha256

    def files_of(self, run_key: str) -> list[File]:
        """The archived files of one run (a full has millions: never loaded with the chain)."""
        with self.session() as session:
            return list(session.scalars(select(File).where(File.run_key == run_key)))

    def volumes(self, pool: str | None = None) -> list[Volume]:
        with self.session() as session:
            query = select(Volume).order_by(Volume.barcode)
            if pool:
                query = query.where(Volume.pool == pool)
            return list(session.scalars(query))


def utcnow() -> str:
    """A run's times: microseconds, so runs of one job on one asset always sort apart."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def rebuild(catalogue: "Catalogue", manifests: dict[str, list[dict]], labels: dict[str, dict], library: str) -> dict:
    """Fill an empty catalogue from what the volumes say: their labels, and the
    manifests on them. A run is the same in every manifest that lists it, except for its
    copies (a manifest written before the copy job lacks them): those are gathered from
    all. Counts of what was restored."""
    import base64
    import json

    with catalogue.session() as session:
        if session.scalars(select(Run).limit(1)).first() is not None:
            raise ValueError("the catalogue is not empty: rebuild into a fresh one (move the old one away)")
    runs: dict[str, dict] = {}
    copies: dict[str, dict] = {}                # run -> (volume, file) -> copied part
    for barcode in sorted(manifests):
        for found in manifests[barcode]:
            for run in found.get("runs", []):
                runs.setdefault(run["id"], run)
                for c in run.get("copies", []):     # a manifest written before the copy lacks it
                    copies.setdefault(run["id"], {})[(c["volume"], c["file"])] = c
    continued = {(p["volume"]) for r in runs.values() for p in r["parts"]
                 if any(q["number"] == p["number"] + 1 for q in r["parts"])}
    with catalogue.session() as session, session.begin():
        for barcode, label in sorted(labels.items()):
            session.add(Volume(barcode=barcode, pool=label.get("pool", ""), library=library,
                               labelled_at=label.get("labelled", ""), location=f"{library}",
                               state="full" if barcode in continued else "append",
                               bytes=sum(p["bytes"] for r in runs.values() for p in r["parts"]
                                         if p["volume"] == barcode)))
        for run in runs.values():
            copied = sorted(copies.get(run["id"], {}).values(), key=lambda c: c["number"])
            for barcode in dict.fromkeys(p["volume"] for p in run["parts"] + copied if p["volume"] not in labels):
                session.add(Volume(barcode=barcode, pool="", library="", labelled_at="", state="full",
                                   location="named by a manifest, not read in the rebuild"))
                labels[barcode] = {}
            session.add(Run(id=run["id"], run_id=run["run_id"], job=run["job"], asset=run["asset"],
                            level=run["level"], parent=run["parent"], started=run["started"],
                            finished=run["finished"], bytes=run["bytes"], sha256=run["sha256"],
                            snapshot_gz=(base64.b64decode(run["snapshot_gz"]) if "snapshot_gz" in run
                                         else gzipped(base64.b64decode(run["snapshot"]))),
                            encryption=run.get("encryption", ""),
                            kind=run.get("kind", "files"), facts=json.dumps(run.get("facts", {})),
                            parts=[Part(number=p["number"], volume=p["volume"], tape_file=p["file"], bytes=p["bytes"],
                                        sha256=p["sha256"]) for p in run["parts"]],
                            files=[File(**File.row(base64.b64decode(f["raw"]) if "raw" in f else f["path"].encode(),
                                                   kind=f["kind"], size=f["size"], mtime=f["mtime"],
                                                   sha256=f["sha256"], offset=f.get("offset")))
                                   for f in run["files"]],
                            copies=[CopyPart(library=c["library"], number=c["number"], volume=c["volume"],
                                             tape_file=c["file"], bytes=c["bytes"], sha256=c["sha256"],
                                             copied=c["copied"]) for c in copied]))
    return {"volumes": len(labels), "runs": len(runs),
            "files": sum(len(r["files"]) for r in runs.values())}
