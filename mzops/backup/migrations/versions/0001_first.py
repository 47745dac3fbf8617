"""The first catalogue schema (mzops's `schema 1`: volumes, runs, parts, files,
verifications, meta), as SQLAlchemy's create_all made it before migrations existed.

Revision ID: 0001
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing: catalogues of schema 1 are stamped with this revision when first upgraded."""


def downgrade() -> None:
    raise NotImplementedError("the first schema has nothing below it")
