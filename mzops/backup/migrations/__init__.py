"""The catalogue's schema migrations (Alembic), applied by `mzops backup catalog upgrade`."""
