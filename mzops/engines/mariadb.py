"""MariaDB (and, through its subclass in mysql.py, MySQL 8): catalogue queries for both
flavours, their parsers, the protocol reader, accounts, locks and the SQL that puts a
hardening run's catalogue changes back.

The two keep users and variables in different catalogues: both variants run, the one
the server does not have comes back as an error section. Rows come tab-separated, as
`mariadb -NB` prints them.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import re
import ssl
from collections import defaultdict
from dataclasses import dataclass

from mzops.accounts import Account
from mzops.bundle import Bundle, Section
from mzops.facts import Facts
from mzops.compliance.platforms import Platform
from mzops.engines.base import DatabaseError, Engine, LockPlan, Setting, sections_text
from mzops.paths import PLAYBOOKS

MARIADB = Platform("mariadb", (), kind="mysql")
MYSQL = Platform("mysql", (), kind="mysql")
_FILES = PLAYBOOKS / "roles" / "mlps3_mysql" / "files"
SOCKET_PLUGINS = ("unix_socket", "auth_socket")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
PRIVILEGES = ("Super", "Grant", "File", "Shutdown", "Process")


@dataclass(frozen=True)
class MyUser:
    user: str
    host: str
    plugins: tuple[str, ...]
    empty_password: bool
    lifetime: str
    locked: bool
    role: bool
    privileges: dict[str, bool]
    failed_attempts: str
    lock_days: str
    password_changed: str = ""     # epoch seconds, '' when the server keeps none
    password_expired: bool = False

    @property
    def account(self) -> str:
        return f"{self.user}@{self.host}"

    @property
    def socket_only(self) -> bool:
        return bool(self.plugins) and all(p in SOCKET_PLUGINS for p in self.plugins)


# ----------------------------------------------------------------- backup and restore

# The server's socket: the client's configured default, or MYSQL_UNIX_PORT when set (an
# option file's socket= would win over the variable itself, so it is passed as --socket).
_SOCKET = b'sock=${MYSQL_UNIX_PORT:+--socket=$MYSQL_UNIX_PORT}\n'
_MYSQL = (_FILES / "mysql.sh").read_bytes() + _SOCKET + b'my_run() { "$my_client" $sock -NB -e "$1"; }\n'

# The backups' own login (rule my.backup_account): 'mzops_backup'@'localhost' with what
# mariabackup, the binary log flush and the table checksums need. MariaDB 10.11's
# unix_socket logs a process in only as the account named like its OS user (a map comes
# in 11.6, MDEV-33479) and mariabackup must run as root to read the data directory, so
# the login has a password: made on the server host by the rule, kept only there in a
# root-only option file (as Debian kept debian-sys-maint's), never sent anywhere. Where
# it cannot log in, root reads and the script says so (`mzops: account=root`,
# `mzops: account_problem=`): a night's backup is not lost to a missing login.
BACKUP_ACCOUNT = "mzops_backup"
BACKUP_OPTIONS = "/etc/mysql/mzops-backup.cnf"
_BACKUP_LOGIN = _MYSQL + ("""backup_options=${MZOPS_BACKUP_OPTIONS:-%s}   # a test's own file
backup_login() {
  login=
  if [ ! -f "$backup_options" ]; then said="no $backup_options (the login's option file)"
  elif said=$("$my_client" --defaults-extra-file="$backup_options" $sock -NBe 'SELECT CURRENT_USER()' 2>&1); then
    login=--defaults-extra-file=$backup_options
    echo "mzops: account=${said%%@*}" >&2
    return 0
  fi
  echo "mzops: account=root" >&2
  echo "mzops: account_problem=$(printf '%%s\\n' "$said" | tail -n 1)" >&2
}
my_run() { "$my_client" $login $sock -NB -e "$1"; }
""" % BACKUP_OPTIONS).encode()

BACKUP_FACTS = _BACKUP_LOGIN + b"""backup_login 2>/dev/null
my_run "SELECT CONCAT('log_bin', CHAR(31), @@log_bin)
  UNION ALL SELECT CONCAT('log_bin_basename', CHAR(31), COALESCE(@@log_bin_basename, ''))
  UNION ALL SELECT CONCAT('data_directory', CHAR(31), @@datadir)
  UNION ALL SELECT CONCAT('version', CHAR(31), @@version)
  UNION ALL SELECT CONCAT('read_only', CHAR(31), @@read_only)"
"""

# mariabackup streams a copy of the running server (xbstream) with the redo log written
# meanwhile; with a third argument, only the pages changed since that log sequence
# number (--incremental-lsn: no earlier backup needs to be on disk). It prints the
# checkpoint the next incremental starts from and the binary log position the copy is
# consistent with (extra/mariabackup: xtrabackup.cc, backup_mysql.cc).
FULL_BACKUP = _BACKUP_LOGIN + b"""set -eu
command -v mariabackup >/dev/null || { echo "mariabackup is not installed (Debian package mariadb-backup)" >&2; exit 4; }
backup_login
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd /
# the option file first (mariabackup reads --defaults-extra-file only there); else root
mariabackup ${login:---user=root} --backup --stream=xbstream $sock --target-dir="$work" ${3:+--incremental-lsn=$3}
"""

# FLUSH BINARY LOGS closes the binary log being written; the closed ones newer than the
# newest on tape ($4) are sent as a tar stream. The server keeps its binary logs as its
# own expiry says: mzops removes none.
LOG_BACKUP = _BACKUP_LOGIN + b"""set -eu
dir=$2; last=${4:-}
backup_login
my_run "FLUSH BINARY LOGS"
current=$(my_run "SHOW MASTER STATUS" | cut -f1)
when=$(my_run "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f+00:00')")
list=$(mktemp)
trap 'rm -f "$list" "$list.found"' EXIT
my_run "SHOW BINARY LOGS" | cut -f1 | awk -v last="$last" -v current="$current" \\
  '$1 == current { exit } $1 > last { print }' > "$list"
upto=$(tail -n 1 "$list")
[ -n "$upto" ] || upto=$last
echo "mzops: upto=$upto" >&2
echo "mzops: upto_time=$when" >&2
cd "$dir"
# a binary log the index lists but the disk lacks is left out here and named as a gap
while read -r name; do
  if [ -f "$name" ]; then echo "$name"; else echo "binary log $name is listed but gone" >&2; fi
