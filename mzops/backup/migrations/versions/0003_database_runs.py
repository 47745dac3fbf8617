"""Runs of database jobs: a run's kind (a file level, a database full, a collection of
archived logs) and the facts its engine gave (log positions, settings a restore needs);
restore drills and what they found.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="files"))
        batch.add_column(sa.Column("facts", sa.Text, nullable=False, server_default="{}"))
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(64), nullable=False, index=True),
        sa.Column("asset", sa.String(128), nullable=False, index=True),
        sa.Column("point", sa.String(256), nullable=False),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("started", sa.String(32), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("first_byte_seconds", sa.Float, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("checked", sa.String(256), nullable=False),
        sa.Column("problems", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("drills")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("facts")
        batch.drop_column("kind")
