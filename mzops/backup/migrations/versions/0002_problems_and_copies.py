"""Volumes say why they are written no more (a write error); runs have copies on a
second library (the copy job to the DR site); a run's key names its job too
(RUNID/JOB/ASSET: two jobs on one asset in one run), so keys are longer; and the
per-file rows shrink (a full has millions): a SHA-256 as its 32 bytes, a name's bytes
only when they are not the path's UTF-8, snapshot files deflated; each file's offset in
its stream (a single file is restored by spacing to it); sizes are 64-bit (PostgreSQL's
INTEGER ends at 2 GiB).

Revision ID: 0002
"""

import zlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(sa.Column("problem", sa.String(256), nullable=False, server_default=""))
    op.create_table(
        "copies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_key", sa.String(256), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("library", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("volume", sa.String(32), sa.ForeignKey("volumes.barcode"), nullable=False, index=True),
        sa.Column("tape_file", sa.Integer, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("copied", sa.String(32), nullable=False),
    )


    # on SQLite each batch copies the table (the migration runs with foreign keys off)
    for table, columns in (("runs", ("id", "parent")), ("parts", ("run_key",)), ("files", ("run_key",)),
                           ("verifications", ("run_key",))):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(256), existing_type=sa.String(64))
    with op.batch_alter_table("files") as batch:
        batch.alter_column("raw", nullable=True, existing_type=sa.LargeBinary)
        batch.alter_column("sha256", type_=sa.LargeBinary, existing_type=sa.String(64))
        batch.add_column(sa.Column("offset", sa.BigInteger, nullable=True))
    for table, columns in (("volumes", ("bytes",)), ("runs", ("bytes",)), ("parts", ("bytes",)),
                           ("files", ("size", "mtime"))):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.BigInteger, existing_type=sa.Integer)
    bind = op.get_bind()
    files = sa.table("files", sa.column("id", sa.Integer), sa.column("path", sa.String),
                     sa.column("raw", sa.LargeBinary), sa.column("sha256", sa.LargeBinary))
    rows = bind.execute(sa.select(files.c.id, files.c.path, files.c.raw, files.c.sha256)).all()
    for start in range(0, len(rows), 10_000):
        bind.execute(files.update().where(files.c.id == sa.bindparam("key")).values(
            raw=sa.bindparam("new_raw"), sha256=sa.bindparam("digest")), [
            {"key": r.id, "new_raw": None if r.raw == r.path.encode() else r.raw,
             "digest": bytes.fromhex(r.sha256.decode() if isinstance(r.sha256, bytes) else r.sha256)
             if r.sha256 else b""} for r in rows[start:start + 10_000]])
    runs = sa.table("runs", sa.column("id", sa.String), sa.column("snapshot", sa.LargeBinary))
    for r in bind.execute(sa.select(runs.c.id, runs.c.snapshot)).all():
        bind.execute(runs.update().where(runs.c.id == r.id).values(snapshot=zlib.compress(bytes(r.snapshot), 1)))


def downgrade() -> None:
    op.drop_table("copies")
    with op.batch_alter_table("volumes") as batch:
        batch.drop_column("problem")