done < "$list" > "$list.found"
tar --create --format=posix --file=- --files-from="$list.found" </dev/null
"""

# Where the server keeps its data, its option files and how it is stopped and started
# (systemd where it runs, Debian's init script elsewhere; an immediate stop is a kill).
_MY_SERVICE = br"""
my_data() {
  [ -n "${data:-}" ] || data=$(my_run "SELECT @@datadir" 2>/dev/null) || data=
  [ -n "$data" ] || data=/var/lib/mysql
  data=${data%/}
}
my_conf_dir() {
  for d in /etc/mysql/mariadb.conf.d /etc/my.cnf.d; do [ -d "$d" ] && { echo "$d"; return 0; }; done
  echo "no MariaDB option folder (/etc/mysql/mariadb.conf.d, /etc/my.cnf.d)" >&2; exit 6
}
my_up() { "$my_client" $sock -NBe "SELECT 1" >/dev/null 2>&1; }
my_service() {   # start | stop fast|immediate
  if [ "$1" = stop ] && [ "${2:-fast}" = immediate ]; then
    # mysqld_safe (no systemd) would start a killed server again: it goes first
    pkill -9 -x mysqld_safe 2>/dev/null || pkill -9 -f 'bin/mysqld_safe' 2>/dev/null || true
    pkill -9 -x mariadbd 2>/dev/null || pkill -9 -x mysqld 2>/dev/null || true
    i=0; while pgrep -x mariadbd >/dev/null 2>&1 && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
    return 0
  fi
  if [ "$1" = stop ] && my_up; then
    # A plain stop kills the binary log dump threads among the clients, in no order: a
    # commit can be acknowledged and never sent. WAIT FOR ALL SLAVES (MariaDB 10.4.4+,
    # "SHUTDOWN" in its SQL reference) stops the clients first and sends every connected
    # replica the last event before it exits; the service manager's stop then finds it gone.
    pid=$(cat "$(my_run "SELECT @@pid_file" 2>/dev/null)" 2>/dev/null) || pid=
    # (refused by a server before 10.4.4: then the service manager's stop alone)
    if echo "SHUTDOWN WAIT FOR ALL SLAVES" | my_sql >/dev/null 2>&1; then
      i=0; while my_up || { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }; do
        i=$((i + 1)); [ $i -lt 600 ] || break; sleep 0.5
      done
    fi
  fi
  if [ -d /run/systemd/system ]; then systemctl "$1" mariadb; else /etc/init.d/mariadb "$1" >/dev/null; fi
}
my_sql() { "$my_client" $sock -NB; }   # SQL on stdin: never in argv (a password in it)
"""

# Shell functions of a restore (after _MYSQL): `prepared DIR INCREMENTS LOG` prepares the
# full in DIR/base and applies DIR/inc-1..N in order; `private_server DATA SOCKET DIR
# [OPTIONS]` starts a server of mzops's own on DATA, reachable only on SOCKET (no
# networking, no binary log of its own; its pid and error log in DIR); `replayed BINLOGS
# SOCKET TARGET FILE POS LOG` replays the binary logs in BINLOGS from FILE:POS up to
# TARGET: time=ISO (events logged before the next second after it: binary logs keep
# seconds) or position=FILE:POS (drills).
_MY_RESTORE = br"""prepared() {
  mariabackup --prepare --target-dir="$1/base" >"$3" 2>&1 || { tail -n 5 "$3" >&2; return 1; }
  n=1
  while [ "$n" -le "$2" ]; do
    mariabackup --prepare --target-dir="$1/base" --incremental-dir="$1/inc-$n" >>"$3" 2>&1 \
      || { tail -n 5 "$3" >&2; return 1; }
    n=$((n + 1))
  done
}
private_server() {
  data_dir=$1; socket=$2; run_dir=$3; shift 3
  setsid mariadbd "$@" --datadir="$data_dir" --socket="$socket" --skip-networking --skip-log-bin \
    --skip-slave-start --user=mysql --pid-file="$run_dir/mysqld.pid" --log-error="$run_dir/mysqld.err" \
    </dev/null >/dev/null 2>&1 &
  i=0
  until my_client_ok=$("$my_client" -S "$socket" -NBe "SELECT 1" 2>/dev/null) && [ "$my_client_ok" = 1 ]; do
    i=$((i + 1))
    [ $i -le 240 ] || { echo "the server on the restored data did not start:" >&2; tail -n 5 "$run_dir/mysqld.err" >&2; return 1; }
    sleep 0.5
  done
}
replayed() {
  binlogs=$1; socket=$2; target=$3; file=$4; pos=$5; log=$6
  ls "$binlogs" 2>/dev/null | sort | awk -v first="$file" '$1 >= first' > "$binlogs.list"
  case $target in
    position=*)
      stop=${target#position=}
      awk -v last="${stop%%:*}" '$1 <= last' "$binlogs.list" > "$binlogs.list.new"
      mv "$binlogs.list.new" "$binlogs.list"
      limit="--stop-position=${stop##*:}" ;;
    *)
      at=$(printf '%s\n' "${target#time=}" | sed 's/T/ /; s/\.[0-9]*//; s/+00:00$//')
      stop=$(date -u -d "$at UTC + 1 second" '+%Y-%m-%d %H:%M:%S')
      limit="--stop-datetime=$stop" ;;
  esac
  if [ -s "$binlogs.list" ]; then
    ( cd "$binlogs" && TZ=UTC xargs mysqlbinlog --start-position="$pos" "$limit" < "$binlogs.list" ) \
      | "$my_client" -S "$socket" 2>>"$log" || { echo "the binary logs could not be replayed:" >&2;
                                                 tail -n 5 "$log" >&2; return 1; }
  fi
  echo "replayed $(wc -l < "$binlogs.list") binary logs from $file:$pos" >&2
}
"""

# The backup extracted in DIR/base and DIR/inc-N, the binary logs in DIR/binlogs:
# prepared, started as a server of its own on a socket in DIR (--no-defaults: nothing
# of production's configuration), the binary logs replayed up to TARGET.
# sh -s -- DIR TARGET FILE POS INCREMENTS
RESTORE_START = _MYSQL + _MY_RESTORE + br"""set -eu
dir=$1; target=$2; file=$3; pos=$4; increments=$5
cd /
log=$dir/mzops-restore.log
prepared "$dir" "$increments" "$log"
chown -R mysql:mysql "$dir"     # the copy's server makes its socket and logs there
private_server "$dir/base" "$dir/mysqld.sock" "$dir" --no-defaults
replayed "$dir/binlogs" "$dir/mysqld.sock" "$target" "$file" "$pos" "$log"
echo "mzops: port=3306"
echo "mzops: socket=$dir/mysqld.sock"
echo "mzops: data_directory=$dir/base"
"""

# A restore in place (see the engine contract): refused while the server runs; its data
# directory (the running server's @@datadir is not there to ask: the option files', else
# /var/lib/mysql) moved aside whole to DATA.mzops-before-restore-STAMP.
# sh -s -- PORT DATA STAMP [check]
IN_PLACE_PREPARE = _MYSQL + _MY_SERVICE + br"""set -eu
PORT=$1; data=${2:-}; stamp=$3; check=${4:-}
if my_up || pgrep -x mariadbd >/dev/null 2>&1 || pgrep -x mysqld >/dev/null 2>&1; then
  echo "the MariaDB server runs: stop it first (a restore in place never goes over a running server)" >&2
  exit 4
