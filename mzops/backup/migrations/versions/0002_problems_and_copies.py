"""Volumes say why they are written no more (a write error); runs have copies on a
second library (the copy job to the DR site); a run's key names its job too
(RUNID/JOB/ASSET: two jobs on one asset in one run), so keys are longer.

Revision ID: 0002
"""

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
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("copied", sa.String(32), nullable=False),
    )


    # on SQLite each batch copies the table (the migration runs with foreign keys off)
    for table, columns in (("runs", ("id", "parent")), ("parts", ("run_key",)), ("files", ("run_key",)),
                           ("verifications", ("run_key",))):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(256), existing_type=sa.String(64))


def downgrade() -> None:
    op.drop_table("copies")
    with op.batch_alter_table("volumes") as batch:
        batch.drop_column("problem")
