"""MySQL 8: MariaDB's contract with its own client; the queries already carry both
flavours' variants (mysql.user / performance_schema, validate_password components)."""

from __future__ import annotations

from mzops.engines.mariadb import MariaDB


class MySQL(MariaDB):
    name = "mysql"
    client = "mysql"


ENGINE = MySQL()