fi
[ -n "$data" ] || data=$(my_print_defaults --mysqld 2>/dev/null | sed -n 's/^--datadir=//p' | tail -n 1)
[ -n "$data" ] || data=/var/lib/mysql
data=${data%/}
[ -d "$data/mysql" ] || { echo "$data is no MariaDB data directory (no mysql/ in it)" >&2; exit 3; }
kept=$data.mzops-before-restore-$stamp
[ ! -e "$kept" ] || { echo "$kept exists already" >&2; exit 3; }
echo "mzops: data_directory=$data"
echo "mzops: kept=$kept"
[ "$check" = check ] && exit 0
mv "$data" "$kept"
install -d -o mysql -g mysql -m 0750 "$data"
"""

# The runs extracted in DATA/base, DATA/inc-N, DATA/binlogs: prepared, the prepared copy
# made DATA itself (the rest set aside in DATA.mzops-restoring), the binary logs replayed
# by a private server (nobody connects while it is on its way to TARGET; the server's own
# option files, so InnoDB reads the files as it wrote them), then the server started as
# a service. sh -s -- PORT DATA TARGET FILE POS INCREMENTS
IN_PLACE_START = _MYSQL + _MY_SERVICE + _MY_RESTORE + br"""set -eu
PORT=$1; data=$2; target=$3; file=$4; pos=$5; increments=$6
cd /
stage=$data.mzops-restoring
log=$stage/mzops-restore.log
rm -rf -- "$stage"
mv "$data" "$stage"
prepared "$stage" "$increments" "$log"
mv "$stage/base" "$data"
chown -R mysql:mysql "$data" "$stage"
private_server "$data" "$stage/mysqld.sock" "$stage"
replayed "$stage/binlogs" "$stage/mysqld.sock" "$target" "$file" "$pos" "$log"
"$my_client" -S "$stage/mysqld.sock" -NBe "SHUTDOWN" 2>/dev/null || kill "$(cat "$stage/mysqld.pid")"
i=0; while [ -f "$stage/mysqld.pid" ] && [ $i -lt 240 ]; do i=$((i + 1)); sleep 0.5; done
rm -rf -- "$stage"
my_service start
i=0; until my_up; do i=$((i + 1)); [ $i -lt 120 ] || { echo "mariadb did not start on its restored data" >&2; exit 1; }; sleep 0.5; done
echo "mzops: port=$PORT"
echo "mzops: data_directory=$data"
"""

# After a failed restore in place: any server on the restored data stopped, the restore's
# files removed, the kept data put back whole. sh -s -- DATA KEPT
IN_PLACE_UNDO = _MYSQL + _MY_SERVICE + br"""set -eu
data=$1; kept=$2
[ -d "$kept" ] || { echo "$kept is gone: nothing to put back" >&2; exit 3; }
if [ -f "$data.mzops-restoring/mysqld.pid" ]; then kill "$(cat "$data.mzops-restoring/mysqld.pid")" 2>/dev/null || true; fi
my_service stop fast >/dev/null 2>&1 || true
i=0; while pgrep -x mariadbd >/dev/null 2>&1 && [ $i -lt 120 ]; do i=$((i + 1)); sleep 0.5; done
rm -rf -- "$data" "$data.mzops-restoring"
mv "$kept" "$data"
"""

# Every InnoDB table of the user's schemas: its row count and an order-free sum of each
# row's CRC32 (every column QUOTEd, NULL as NULL), all read in one consistent snapshot
# whose binary log position MariaDB gives (binlog_snapshot_file/position, set by START
# TRANSACTION WITH CONSISTENT SNAPSHOT): replayed to that position, a copy holds what
# the snapshot saw. sh -s -- PORT [SOCKET]; lines mariadb US position US FILE:POS, then
# mariadb US SCHEMA.TABLE US ROWS US SUM.
TABLE_SUMS = b"""set -eu
[ -z "${2:-}" ] || export MYSQL_UNIX_PORT=$2
""" + _BACKUP_LOGIN + b"""
# a restored copy (its socket given) is read as its root; the server, as the backup's login
if [ -z "${2:-}" ]; then backup_login; else login=; fi
us=$(printf '\\037')
sums=$(my_run "SELECT CONCAT('SELECT CONCAT_WS(CHAR(31), ''mariadb'', ', QUOTE(CONCAT(t.table_schema, '.', t.table_name)),
  ', COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS(''#'', ', GROUP_CONCAT(CONCAT('QUOTE(\\`', c.column_name, '\\`)')
  ORDER BY c.ordinal_position), '))), 0)) FROM \\`', t.table_schema, '\\`.\\`', t.table_name, '\\`;')
  FROM information_schema.tables t JOIN information_schema.columns c USING (table_schema, table_name)
  WHERE t.engine = 'InnoDB' AND t.table_type = 'BASE TABLE'
    AND t.table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  GROUP BY t.table_schema, t.table_name ORDER BY t.table_schema, t.table_name")
{ echo "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;"
  echo "SELECT CONCAT_WS(CHAR(31), 'mariadb', 'position', CONCAT(MAX(IF(variable_name = 'BINLOG_SNAPSHOT_FILE',
    variable_value, NULL)), ':', MAX(IF(variable_name = 'BINLOG_SNAPSHOT_POSITION', variable_value, NULL))))
    FROM information_schema.session_status WHERE variable_name LIKE 'BINLOG_SNAPSHOT_%';"
  printf '%s\\n' "$sums"
  echo "COMMIT;"; } | "$my_client" $login $sock -NB
