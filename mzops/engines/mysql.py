"""MySQL 8: MariaDB's contract with its own client; the queries already carry both
flavours' variants (mysql.user / performance_schema, validate_password components)."""

from __future__ import annotations

from mzops.engines.mariadb import MariaDB


class MySQL(MariaDB):
    name = "mysql"
    client = "mysql"
    # MySQL 8's backups are Percona XtraBackup's or MySQL Enterprise Backup's, not
    # mariabackup's: none yet (a backup job for it is refused when the policy loads).
    backup_facts = full_backup = log_backup = restore_start = table_sums = copy_check = restore_remove = None
    backup_account = None
    in_place_prepare = in_place_start = in_place_undo = None
    # Nor MariaDB's replication (MySQL 8: CHANGE REPLICATION SOURCE, its own GTIDs): a DR
    # plan naming it is refused when it loads.
    replication_facts = protect = standby_build = server_stop = server_start = promote = rejoin = None
    write_probe = drill_copy = seed_source = seed_receive = None


ENGINE = MySQL()
