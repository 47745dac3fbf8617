"""Alembic's environment for the catalogue: the connection is the Catalogue's own."""

from alembic import context

connection = context.config.attributes["connection"]
# batch mode: SQLite alters a table by copying it, which Alembic's batch operations do
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