"""

# The engine's own check of a copy: every table (mariadb-check, CHECK TABLE).
COPY_CHECK = _MYSQL + b"""set -eu
out=$(mariadb-check --all-databases --check -S "$1/mysqld.sock" 2>&1) || { printf '%s\\n' "$out" >&2; exit 1; }
bad=$(printf '%s\\n' "$out" | awk 'NF > 1 && $NF != "OK" && $1 != "note" && $0 !~ /^(Warning|note)/')
[ -z "$bad" ] || { printf '%s\\n' "$bad" >&2; exit 1; }
"""

RESTORE_REMOVE = b"""set -eu
dir=$1
[ -e "$dir" ] || exit 0
[ -f "$dir/.mzops-restore" ] || { echo "$dir is not a copy mzops restored" >&2; exit 3; }
if [ -f "$dir/mysqld.pid" ]; then
  pid=$(cat "$dir/mysqld.pid")
  kill "$pid" 2>/dev/null || true
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 120 ]; do i=$((i + 1)); sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -rf -- "$dir"
"""

BINLOG = re.compile(r"^(.+)\.(\d{6,})$")


class _Backup:
    """MariaDB's part of the backup contract: mariabackup fulls and incrementals from the
    catalogued log sequence number, the server's own binary logs collected with every
    run, point-in-time restore by mysqlbinlog into a scratch server."""

    backup_facts = BACKUP_FACTS
    full_backup = FULL_BACKUP
    log_backup = LOG_BACKUP
    log_commit = None
    restore_start = RESTORE_START
    incremental = True
    backup_account = BACKUP_ACCOUNT
    backup_account_rule = "my.backup_account"
    in_place_prepare = IN_PLACE_PREPARE
    in_place_start = IN_PLACE_START
    in_place_undo = IN_PLACE_UNDO
    full_format = "xbstream (mariabackup --backup --stream=xbstream)"
    full_extract = "mbstream -x -C BACKUP_DIR, then mariabackup --prepare"
    table_sums = TABLE_SUMS
    copy_check = COPY_CHECK
    restore_remove = RESTORE_REMOVE

    def backup_problems(self, facts: dict[str, str]) -> list[str]:
        missing = [f"the server did not say {key} (@@{key})" for key in ("log_bin", "log_bin_basename",
                                                                        "data_directory") if key not in facts]
        if missing:
            return missing
        if facts["log_bin"] not in ("1", "ON"):
            return ["binary logging is off (log_bin): no point in time can be restored (harden with rule "
                    "my.binlog; it takes a restart)"]
        return []

    def log_directory(self, facts: dict[str, str]) -> str:
        return facts["log_bin_basename"].rsplit("/", 1)[0]

    def full_positions(self, said: str) -> dict[str, str]:
        """mariabackup: "The latest check point (for incremental): '44404'" and "MySQL binlog
        position: filename 'mysql-bin.000001', position '925'" (extra/mariabackup)."""
        lsn = re.search(r"The latest check point \(for incremental\): '(\d+)'", said)
        binlog = re.search(r"MySQL binlog position: filename '([^']+)', position '(\d+)'", said)
        if not lsn or not binlog:
            raise ValueError("mariabackup did not print its checkpoint and binary log position")
        return {"to_lsn": lsn.group(1), "binlog_file": binlog.group(1), "binlog_pos": binlog.group(2)}

    def restore_facts(self, facts: dict[str, str]) -> dict:
        return {"version": facts.get("version", "")}

    def restore_layout(self, kind: str, increment: int) -> tuple[str, str]:
        if kind == "log":
            return "binlogs", 'mkdir -p "$1" && exec tar -x -f - -C "$1"'
        return ("base" if kind == "full" else f"inc-{increment}"), 'mkdir -p "$1" && exec mbstream -x -C "$1"'

    def restore_args(self, base: dict, increments: int) -> list[str]:
        return [base["binlog_file"], base["binlog_pos"], str(increments)]

    def log_gaps(self, full: dict, logs: list[str], upto: str) -> list[str]:
        """Every binary log from the one the backup's position is in to UPTO (their
        names' six-digit sequence, log.cc's find_uniq_filename) must be on tape."""
        first = BINLOG.match(full["binlog_file"])
        last = BINLOG.match(upto)
        if not first or not last or first.group(1) != last.group(1):
            return [full["binlog_file"]] if not logs else []
        width = len(first.group(2))
        have = {int(m.group(2)) for m in map(BINLOG.match, logs) if m and m.group(1) == first.group(1)}
        return [f"{first.group(1)}.{n:0{width}d}" for n in range(int(first.group(2)), int(last.group(2)) + 1)
                if n not in have]


# ----------------------------------------------------------------- replication (DR)

_PROTECT_SH = (pathlib.Path(__file__).parent / "protect.sh").read_bytes()


# Role and GTID positions (gtid_binlog_pos: what a primary wrote; gtid_slave_pos: what a
# replica applied; Gtid_IO_Pos: what it received), or, for a server that is down, the
# last GTID of its newest binary log and whether mzops stopped it cleanly (a marker
# newer than that binary log: a server that started again made a newer one).
REPLICATION_FACTS = _MYSQL + _MY_SERVICE + br"""set -u
PORT=$1; data=${2:-}
us=$(printf '\037')
if out=$(my_run "SELECT CONCAT_WS(CHAR(31), 'running', 'true')
  UNION ALL SELECT CONCAT_WS(CHAR(31), 'read_only', @@read_only)
  UNION ALL SELECT CONCAT_WS(CHAR(31), 'server_id', @@server_id)
  UNION ALL SELECT CONCAT_WS(CHAR(31), 'binlog_position', @@gtid_binlog_pos)
  UNION ALL SELECT CONCAT_WS(CHAR(31), 'slave_position', @@gtid_slave_pos)
  UNION ALL SELECT CONCAT_WS(CHAR(31), 'gtid_strict_mode', @@gtid_strict_mode)
  UNION ALL SELECT CONCAT_WS(CHAR(31), 'log_bin', @@log_bin)
  UNION ALL SELECT CONCAT_WS(CHAR(31), 'log_slave_updates', @@log_slave_updates)
  UNION ALL SELECT CONCAT_WS(CHAR(31), 'data_directory', @@datadir)
  UNION ALL SELECT CONCAT_WS(CHAR(31), 'now', UNIX_TIMESTAMP(NOW(6)))" 2>&1); then
  printf '%s\n' "$out"
  "$my_client" $sock -e 'SHOW SLAVE STATUS\G' 2>/dev/null | sed -n \
    -e "s/^ *Master_Host: \(.*\)$/master${us}\1/p" \
    -e "s/^ *Slave_IO_Running: \(.*\)$/io_running${us}\1/p" \
    -e "s/^ *Slave_SQL_Running: \(.*\)$/sql_running${us}\1/p" \
    -e "s/^ *Gtid_IO_Pos: \(.*\)$/receive_position${us}\1/p" \
    -e "s/^ *Seconds_Behind_Master: \(.*\)$/behind${us}\1/p" \
    -e "s/^ *Last_IO_Error: \(..*\)$/io_error${us}\1/p" \
    -e "s/^ *Last_SQL_Error: \(..*\)$/sql_error${us}\1/p"
  exit 0
fi
echo "running${us}false"
echo "said${us}$(printf '%s' "$out" | tail -n 1)"
my_data
{ pgrep -x mariadbd >/dev/null 2>&1 || pgrep -x mysqld >/dev/null 2>&1; } && echo "postmaster${us}alive"
[ -f "$data/.mzops-standby" ] && echo "standby_signal${us}true"
index=$(ls "$data"/*.index 2>/dev/null | grep -v relay | head -n 1)
[ -n "$index" ] || { echo "control${us}none"; exit 0; }
last=$(tail -n 1 "$index"); case $last in /*) ;; *) last="$data/${last#./}";; esac
if [ -f "$data/.mzops-clean-stop" ] && [ "$data/.mzops-clean-stop" -nt "$last" ]; then
  echo "cluster_state${us}shut down"
else
  echo "cluster_state${us}crashed"
fi
gtid=$(mariadb-binlog "$last" 2>/dev/null | sed -n -e 's/.*Gtid list \[\(.*\)\].*/\1/p' \
  -e 's/.*GTID \([0-9]*-[0-9]*-[0-9]*\).*/\1/p' | tail -n 1)
echo "checkpoint${us}$gtid"
"""

# GTID replication set up on one side (run on both; each points at the other): an
# option file (server_id from the address, the binary log, log_slave_updates,
# gtid_strict_mode, bind_address), the replication account for the other side's
# address (from its mysql_native_password hash: the password never reaches a log; not
# binary-logged, so a replica never gets a transaction of its own). Arguments as
# PostgreSQL's (KEEP unused); MZOPS_HASH on the script's first lines.
PROTECT = _MYSQL + _MY_SERVICE + _PROTECT_SH + br"""set -eu
PORT=$1; self=$2; other=$3; other_port=$4; account=$5; name=$6; peer=$7; sync=$8; keep=$9; mode=${10}
service=${11:-}
[ "$sync" != on ] || { echo "semi-synchronous replication is not built for MariaDB yet: mode asynchronous" >&2; exit 6; }
dropin=$(my_conf_dir)/60-mzops-dr.cnf
id=$(echo "$self" | awk -F. '{print $3 * 256 + $4}')
basename=$(my_run "SELECT COALESCE(@@log_bin_basename, '')"); base=${basename##*/}; [ -n "$base" ] || base=mysql-bin
bind=127.0.0.1,$self${service:+,$service}
want=$(cat <<EOF
[mariadbd]
# mzops dr (generated): GTID replication with $other
server_id = $id
log_bin = $base
log_slave_updates = ON
gtid_strict_mode = ON
bind_address = $bind
EOF
)
changes=
[ "$(cat "$dropin" 2>/dev/null)" = "$want" ] || changes="$changes
change: $dropin (server_id $id, binary log, log_slave_updates, gtid_strict_mode, listen on $self)"
granted=$(my_run "SELECT COUNT(*) FROM mysql.user WHERE user = '$account' AND host = '$other' AND Repl_slave_priv = 'Y'")
[ "$granted" = 1 ] || changes="$changes
change: account '$account'@'$other' (REPLICATION SLAVE)"
service_check
restart=
[ "$(my_run "SELECT @@log_bin")" = 1 ] || restart="$restart log_bin"
[ "$(my_run "SELECT @@log_slave_updates")" = 1 ] || restart="$restart log_slave_updates"
[ "$(my_run "SELECT @@bind_address")" = "$bind" ] || restart="$restart bind_address"
report_or_stop
service_apply
my_sql <<SQL
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS '$account'@'$other' IDENTIFIED BY PASSWORD '$MZOPS_HASH';
ALTER USER '$account'@'$other' IDENTIFIED BY PASSWORD '$MZOPS_HASH';
GRANT REPLICATION SLAVE ON *.* TO '$account'@'$other';
SET GLOBAL server_id = $id;
SET GLOBAL gtid_strict_mode = ON;
SQL
printf '%s\n' "$want" > "$dropin.new" && chmod 0644 "$dropin.new" && mv "$dropin.new" "$dropin"
my_print_defaults --mysqld >/dev/null || { echo "the option files do not parse: nothing restarted" >&2; exit 1; }
if [ -n "$restart" ]; then
  my_service stop fast
  my_service start
  i=0; until my_up; do i=$((i + 1)); [ $i -lt 60 ] || { echo "mariadb did not come back within 30 s" >&2; exit 1; }; sleep 0.5; done
fi
"""

# A fresh replica, in two parts around the copy streamed from the primary (mariabackup
# --stream there, mbstream -x here, relayed by the controller): "prepare" stops this
# server and empties its data directory (the old one kept aside once as
# DATA.mzops-before-dr); "start" prepares the copy, starts it read-only, and replicates
# from the primary from the copy's GTID (mariadb_backup_binlog_info). MZOPS_PASSWORD on
# the first lines (CHANGE MASTER keeps it in the replica's master.info, as MariaDB does).
STANDBY_BUILD = _MYSQL + _MY_SERVICE + br"""set -eu
PORT=$1; other=$2; other_port=$3; account=$4; phase=$5
my_data
role=$(my_conf_dir)/61-mzops-dr-role.cnf
if [ "$phase" = prepare ]; then
  if my_up; then my_service stop fast; fi
  if [ -e "$data.mzops-before-dr" ]; then rm -rf -- "$data"; else mv "$data" "$data.mzops-before-dr"; fi
  install -d -o mysql -g mysql -m 0750 "$data"
  echo "mzops: data_directory=$data" >&2
  exit 0
fi
cd /
mariabackup --prepare --target-dir="$data" >/tmp/mzops-dr-prepare.log 2>&1 || { tail -n 5 /tmp/mzops-dr-prepare.log >&2; exit 1; }
gtid=$(cut -f3 "$data/mariadb_backup_binlog_info" 2>/dev/null || cut -f3 "$data/xtrabackup_binlog_info")
chown -R mysql:mysql "$data"
printf '%s\n' "[mariadbd]" "# mzops dr (generated): this server is a replica" "read_only = ON" > "$role"
touch "$data/.mzops-standby"
rm -f "$data/.mzops-clean-stop"
my_service start
i=0; until my_up; do i=$((i + 1)); [ $i -lt 60 ] || { echo "mariadb did not start" >&2; exit 1; }; sleep 0.5; done
my_sql <<SQL
SET GLOBAL read_only = ON;
SET GLOBAL gtid_slave_pos = '$gtid';
CHANGE MASTER TO MASTER_HOST = '$other', MASTER_PORT = $other_port, MASTER_USER = '$account',
  MASTER_PASSWORD = '$MZOPS_PASSWORD', MASTER_USE_GTID = slave_pos;
START SLAVE;
SQL
i=0
until [ "$("$my_client" $sock -e 'SHOW SLAVE STATUS\G' | grep -cE 'Slave_(IO|SQL)_Running: Yes')" = 2 ]; do
  i=$((i + 1)); [ $i -le 120 ] || { echo "the replica does not run from $other within 60 s" >&2;
    "$my_client" $sock -e 'SHOW SLAVE STATUS\G' | grep -E 'Last_(IO|SQL)_Error:' >&2; exit 1; }
  sleep 0.5
done
"""

# The copy a fresh replica is made from, on the primary: mariabackup --stream (the
# backup's own full script), and what the replica's side runs on it (argv: no secret).
SEED_RECEIVE = 'command -v mbstream >/dev/null || { echo "mbstream is not installed (mariadb-backup)" >&2; exit 4; }; ' \
               'exec mbstream -x -C "$1"'

SERVER_STOP = _MYSQL + _MY_SERVICE + br"""set -eu
PORT=$1; data=${2:-}; mode=${3:-fast}
my_data
if my_up; then my_service stop "$mode" >&2; fi
my_up && { echo "the server still answers after the stop" >&2; exit 1; }
if [ "$mode" = fast ]; then touch "$data/.mzops-clean-stop"; else rm -f "$data/.mzops-clean-stop"; fi
"""

SERVER_START = _MYSQL + _MY_SERVICE + br"""set -eu
PORT=$1; data=${2:-}
my_up && exit 0
my_data
rm -f "$data/.mzops-clean-stop"
my_service start >&2
i=0; until my_up; do i=$((i + 1)); [ $i -lt 60 ] || { echo "mariadb did not start" >&2; exit 1; }; sleep 0.5; done
"""

# The replica made the primary: replication stopped and forgotten, read_only off, the
# role file gone (a restart keeps it writable).
PROMOTE = _MYSQL + _MY_SERVICE + br"""set -eu
PORT=$1; seconds=$2
[ -n "$("$my_client" $sock -e 'SHOW SLAVE STATUS\G')" ] || { echo "not a replica: nothing to promote" >&2; exit 4; }
my_sql <<'SQL'
STOP SLAVE;
RESET SLAVE ALL;
SET GLOBAL read_only = OFF;
SQL
rm -f "$(my_conf_dir)/61-mzops-dr-role.cnf"
my_data; rm -f "$data/.mzops-standby"
"""

# The old primary made a replica of OTHER: read-only before it starts (the role file),
# then replicating from OTHER from the GTIDs it wrote itself (gtid_slave_pos set to its
# gtid_binlog_pos, MASTER_USE_GTID = slave_pos). A server that wrote transactions OTHER
# never had (an asynchronous disaster) is refused by OTHER's binary log in strict mode.
REJOIN = _MYSQL + _MY_SERVICE + br"""set -eu
PORT=$1; data=${2:-}; other=$3; other_port=$4; account=$5
my_data
printf '%s\n' "[mariadbd]" "# mzops dr (generated): this server is a replica" "read_only = ON" \
  > "$(my_conf_dir)/61-mzops-dr-role.cnf"
touch "$data/.mzops-standby"
if ! my_up; then
  rm -f "$data/.mzops-clean-stop"
  my_service start >&2
  i=0; until my_up; do i=$((i + 1)); [ $i -lt 60 ] || { echo "mariadb did not start" >&2; exit 1; }; sleep 0.5; done
fi
my_sql <<SQL
SET GLOBAL read_only = ON;
STOP SLAVE;
SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos;
CHANGE MASTER TO MASTER_HOST = '$other', MASTER_PORT = $other_port, MASTER_USER = '$account',
  MASTER_PASSWORD = '$MZOPS_PASSWORD', MASTER_USE_GTID = slave_pos;
START SLAVE;
SQL
"""

# A write as an application makes it: refused while read_only is on (root itself
# bypasses read_only, so it is checked first); not binary-logged.
WRITE_PROBE = _MYSQL + br"""set -eu
[ "$(my_run "SELECT @@read_only")" = 0 ] || { echo "read_only is on" >&2; exit 1; }
my_run "SET SESSION sql_log_bin = 0; CREATE TEMPORARY TABLE mysql.mzops_write_probe (at TIMESTAMP);
  INSERT INTO mysql.mzops_write_probe VALUES (NOW()); SELECT COUNT(*) FROM mysql.mzops_write_probe" >/dev/null
"""

# A drill's copy of the replica (sh -s -- PORT DIR): mariabackup of this replica into
# DIR/base, prepared, opened by a server of its own on a socket in DIR with no network,
# no binary log and no replication, read-write; a write; removed by restore_remove.
DRILL_COPY = _MYSQL + br"""set -eu
PORT=$1; dir=$2
[ ! -e "$dir" ] || { echo "$dir exists: a drill copy goes to a new folder" >&2; exit 3; }
[ -n "$("$my_client" $sock -e 'SHOW SLAVE STATUS\G')" ] || { echo "not a replica: a drill copies the DR replica" >&2; exit 4; }
mkdir -p "$dir"; touch "$dir/.mzops-restore"
cd /
mariabackup --backup --user=root $sock --target-dir="$dir/base" >"$dir/mzops-drill.log" 2>&1 \
  || { tail -n 5 "$dir/mzops-drill.log" >&2; exit 1; }
mariabackup --prepare --target-dir="$dir/base" >>"$dir/mzops-drill.log" 2>&1 || { tail -n 5 "$dir/mzops-drill.log" >&2; exit 1; }
chown -R mysql:mysql "$dir"
setsid mariadbd --no-defaults --datadir="$dir/base" --socket="$dir/mysqld.sock" --skip-networking \
  --skip-log-bin --skip-slave-start --user=mysql --pid-file="$dir/mysqld.pid" --log-error="$dir/mysqld.err" \
  </dev/null >/dev/null 2>&1 &
i=0
until [ "$("$my_client" -S "$dir/mysqld.sock" -NBe "SELECT 1" 2>/dev/null)" = 1 ]; do
  i=$((i + 1)); [ $i -le 240 ] || { echo "the copy's server did not start:" >&2; tail -n 5 "$dir/mysqld.err" >&2; exit 1; }
  sleep 0.5
done
"$my_client" -S "$dir/mysqld.sock" -NB <<'SQL'
CREATE DATABASE mzops_drill_probe;
CREATE TABLE mzops_drill_probe.t (at TIMESTAMP);
INSERT INTO mzops_drill_probe.t VALUES (NOW());
DROP DATABASE mzops_drill_probe;
SQL
echo "mzops: socket=$dir/mysqld.sock"
echo "mzops: position=$("$my_client" -S "$dir/mysqld.sock" -NBe "SELECT @@gtid_current_pos")"
"""


def gtid_number(text: str) -> int:
    """A GTID position (domain-server-seq, one per domain, comma-separated) as a number
    that grows with every transaction: the sum of the sequence numbers (in strict mode
    each domain's only grows)."""
    total = 0
    for part in filter(None, (p.strip() for p in text.split(","))):
        fields = part.split("-")
        if len(fields) != 3 or not all(f.isdigit() for f in fields):
            raise ValueError(f"not a GTID position: {text!r}")
        total += int(fields[2])
    return total


def _on(value: str | None) -> bool:
    """A boolean system variable as MariaDB prints it: 1 in a plain SELECT, ON in a string."""
    return (value or "").upper() in ("1", "ON")


def native_hash(password: str) -> str:
    """mysql_native_password's stored form: '*' and SHA1(SHA1(password)) in upper hex."""
    import hashlib
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


class _Replication:
    """MariaDB's part of the DR contract: GTID replication in strict mode, read_only on
    the replica, promotion by RESET SLAVE ALL, the old primary re-pointed by GTID."""

    replication_facts = REPLICATION_FACTS
    protect = PROTECT
    standby_build = STANDBY_BUILD
    server_stop = SERVER_STOP
    server_start = SERVER_START
    promote = PROMOTE
    rejoin = REJOIN
    write_probe = WRITE_PROBE
    drill_copy = DRILL_COPY
    seed_source = FULL_BACKUP
    seed_receive = SEED_RECEIVE
    synchronous = False
    stopped_position_strict = False    # a cleanly stopped primary's position is its last GTID: equal suffices
    stopped_position_name = "last GTID of its binary log after a clean stop"
    rejoin_method = "re-pointed by GTID (gtid_slave_pos from its own binary log)"
    position_unit = "transactions"

    def position(self, text: str) -> int:
        return gtid_number(text)

    def replication_secrets(self, account: str, password: str) -> dict[str, str]:
        # a string literal of MariaDB's: backslash escapes, quote doubled
        return {"MZOPS_HASH": native_hash(password),
                "MZOPS_PASSWORD": password.replace("\\", "\\\\").replace("'", "''")}

    def replication_state(self, asset: str, facts: dict[str, str]):
        from mzops.engines.base import DOWN, PRIMARY, STANDBY, STOPPED, ReplicationState
        if facts.get("running") == "true":
            replica = bool(facts.get("master"))
            text = facts.get("slave_position" if replica else "binlog_position", "")
            state = ReplicationState(asset, STANDBY if replica or _on(facts.get("read_only")) else PRIMARY,
                                     gtid_number(text), text, facts=facts)
            if state.role == STANDBY:
                state.following = facts.get("master", "")
                state.streaming = facts.get("io_running") == "Yes" and facts.get("sql_running") == "Yes"
                errors = "; ".join(facts[k] for k in ("io_error", "sql_error") if facts.get(k))
                if not replica:
                    state.problem = "read-only but replicating from nobody"
                elif not _on(facts.get("read_only")):
                    state.problem = "a replica with read_only off: applications can write to it"
                elif not state.streaming:
                    state.problem = (f"replication not running (IO {facts.get('io_running', '?')}, SQL "
                                     f"{facts.get('sql_running', '?')}){': ' + errors if errors else ''}")
                if facts.get("behind", "NULL").isdigit():      # Seconds_Behind_Master (NULL: not running)
                    state.lag_seconds = float(facts["behind"])
            return state
        said = facts.get("said", "")
        if facts.get("postmaster") == "alive":
            return ReplicationState(asset, DOWN, problem=f"mariadbd runs but does not answer: {said}", facts=facts)
        if facts.get("control") == "none" or "cluster_state" not in facts:
            return ReplicationState(asset, DOWN, problem=f"the server does not answer ({said or 'no answer'}) and "
                                    "has no binary log to read its last position from", facts=facts)
        text = facts.get("checkpoint", "")
        was = STANDBY if facts.get("standby_signal") == "true" else PRIMARY
        if facts["cluster_state"] == "shut down":
            return ReplicationState(asset, STOPPED, gtid_number(text), text, was=was, facts=facts)
        return ReplicationState(asset, DOWN, gtid_number(text) if text else None, text, was=was,
                                problem="stopped without a clean shutdown by mzops: its last binary log may "
                                        "lack what it committed last (sync_binlog)", facts=facts)

    def replication_problems(self, facts: dict[str, str]) -> list[str]:
        if facts.get("running") == "true" and not _on(facts.get("log_bin")):
            return ["no binary log: nothing to replicate from, no way back (dr protect turns it on)"]
        return []


class MariaDB(_Backup, _Replication, Engine):
    name = "mariadb"
    family = "mysql"
    default_port = 3306
    sep = "\t"
    runner = "my_sql"
    client = "mariadb"
    queries = {
        "version": "SELECT @@version, @@version_comment",
        "my_variables_mariadb": "SELECT lower(variable_name), coalesce(global_value, '<NULL>'), "
                                "coalesce(global_value_path, '') FROM information_schema.system_variables",
        "my_variables_mysql": "SELECT lower(g.variable_name), coalesce(g.variable_value, '<NULL>'), "
                              "coalesce(i.variable_path, '') FROM performance_schema.global_variables g "
                              "LEFT JOIN performance_schema.variables_info i USING (variable_name)",
        "my_plugins": "SELECT plugin_name, plugin_status, plugin_type, coalesce(load_option, '') "
                      "FROM information_schema.plugins",
        "my_components": "SELECT component_urn FROM mysql.component",
        # user, host, auth plugins, empty password, password lifetime ('' = server default),
        # locked, role, Super, Grant, File, Shutdown, Process, failed-login attempts, lock
        # days, password last changed (epoch), password expired
        "my_users_mariadb": "SELECT g.user, g.host, concat_ws(',', json_value(g.priv, '$.plugin'), "
                            "json_value(g.priv, '$.auth_or[0].plugin'), json_value(g.priv, '$.auth_or[1].plugin')), "
                            "coalesce(json_value(g.priv, '$.authentication_string'), '') = '', "
                            "coalesce(json_value(g.priv, '$.password_lifetime'), ''), "
                            "coalesce(json_value(g.priv, '$.account_locked'), 'false') IN ('true', '1'), "
                            "u.is_role = 'Y', u.Super_priv, u.Grant_priv, u.File_priv, u.Shutdown_priv, "
                            "u.Process_priv, '', '', coalesce(json_value(g.priv, '$.password_last_changed'), ''), "
                            "u.password_expired = 'Y' FROM mysql.global_priv g JOIN mysql.user u "
                            "ON u.user = g.user AND u.host = g.host ORDER BY 1, 2",
        "my_users_mysql": "SELECT user, host, plugin, authentication_string = '', coalesce(password_lifetime, ''), "
                          "account_locked = 'Y', false, Super_priv, Grant_priv, File_priv, Shutdown_priv, "
                          "Process_priv, coalesce(json_value(User_attributes, "
                          "'$.Password_locking.failed_login_attempts'), ''), coalesce(json_value(User_attributes, "
                          "'$.Password_locking.password_lock_time_days'), ''), "
                          "coalesce(unix_timestamp(password_last_changed), ''), password_expired = 'Y' "
                          "FROM mysql.user ORDER BY 1, 2",
        "my_databases": "SHOW DATABASES",
        # Every grant by grantee and scope (*.*, DB.*, DB.TABLE): what an account may do
        # beyond the mysql.user columns above (a login that reads mysql.* sees them all).
        "my_grants": "SELECT grantee, '*.*', privilege_type FROM information_schema.user_privileges "
                     "UNION ALL SELECT grantee, concat(table_schema, '.*'), privilege_type "
                     "FROM information_schema.schema_privileges UNION ALL SELECT grantee, "
                     "concat(table_schema, '.', table_name), privilege_type FROM information_schema.table_privileges "
                     "ORDER BY 1, 2, 3",
        "my_sessions": "SELECT user, substring_index(host, ':', 1), count(*) FROM information_schema.processlist "
                       "WHERE user NOT IN ('system user', 'event_scheduler') GROUP BY 1, 2",
    }
    account_queries = ("version", "my_users_mariadb", "my_users_mysql", "my_sessions")
    stat_paths = '"$(my_sql \'SELECT @@datadir\')"'
    sql_exec = (_FILES / "mysql.sh").read_bytes() + b'my_run "$sql"\n'
    # sh -s -- PORT [restart]: restart only when the run changed what is read at start.
    after_restore = (b'[ "${2:-}" = restart ] || exit 0\n'
                     b'echo "restarting the server: restored options are read at start" >&2\n'
                     + (_FILES / "restart.sh").read_bytes())

    def read(self, host, port, user, password, queries, tunnelled):
        import pymysql

        sections: dict[str, Section] = {}
        conn = _connect(pymysql, host, port, user, password, tunnelled)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
                for section, sql in queries.items():
                    try:
                        cursor.execute(sql)
                        sections[section] = Section(0, sections_text(cursor.fetchall(), self.sep))
                    except (pymysql.err.ProgrammingError, pymysql.err.OperationalError,
                            pymysql.err.InternalError) as exc:
                        if isinstance(exc, pymysql.err.OperationalError) and not conn.open:
                            raise
                        sections[section] = Section(1, str(exc.args[-1]).encode())
        except pymysql.err.MySQLError as exc:
            raise DatabaseError(str(exc.args[-1])) from None
        finally:
            conn.close()
        return sections

    def platform(self, bundle: Bundle) -> Platform:
        version = bundle.sections.get("sql:version")
        return MARIADB if version and "mariadb" in version.text.lower() else MYSQL

    # ------------------------------------------------------------- parsed facts

    def settings(self, facts: Facts) -> tuple[str, dict[str, Setting]]:
        _, found = self.first_rows(facts, "my_variables_mariadb", "my_variables_mysql")
        out = {}
        for r in found:
            value = None if r[1] == "<NULL>" else r[1]
            out[r[0].lower()] = Setting(r[0].lower(), value, r[2] if len(r) > 2 else "")
        return "global variables", out

    def users(self, facts: Facts, roles: bool = False) -> list[MyUser]:
        """Accounts (user@host entries); roles left out unless ROLES."""
        _, found = self.first_rows(facts, "my_users_mariadb", "my_users_mysql")
        out = []
        for r in found:
            if len(r) < 14:
                continue
            plugins = tuple(p for p in r[2].split(",") if p)
            changed, expired = (r[14], r[15] in ("1", "t")) if len(r) >= 16 else ("", False)
            out.append(MyUser(r[0], r[1], plugins, r[3] == "1", r[4], r[5] == "1", r[6] == "1",
                              dict(zip(PRIVILEGES, (v == "Y" for v in r[7:12]))), r[12], r[13], changed, expired))
        return [u for u in out if roles or not u.role]

    def sessions(self, facts: Facts) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        if facts.rc("sql:my_sessions") != 0:
            return out
        for r in self.rows(facts, "my_sessions"):
            if len(r) == 3 and r[1] not in ("localhost", ""):
                out[r[0]].add(r[1])
        return out

    def accounts(self, asset: str, facts: Facts, today: dt.date) -> list[Account]:
        sessions = self.sessions(facts)
        by_user: dict[str, Account] = {}
        for number, user in enumerate(self.users(facts), 1):
            record = by_user.setdefault(user.user, Account(asset, user.user, f"mysql.user row {number}",
                                                           tracks_logins=False, locked=True,
                                                           sources=set(sessions.get(user.user, set()))))
            record.locked = record.locked and user.locked
            native = not user.plugins or any(p in ("mysql_native_password", "mysql_old_password")
                                             for p in user.plugins)
            if user.empty_password and native and not user.locked:
                record.empty_password = True
            if user.host not in LOCAL_HOSTS:
                record.sources.add(user.host)
                if "%" in user.host or "_" in user.host:
                    record.wildcard_hosts.append(f"{user.user}@'{user.host}'")
            record.admin += [f"mysql.user: {user.account} has {p}_priv" for p in ("Super", "Grant")
                             if user.privileges.get(p)]
            if user.password_expired:
                record.expired.append(f"mysql.user: {user.account} password_expired = Y")
            lifetime = user.lifetime
            if user.password_changed.isdigit() and lifetime not in ("", "-1", "0") and lifetime.isdigit():
                changed = dt.datetime.fromtimestamp(int(user.password_changed), dt.timezone.utc).date()
                if changed + dt.timedelta(days=int(lifetime)) < today:
                    record.expired.append(f"mysql.user: {user.account} password older than {lifetime} days")
        return list(by_user.values())

    # ------------------------------------------------------------- changes

    def lock(self, account: str, facts: Facts, port: int | None = None) -> LockPlan:
        mine = [u for u in self.users(facts) if u.user == account]
        if not mine:
            return LockPlan("absent", [])
        state = "locked" if all(u.locked for u in mine) else "present"
        sql = "; ".join(f"ALTER USER {literal(u.user)}@{literal(u.host)} ACCOUNT LOCK" for u in mine)
        return LockPlan(state, [self.client, "-e", sql])

    def undo_statements(self, applied, table, before, now, restarting=False):
        out: list[str] = []
        owned = {rule: table.get(rule, {}).get("sql") for rule in applied}
        variables = [v for rule in applied if isinstance(owned[rule], list) for v in owned[rule]]
        if variables and not restarting:  # a restart re-reads the restored option files anyway
            _, was = self.settings(before)
            _, is_now = self.settings(now)
            for key in dict.fromkeys(variables):
                if key not in was or key not in is_now:
                    continue
                old, new = was[key].value, is_now[key].value
                if old is not None and old != new:
                    value = old if old.isdigit() or old.upper() in ("ON", "OFF") else literal(old)
                    out.append(f"SET GLOBAL {key} = {value};")
        if owned.get("my.backup_account"):
            out += self._undo_backup_account(before, now)
        if owned.get("my.anonymous") or owned.get("my.remote_root"):
            locked_before = {u.account for u in self.users(before) if u.locked}
            for user in self.users(now):
                if user.locked and user.account not in locked_before:
                    out.append(f"ALTER USER {literal(user.user)}@{literal(user.host)} ACCOUNT UNLOCK;")
        return out

    def grants(self, facts: Facts) -> dict[str, set[str]]:
        """'user'@'host' -> its grants as "PRIVILEGE ON SCOPE" (USAGE, which is none, left out)."""
        out: dict[str, set[str]] = defaultdict(set)
        for r in self.rows(facts, "my_grants"):
            if len(r) >= 3 and r[2] != "USAGE":
                out[r[0]].add(f"{r[2]} ON {r[1]}")
        return out

    def _undo_backup_account(self, before: Facts, now: Facts) -> list[str]:
        """The backups' login as it was: dropped if the run made it, else its grants put
        back (its password, which no fact holds, stays the new one; the option file with
        the old one is put back with the files)."""
        grantee = f"'{BACKUP_ACCOUNT}'@'localhost'"
        if not any(u.account == f"{BACKUP_ACCOUNT}@localhost" for u in self.users(now)):
            return []
        if not any(u.account == f"{BACKUP_ACCOUNT}@localhost" for u in self.users(before)):
            return [f"DROP USER {grantee};"]
        old, new = self.grants(before).get(grantee, set()), self.grants(now).get(grantee, set())
        return ([f"GRANT {_grant_sql(g)} TO {grantee};" for g in sorted(old - new)] +
                [f"REVOKE {_grant_sql(g)} FROM {grantee};" for g in sorted(new - old)])


def _grant_sql(grant: str) -> str:
    """"INSERT ON shop.t" as GRANT and REVOKE say it: INSERT ON `shop`.`t` (* stays *)."""
    privilege, _, scope = grant.partition(" ON ")
    return f"{privilege} ON " + ".".join(part if part == "*" else f"`{part}`" for part in scope.split(".", 1))


def literal(value: str) -> str:
    """A string literal: backslash escapes it in MariaDB/MySQL (unless
    NO_BACKSLASH_ESCAPES), so it is doubled, and quotes are doubled."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _connect(pymysql, host: str, port: int, user: str, password: str, tunnelled: bool):
    """TLS first (servers with require_secure_transport refuse plain TCP). Through a
    tunnel the certificate is not checked and a server without TLS is read in the
    clear inside SSH; directly, TLS is required and verified against the system CAs."""
    tls = ssl.create_default_context()
    if tunnelled:
        tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    try:
        return pymysql.connect(host=host, port=port, user=user, password=password, connect_timeout=10, ssl=tls)
    except pymysql.err.OperationalError as exc:
        if not (tunnelled and "doesn't support" in str(exc.args[-1])):
            raise DatabaseError(str(exc.args[-1])) from None
    try:
        return pymysql.connect(host=host, port=port, user=user, password=password, connect_timeout=10)
    except pymysql.err.OperationalError as exc:
        raise DatabaseError(str(exc.args[-1])) from None


ENGINE = MariaDB()
