"""PostgreSQL: catalogue queries, their parsers, the protocol reader, accounts, locks
and the SQL that puts a hardening run's catalogue changes back.

Rows come as psql -A prints them with -F US (\\x1f, never inside a value); the
protocol reader prints them the same way, so both paths feed the same parsers.
"""

from __future__ import annotations

import base64
import datetime as dt
import pathlib
import hashlib
import hmac
import os
import re
from collections import defaultdict
from dataclasses import dataclass

from mzops.accounts import Account
from mzops.bundle import Bundle, Section
from mzops.facts import Facts
from mzops.compliance.platforms import Platform
from mzops.engines.base import DatabaseError, Engine, LockPlan, Setting, sections_text
from mzops.paths import PLAYBOOKS

PLATFORM = Platform("postgresql", (), kind="postgresql")
_FILES = PLAYBOOKS / "roles" / "mlps3_postgresql" / "files"
ATTRIBUTES = ("superuser", "createrole", "replication", "bypassrls")
# The archive_command the pg.wal_archive rule writes (its directory first, `d=DIR; ...`):
# a segment is copied under a temporary name, synced, then renamed, so a reader never
# sees half of one; one archived already is accepted only if identical (the archiver
# retries a segment whose success it did not record: the documentation's "Setting Up
# WAL Archiving" asks exactly this of an archive command).
ARCHIVE_COMMAND = re.compile(r"^d=(/[^;\s'\"]+); ")
# Settings a standby or a recovering copy must have at least the primary's values of
# (the documentation's "Hot Standby", "Administrator's Overview"): a restore writes them.
RECOVERY_MINIMUMS = ("max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
                     "max_locks_per_transaction")
SEGMENT = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$")


# ----------------------------------------------------------------- backup and restore

_PSQL = (_FILES / "psql.sh").read_bytes()

# Finds the data directory of the cluster on $PORT when the server is down (Debian's
# pg_lsclusters; else the DATA given) and runs the server's own pg_ctl on it: through
# pg_ctlcluster where it is (it keeps Debian's config layout), pg_ctl elsewhere.
_PG_SERVICE = br"""
pg_data() {
  [ -n "${data:-}" ] && return 0
  data=$( (cd / && runuser -u postgres -- psql -XAtq -p "$PORT" -d postgres -c 'SHOW data_directory') 2>/dev/null) || data=
  [ -n "$data" ] || data=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PORT" '$3 == p {print $6; exit}')
  [ -n "$data" ] || { echo "no PostgreSQL cluster on port $PORT here" >&2; exit 3; }
}
pg_bin() { pg_data; bin=/usr/lib/postgresql/$(cat "$data/PG_VERSION")/bin; [ -x "$bin/pg_ctl" ] || bin=$(dirname "$(command -v pg_ctl)"); }
pg_service() {   # start | stop MODE
  pg_bin
  cluster=$(pg_lsclusters -h 2>/dev/null | awk -v d="$data" '$6 == d {print $1, $2; exit}')
  if [ -n "$cluster" ]; then
    if [ "$1" = stop ]; then pg_ctlcluster -m "$2" $cluster stop; else pg_ctlcluster $cluster start; fi
  elif [ "$1" = stop ]; then
    (cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m "$2" -w stop)
  else
    (cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/mzops-start.log" -w start)
  fi
}
pg_up() { (cd / && runuser -u postgres -- pg_isready -q -p "$PORT"); }
"""

# The backup's own login (rule pg.backup_account): root is mapped to it by pg_ident, so no
# password exists anywhere, and it can read everything and change nothing. Where it cannot
# log in (the rule not applied here) the server's superuser reads, and the script says so
# (`mzops: account=postgres`, `mzops: account_problem=` the server's words): a night's
# backup is not lost to a missing account, and the report names it.
BACKUP_ACCOUNT = "mzops_backup"
_BACKUP_LOGIN = _PSQL + ("""ACCOUNT=%s
backup_login() {
  if said=$( (cd / && psql -XAtq -U "$ACCOUNT" -p "$PORT" -d postgres -c 'SELECT 1') 2>&1); then
    as=$ACCOUNT
    echo "mzops: account=$as" >&2
  else
    as=postgres
    echo "mzops: account=postgres" >&2
    echo "mzops: account_problem=$(printf '%%s\\n' "$said" | grep -v '^$' | tail -n 1 | sed 's/^.* failed: //')" >&2
  fi
}
psql_run() {
  if [ "$as" = postgres ]; then (cd / && runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@")
  else (cd / && psql -XAtq -v ON_ERROR_STOP=1 -U "$as" -p "$PORT" -d postgres "$@"); fi
}
""" % BACKUP_ACCOUNT).encode()

BACKUP_FACTS = _BACKUP_LOGIN + b"""PORT=$1
backup_login 2>/dev/null
psql_run -F "$(printf '\\037')" <<'SQL'
SELECT name, setting FROM pg_settings WHERE name IN ('archive_mode', 'archive_command', 'wal_segment_size',
  'data_directory', 'server_version_num', 'max_connections', 'max_worker_processes', 'max_wal_senders',
  'max_prepared_transactions', 'max_locks_per_transaction')
UNION ALL SELECT 'in_recovery', pg_is_in_recovery()::text
UNION ALL SELECT 'timeline', timeline_id::text FROM pg_control_checkpoint()
UNION ALL SELECT 'archived_count', archived_count::text FROM pg_stat_archiver
UNION ALL SELECT 'last_archived_wal', coalesce(last_archived_wal, '') FROM pg_stat_archiver
UNION ALL SELECT 'last_failed_wal', coalesce(last_failed_wal, '') FROM pg_stat_archiver
UNION ALL SELECT 'last_failed_time', coalesce(last_failed_time::text, '') FROM pg_stat_archiver
UNION ALL SELECT 'failing', (coalesce(last_failed_time, '-infinity') > coalesce(last_archived_time, '-infinity'))::text
  FROM pg_stat_archiver
SQL
"""

# pg_basebackup over the server's socket as the backup's login: tar to stdout (one
# tablespace), the WAL the copy needs to be consistent fetched into it (-X fetch), a
# fast checkpoint; -v prints the WAL start and end points.
FULL_BACKUP = _BACKUP_LOGIN + b"""set -eu
PORT=$1
backup_login
cd /
if [ "$as" = postgres ]; then exec runuser -u postgres -- pg_basebackup -p "$1" -D - -Ft -X fetch -c fast -v -l "$2"; fi
exec pg_basebackup -U "$as" -p "$1" -D - -Ft -X fetch -c fast -v -l "$2"
"""

# Close the current segment (pg_switch_wal) and wait until the archiver has it, so the
# archive holds everything until now; then the archive's files as a tar stream. Their
# names stay listed in .mzops-sending until `log_commit` removes what was catalogued.
# The switch flushes its record and marks the finished segment .ready in
# pg_wal/archive_status before it returns (xlog.c, XLogInsertRecord for XLOG_SWITCH); the
# archiver renames it .done once archive_command succeeded (pgarch.c). With no WAL
# written since the last switch it returns the current segment's start, whose previous
# segment was archived (and perhaps sent) already: no .ready either. A restore point goes
# first: a record after every position read before (the table checksums'), so a replay
# to such a position finds it in the archive.
LOG_BACKUP = _BACKUP_LOGIN + b"""set -eu
PORT=$1; dir=$2; data=$3
[ -d "$dir" ] || { echo "no WAL archive directory $dir" >&2; exit 4; }
backup_login
upto=$(psql_run <<'SQL'
SELECT pg_create_restore_point('mzops collection') IS NULL;
SELECT pg_walfile_name(pg_switch_wal()) || ' ' ||
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
SQL
)
upto=$(printf '%s\\n' "$upto" | tail -n 1)
seg=${upto%% *}
i=0
while [ -f "$data/pg_wal/archive_status/$seg.ready" ]; do
  i=$((i + 1))
  [ $i -le 120 ] || { echo "the archiver did not archive $seg within 60 s: its archive_command fails" >&2; exit 5; }
  sleep 0.5
done
echo "mzops: upto=$seg" >&2
echo "mzops: upto_time=${upto#* }" >&2
cd "$dir"
ls | grep -E '^[0-9A-F]{24}$|^[0-9A-F]{8}\\.history$|^[0-9A-F]{24}\\.[0-9A-F]{8}\\.backup$' > .mzops-sending || true
exec tar --create --format=posix --file=- --files-from=.mzops-sending </dev/null
"""

LOG_COMMIT = b"""set -eu
cd "$2"
[ -f .mzops-sending ] || exit 0
xargs -r rm -f -- < .mzops-sending
rm -f .mzops-sending
"""

# A scratch copy's own settings (a restore's, a drill's) for the data directory $dir:
# no TCP at all, a socket and access files of its own, nothing archived anywhere.
_SCRATCH_CONF = br"""scratch_conf() {
  echo "port = 5432"
  echo "listen_addresses = ''"
  echo "unix_socket_directories = '$dir'"
  echo "hba_file = '$dir/mzops-hba.conf'"
  echo "ident_file = '$dir/mzops-ident.conf'"
  echo "archive_mode = off"
}
"""

# The restored data directory DIR (base extracted, WAL in DIR/mzops-wal) opened as a
# scratch instance: its own postgresql.conf (the backup's postgresql.auto.conf set
# aside, so nothing of production's, archive_command above all, runs in the copy), only
# a socket in DIR (listen_addresses empty: no TCP), recovery to TARGET then promotion;
# hot_standby off, so it takes connections only once the target is reached and it is
# read-write. Recovery that ends before the target is a FATAL of the server's own.
# TARGET: time=ISO (recovery_target_time) or position=X/Y (recovery_target_lsn, for drills).
# A time target stops at the first commit after it (recoveryStopsBefore considers commits
# and aborts only); with none after it in the WAL given, which reaches past the target,
# the end of that WAL is the state at the target: the copy is replayed to its end
# instead. sh: reopened_at_wal_end CONF LOG SIGNAL (after `opened` failed; $target set).
_REOPEN_AT_WAL_END = br"""reopened_at_wal_end() {
  case $target in time=*) ;; *) return 1 ;; esac
  tail -n 50 "$2" 2>/dev/null | grep -q "recovery ended before configured recovery target was reached" || return 1
  sed -i '/^recovery_target_time = /d' "$1"
  touch "$3" && chown postgres: "$3"
  echo "no transaction ended after ${target#time=} in the WAL: replayed to its end, the state then" >&2
  opened
}
"""

RESTORE_START = _SCRATCH_CONF + _REOPEN_AT_WAL_END + b"""set -eu
dir=$1; target=$2; shift 2
cd /
version=$(cat "$dir/PG_VERSION")
bin=/usr/lib/postgresql/$version/bin
[ -x "$bin/pg_ctl" ] || bin=/usr/pgsql-$version/bin
[ -x "$bin/pg_ctl" ] || bin=$(dirname "$(command -v pg_ctl)")
[ -f "$dir/postgresql.auto.conf" ] && mv "$dir/postgresql.auto.conf" "$dir/postgresql.auto.conf.from-backup"
[ -f "$dir/postgresql.conf" ] && mv "$dir/postgresql.conf" "$dir/postgresql.conf.from-backup"
rm -f "$dir/standby.signal" "$dir/postmaster.pid"
{
  scratch_conf
  echo "hot_standby = off"
  echo "restore_command = 'cp \\"$dir/mzops-wal/%f\\" \\"%p\\"'"
  case $target in
    position=*) echo "recovery_target_lsn = '${target#position=}'" ;;
    *) echo "recovery_target_time = '${target#time=}'" ;;
  esac
  echo "recovery_target_action = 'promote'"
  for setting in "$@"; do echo "$setting"; done
} > "$dir/postgresql.conf"
echo "local all postgres peer" > "$dir/mzops-hba.conf"
: > "$dir/mzops-ident.conf"
touch "$dir/recovery.signal"
chown -R postgres:postgres "$dir"
chmod 0700 "$dir"
# pg_ctl returns once the postmaster runs; the replay goes on until the target, then the
# promotion: until then connections are refused (hot_standby off).
opened() {
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -l "$dir/mzops-restore.log" -w -t 3600 start >/dev/null || return 1
  sql="SELECT pg_is_in_recovery()"
  until [ "$(runuser -u postgres -- "$bin/psql" -XAtq -h "$dir" -p 5432 -d postgres -c "$sql" 2>/dev/null)" = f ]; do
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1 || return 1
    sleep 0.5
  done
}
if ! opened && ! reopened_at_wal_end "$dir/postgresql.conf" "$dir/mzops-restore.log" "$dir/recovery.signal"; then
  echo "the copy did not open:" >&2
  tail -n 5 "$dir/mzops-restore.log" >&2
  exit 1
fi
grep -E "recovery stopping|last completed transaction" "$dir/mzops-restore.log" | tail -n 2 >&2 || true
echo "mzops: port=5432"
echo "mzops: socket=$dir"
"""


# Each table's row count and an order-free sum of its rows' MD5s (60 bits of each, summed
# as numeric: no overflow, no sort, no memory for the table), per database, each database
# in one REPEATABLE READ transaction whose WAL insert position (a standby's: its replay
# position) is read first: replayed to that position, a copy holds what the snapshot saw.
# sh -s -- PORT [SOCKET_DIR]; lines DB US position US LSN, then DB US SCHEMA.TABLE US ROWS US SUM.
TABLE_SUMS = _BACKUP_LOGIN + b"""set -eu
PORT=$1
# a restored copy (its socket given) has only its superuser; the server, the backup's login
if [ -n "${2:-}" ]; then export PGHOST=$2; as=postgres; else backup_login; fi
us=$(printf '\037')
for db in $(echo "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1" | psql_run); do
  sums=$(psql_run -d "$db" <<'SQL'
SELECT format('SELECT %L, count(*), coalesce(sum((''x'' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0) '
              'FROM %I.%I t;', n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
ORDER BY n.nspname, c.relname
SQL
)
  # read whole before it is printed: in a pipe, psql stopping at an error would leave a
  # shorter list with sed's success, and a drill would compare fewer tables than there are.
  # On a standby the position is the replay position read just before the transaction,
  # and holds only if the transaction's snapshot (its first statement) still sees it:
  # nothing replayed in between; otherwise tried again.
  attempt=0
  while :; do
    read=$({ cat <<'SQL'
SELECT pg_is_in_recovery() AS standby, coalesce(pg_last_wal_replay_lsn()::text, '') AS before \\gset
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT NOT :'standby'::bool OR pg_last_wal_replay_lsn()::text = :'before' AS exact \\gset
\\if :exact
SELECT 'position', CASE WHEN :'standby'::bool THEN :'before' ELSE pg_current_wal_insert_lsn()::text END;
SQL
             printf '%s\n' "$sums"
             cat <<'SQL'
\\else
SELECT 'moved', :'before';
\\endif
COMMIT;
SQL
           } | psql_run -d "$db" -F "$us")
    case $read in moved*) ;; *) break ;; esac
    attempt=$((attempt + 1))
    if [ $attempt -ge 20 ]; then
      echo "$db: the standby replayed WAL during each of 20 snapshots: no position to check a copy at" >&2
      exit 6
    fi
    sleep 0.1
  done
  printf '%s\n' "$read" | sed "s/^/$db$us/"
done
"""


# The engine's own checks of a restored copy: pg_amcheck (PostgreSQL 14+) over every
# database, heap and B-tree indexes, amcheck installed where missing (a scratch copy).
COPY_CHECK = b"""set -eu
dir=$1
bin=/usr/lib/postgresql/$(cat "$dir/PG_VERSION")/bin
[ -x "$bin/pg_amcheck" ] || bin=$(dirname "$(command -v pg_amcheck)")
cd /
exec runuser -u postgres -- "$bin/pg_amcheck" -h "$dir" -p 5432 --all --install-missing --heapallindexed
"""

# A drill's copy stopped and removed (sh -s -- DIR): only a folder a restore made.
RESTORE_REMOVE = b"""set -eu
dir=$1
[ -e "$dir" ] || exit 0
[ -f "$dir/.mzops-restore" ] || { echo "$dir is not a copy mzops restored" >&2; exit 3; }
cd /
if [ -f "$dir/postmaster.pid" ] && [ -f "$dir/PG_VERSION" ]; then
  bin=/usr/lib/postgresql/$(cat "$dir/PG_VERSION")/bin
  [ -x "$bin/pg_ctl" ] || bin=$(dirname "$(command -v pg_ctl)")
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true
fi
rm -rf -- "$dir"
"""


def lsn(text: str) -> int:
    """A WAL position as PostgreSQL prints it ("16/B374D848": high and low 32 bits in hex)."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def _timeline(text: str | None) -> int | None:
    """A timeline ID as the server or pg_controldata prints it; None when not said
    (never 0: timelines start at 1, and an unknown one must not look like another)."""
    return int(text) if text and text.isdigit() and int(text) > 0 else None


def segment_number(name: str, segment_size: int) -> tuple[int, int]:
    """(timeline, segment number) of a WAL file name: timeline, then the segment number
    as its high part (the "log id") and low part, each 8 hex digits; the low part counts
    to 4 GiB / segment size (src/include/access/xlog_internal.h, XLogFileName)."""
    found = SEGMENT.match(name)
    if not found:
        raise ValueError(f"not a WAL segment name: {name!r}")
    per_id = 0x100000000 // segment_size
    return int(found.group(1), 16), int(found.group(2), 16) * per_id + int(found.group(3), 16)


def segment_name(timeline: int, number: int, segment_size: int) -> str:
    per_id = 0x100000000 // segment_size
    return f"{timeline:08X}{number // per_id:08X}{number % per_id:08X}"


# A restore over the server's own data directory (backup restore --in-place): refused
# while the server runs; DATA moved aside whole (the way back), an empty DATA for the
# extraction. sh -s -- PORT DATA STAMP [check]
IN_PLACE_PREPARE = _PSQL + _PG_SERVICE + br"""set -eu
PORT=$1; data=${2:-}; stamp=$3; check=${4:-}
pg_data
if pg_up || { [ -f "$data/postmaster.pid" ] && kill -0 "$(head -n 1 "$data/postmaster.pid")" 2>/dev/null; }; then
  echo "the server on port $PORT ($data) runs: stop it first (a restore in place never goes over a running server)" >&2
  exit 4
fi
[ -f "$data/PG_VERSION" ] || { echo "$data is no PostgreSQL data directory" >&2; exit 3; }
kept=$data.mzops-before-restore-$stamp
[ ! -e "$kept" ] || { echo "$kept exists already" >&2; exit 3; }
echo "mzops: data_directory=$data"
echo "mzops: kept=$kept"
[ "$check" = check ] && exit 0
mv "$data" "$kept"
mkdir -m 0700 "$data"
chown postgres: "$data"
"""

# The server started on its restored data directory with its own configuration (Debian's
# in /etc/postgresql, or the one the backup holds), recovery settings added to
# postgresql.auto.conf until the target is reached: the archive on tape, the target,
# promote, hot_standby off (nobody reads a state on its way to the target); then reset
# with ALTER SYSTEM and the restore's WAL removed. sh -s -- PORT DATA TARGET
IN_PLACE_START = _PSQL + _PG_SERVICE + _REOPEN_AT_WAL_END + br"""set -eu
PORT=$1; data=$2; target=$3
pg_bin
rm -f "$data/standby.signal" "$data/postmaster.pid"
{
  echo "# added by mzops backup restore --in-place until its target is reached"
  echo "restore_command = 'cp \"$data/mzops-wal/%f\" \"%p\"'"
  case $target in
    position=*) echo "recovery_target_lsn = '${target#position=}'" ;;
    *) echo "recovery_target_time = '${target#time=}'" ;;
  esac
  echo "recovery_target_action = 'promote'"
  echo "hot_standby = off"
} >> "$data/postgresql.auto.conf"
touch "$data/recovery.signal"
chown -R postgres: "$data"
cluster=$(pg_lsclusters -h 2>/dev/null | awk -v d="$data" '$6 == d {print $1, $2; exit}')
log=$data/mzops-restore.log
[ -z "$cluster" ] || log=$(pg_lsclusters -h | awk -v d="$data" '$6 == d {print $7; exit}')
opened() {
  if [ -n "$cluster" ]; then pg_ctlcluster $cluster start -- -t 3600 >&2 || return 1
  else (cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$log" -w -t 3600 start) >&2 || return 1
  fi
  until [ "$(echo "SELECT pg_is_in_recovery()" | psql_run 2>/dev/null)" = f ]; do
    [ -f "$data/postmaster.pid" ] || return 1
    sleep 0.5
  done
}
if ! opened && ! reopened_at_wal_end "$data/postgresql.auto.conf" "$log" "$data/recovery.signal"; then
  echo "the server did not open on its restored data:" >&2
  tail -n 5 "$log" >&2 2>/dev/null || true
  exit 1
fi
psql_run >/dev/null <<'SQL'
ALTER SYSTEM RESET restore_command;
ALTER SYSTEM RESET recovery_target_time;
ALTER SYSTEM RESET recovery_target_lsn;
ALTER SYSTEM RESET recovery_target_action;
ALTER SYSTEM RESET hot_standby;
SELECT pg_reload_conf();
SQL
rm -rf -- "$data/mzops-wal"
tail -n 50 "$log" 2>/dev/null | grep -E "recovery stopping|last completed transaction" | tail -n 2 >&2 || true
echo "mzops: port=$PORT"
echo "mzops: data_directory=$data"
"""

# After a failed restore in place: the server stopped, the kept data put back whole.
# sh -s -- DATA KEPT
IN_PLACE_UNDO = br"""set -eu
data=$1; kept=$2
[ -d "$kept" ] || { echo "$kept is gone: nothing to put back" >&2; exit 3; }
if [ -f "$data/postmaster.pid" ] && [ -f "$kept/PG_VERSION" ]; then
  bin=/usr/lib/postgresql/$(cat "$kept/PG_VERSION")/bin
  (cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m immediate -w stop) >/dev/null 2>&1 || true
fi
rm -rf -- "$data"
mv "$kept" "$data"
"""


class _Backup:
    """PostgreSQL's part of the backup contract: base backups with pg_basebackup, WAL
    archived by the server's archive_command (the pg.wal_archive rule writes it) and
    collected with every run, point-in-time recovery into a scratch instance."""

    backup_facts = BACKUP_FACTS
    full_backup = FULL_BACKUP
    log_backup = LOG_BACKUP
    log_commit = LOG_COMMIT
    restore_start = RESTORE_START
    full_format = "POSIX tar (pg_basebackup -Ft -X fetch: the data directory and the WAL it needs)"
    full_extract = "tar -x -f - -C DATA_DIRECTORY"
    table_sums = TABLE_SUMS
    reads_on_standby = True          # pg_basebackup works on a standby; its LSNs are the primary's
    backup_account = BACKUP_ACCOUNT
    backup_account_rule = "pg.backup_account"
    in_place_prepare = IN_PLACE_PREPARE
    in_place_start = IN_PLACE_START
    in_place_undo = IN_PLACE_UNDO
    copy_check = COPY_CHECK
    restore_remove = RESTORE_REMOVE

    def backup_problems(self, facts: dict[str, str]) -> list[str]:
        problems = []
        for key in ("archive_mode", "archive_command", "wal_segment_size", "data_directory", "in_recovery", "failing",
                    "timeline"):
            if key not in facts:
                problems.append(f"the server did not say {key} (pg_settings, pg_stat_archiver)")
        if problems:
            return problems
        if facts["in_recovery"] == "true":
            problems.append("the server is a standby (in recovery): its WAL is archived by its primary; "
                            "back up the primary")
        if facts["archive_mode"] not in ("on", "always"):
            problems.append(f"archive_mode is {facts['archive_mode']}: no WAL is archived, so no point in time "
                            "can be restored (harden with rule pg.wal_archive; it takes a restart)")
        elif not ARCHIVE_COMMAND.match(facts["archive_command"]):
            problems.append(f"archive_command is {facts['archive_command']!r}, not the one rule pg.wal_archive "
                            "writes: mzops cannot tell where the WAL goes")
        if facts["failing"] == "true":
            problems.append(f"the archive command fails: WAL {facts.get('last_failed_wal') or '?'} could not be "
                            f"archived (last failure {facts.get('last_failed_time') or '?'}, pg_stat_archiver)")
        return problems

    def log_directory(self, facts: dict[str, str]) -> str:
        found = ARCHIVE_COMMAND.match(facts.get("archive_command", ""))
        if not found:
            raise ValueError("archive_command is not mzops's")
        return found.group(1)

    def full_positions(self, said: str) -> dict[str, str]:
        """pg_basebackup -v: "write-ahead log start point: 0/2000028 on timeline 1" and
        "write-ahead log end point: 0/2000100" (src/bin/pg_basebackup/pg_basebackup.c)."""
        start = re.search(r"write-ahead log start point: ([0-9A-F]+/[0-9A-F]+) on timeline (\d+)", said)
        end = re.search(r"write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)", said)
        if not start or not end:
            raise ValueError("pg_basebackup did not print its WAL start and end points")
        return {"start_lsn": start.group(1), "timeline": start.group(2), "end_lsn": end.group(1)}

    def log_gaps(self, full: dict, logs: list[str], upto: str) -> list[str]:
        """Every segment from the one holding the base backup's end point (the copy holds
        the WAL to that point; replay continues in that segment) to UPTO must be archived,
        on the base's timeline or a later one."""
        size = int(full["segment_size"])
        first = lsn(full["end_lsn"]) // size
        timeline = int(full["timeline"])
        have = set()
        for name in logs:
            if SEGMENT.match(name):
                tli, number = segment_number(name, size)
                if tli >= timeline:
                    have.add(number)
        last = segment_number(upto, size)[1]
        return [segment_name(timeline, n, size) for n in range(first, last + 1) if n not in have]

    def restore_layout(self, kind: str, increment: int) -> tuple[str, str]:
        return ("mzops-wal" if kind == "log" else ""), 'mkdir -p "$1" && exec tar -x -f - -C "$1"'

    def restore_args(self, base: dict, increments: int) -> list[str]:
        return list(base.get("settings", []))

    def restore_facts(self, facts: dict[str, str]) -> dict:
        """What a restore of a full taken now needs to know: the WAL segment size and the
        primary's values of the settings recovery needs at least (RECOVERY_MINIMUMS)."""
        return {"segment_size": facts.get("wal_segment_size", ""), "version": facts.get("server_version_num", ""),
                "data_directory": facts.get("data_directory", ""),
                "settings": [f"{key} = {int(facts[key])}" for key in RECOVERY_MINIMUMS
                             if facts.get(key, "").isdigit()]}



# ----------------------------------------------------------------- replication (DR)

_PROTECT_SH = (pathlib.Path(__file__).parent / "protect.sh").read_bytes()


# Role, positions and links of the server on $1; when it does not answer, what its
# control file says (pg_controldata: cluster state, last checkpoint), so a cleanly
# stopped primary still has a position a promotion can be gated on.
REPLICATION_FACTS = _PSQL + _PG_SERVICE + br"""set -u
PORT=$1; data=${2:-}
us=$(printf '\037')
if out=$(psql_run -F "$us" 2>&1 <<'SQL'
SELECT 'running', 'true'
UNION ALL SELECT name, setting FROM pg_settings WHERE name IN ('data_directory', 'config_file', 'hba_file',
  'listen_addresses', 'wal_log_hints', 'data_checksums', 'synchronous_standby_names', 'primary_conninfo',
  'server_version_num', 'port')
UNION ALL SELECT 'in_recovery', pg_is_in_recovery()::text
UNION ALL SELECT 'system', system_identifier::text FROM pg_control_system()
UNION ALL SELECT 'position', CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn()::text, '')
                                  ELSE pg_current_wal_lsn()::text END
UNION ALL SELECT 'receive_position', coalesce(pg_last_wal_receive_lsn()::text, '')
UNION ALL SELECT 'replay_paused', CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE '' END
UNION ALL SELECT 'last_replay', coalesce(extract(epoch FROM pg_last_xact_replay_timestamp())::text, '')
UNION ALL SELECT 'now', extract(epoch FROM now())::text
UNION ALL SELECT 'timeline', CASE WHEN pg_is_in_recovery()
    THEN coalesce((SELECT received_tli::text FROM pg_stat_wal_receiver),
                  (SELECT greatest(c.timeline_id, r.min_recovery_end_timeline)::text
                   FROM pg_control_checkpoint() c, pg_control_recovery() r))
    ELSE (('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int)::text END
UNION ALL SELECT 'receiver', concat_ws(' ', status, sender_host, sender_port) FROM pg_stat_wal_receiver
UNION ALL SELECT 'sender', concat_ws(' ', coalesce(host(client_addr), 'local'), application_name, state, sync_state,
  coalesce(replay_lsn::text, '0/0'), coalesce(extract(epoch FROM replay_lag)::text, '0')) FROM pg_stat_replication
SQL
); then
  printf '%s\n' "$out"
  exit 0
fi
echo "running${us}false"
echo "said${us}$(printf '%s' "$out" | tail -n 1)"
[ -n "$data" ] || data=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PORT" '$3 == p {print $6; exit}')
[ -n "$data" ] && [ -f "$data/PG_VERSION" ] || { echo "control${us}none"; exit 0; }
pg_bin
echo "data_directory${us}$data"
[ -f "$data/standby.signal" ] && echo "standby_signal${us}true"
[ -f "$data/postmaster.pid" ] && kill -0 "$(head -n 1 "$data/postmaster.pid")" 2>/dev/null && echo "postmaster${us}alive"
"$bin/pg_controldata" "$data" | sed -n \
  -e "s/^Database cluster state: *\(.*\)$/cluster_state${us}\1/p" \
  -e "s/^Database system identifier: *\(.*\)$/system${us}\1/p" \
  -e "s/^Latest checkpoint location: *\(.*\)$/checkpoint${us}\1/p" \
  -e "s/^Latest checkpoint's TimeLineID: *\(.*\)$/checkpoint_timeline${us}\1/p" \
  -e "s/^wal_log_hints setting: *\(.*\)$/wal_log_hints${us}\1/p" \
  -e "s/^Data page checksum version: *\(.*\)$/checksum_version${us}\1/p"
"""

# Replication set up on one side of a pair (run on both: the configuration is the same
# on each side, pointing at the other, so a switch of roles is only standby.signal):
# the account (a SCRAM verifier: the password never reaches the server's log), its
# pg_hba lines for the other side, and a drop-in the server includes, outside the data
# directory where it can (pg_basebackup and pg_rewind never copy it): listen on this
# side's address, wal_log_hints (pg_rewind), WAL kept for the other side, and the
# other side as primary_conninfo (used only while standby.signal is there). MODE:
# check (print what would change), apply, apply-restart. The first script lines set
# MZOPS_VERIFIER and MZOPS_PASSWORD (the standby's pgpass file: libpq needs it there).
PROTECT = _PSQL + (_FILES / "validate.sh").read_bytes() + _PROTECT_SH + br"""set -eu
PORT=$1; self=$2; other=$3; other_port=$4; account=$5; name=$6; peer=$7; sync=$8; keep=$9; mode=${10}
service=${11:-}
conf=$(echo "SHOW config_file" | psql_run); hba=$(echo "SHOW hba_file" | psql_run)
data=$(echo "SHOW data_directory" | psql_run)
home=$(getent passwd postgres | cut -d: -f6)
pgpass=$home/.mzops-dr.pgpass
if grep -Eq "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf\.d'" "$conf"; then
  dropin=$(dirname "$conf")/conf.d/mzops-dr.conf; include=
else
  dropin=$(dirname "$conf")/mzops-dr.conf; include="include_if_exists = 'mzops-dr.conf'"
fi
case $dropin in "$data"/*) echo "the configuration lives in the data directory ($conf): pg_rewind would copy the other side's over it" >&2; exit 6;; esac
listen=$(echo "SHOW listen_addresses" | psql_run)
for address in $self $service; do
  case ",$(echo "$listen" | tr -d ' ')," in *",*,"*|*",$address,"*) ;; *) listen="$listen,$address";; esac
done
want=$(cat <<EOF
# mzops dr (generated): replication with $other; primary_conninfo is used only while
# standby.signal is in the data directory
listen_addresses = '$listen'
wal_log_hints = on
hot_standby = on
wal_keep_size = '$keep'
primary_conninfo = 'host=$other port=$other_port user=$account passfile=$pgpass application_name=$name'
synchronous_standby_names = '$( [ "$sync" = on ] && echo "$peer" )'
EOF
)
changes=
[ "$(cat "$dropin" 2>/dev/null)" = "$want" ] || changes="$changes
change: $dropin (listen on $self, wal_log_hints, primary_conninfo to $other)"
[ -z "$include" ] || grep -qxF "$include" "$conf" || changes="$changes
change: $conf: $include"
hba_lines="host replication $account $other/32 scram-sha-256 # mzops-dr
host postgres $account $other/32 scram-sha-256 # mzops-dr"
[ "$(grep -F '# mzops-dr' "$hba" || true)" = "$hba_lines" ] || changes="$changes
change: $hba: replication and rewind from $other by $account (scram-sha-256)"
service_check
# a standby's roles are its primary's (replicated): set there
standby=$(echo "SELECT pg_is_in_recovery()" | psql_run)
role=$(psql_run <<SQL
SELECT rolreplication::text || ' ' || rolcanlogin::text || ' ' || pg_has_role(oid, 'pg_checkpoint', 'MEMBER')::text
  FROM pg_roles WHERE rolname = '$account'
SQL
)
[ "$role" = "true true true" ] || [ "$standby" = t ] || changes="$changes
change: role $account (LOGIN REPLICATION, pg_checkpoint, pg_rewind's functions)"
restart=
[ "$(echo "SHOW wal_log_hints" | psql_run)" = on ] || restart=" wal_log_hints"
echo "$listen" | grep -q "$self" && [ "$(echo "SHOW listen_addresses" | psql_run)" = "$listen" ] || restart="$restart listen_addresses"
report_or_stop
service_apply
umask 077
printf '%s\n' "$MZOPS_PASSWORD" > "$pgpass.new" && chown postgres: "$pgpass.new" && mv "$pgpass.new" "$pgpass"
[ "$standby" = t ] || psql_run >/dev/null <<SQL
SET log_statement = 'none';
DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$account') THEN CREATE ROLE "$account"; END IF; END\$\$;
ALTER ROLE "$account" LOGIN REPLICATION PASSWORD '$MZOPS_VERIFIER';
GRANT pg_checkpoint TO "$account";
GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean), pg_catalog.pg_stat_file(text, boolean),
  pg_catalog.pg_read_binary_file(text), pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) TO "$account";
SQL
[ -f "$hba.mzops-before-dr" ] || cp -p "$hba" "$hba.mzops-before-dr"
{ printf '%s\n' "$hba_lines"; grep -vF '# mzops-dr' "$hba"; } > "$hba.new" && chown --reference="$hba" "$hba.new" \
  && chmod --reference="$hba" "$hba.new" && mv "$hba.new" "$hba"
mkdir -p "$(dirname "$dropin")"
printf '%s\n' "$want" > "$dropin.new" && chown --reference="$conf" "$dropin.new" && chmod 0644 "$dropin.new" && mv "$dropin.new" "$dropin"
[ -z "$include" ] || grep -qxF "$include" "$conf" || echo "$include" >> "$conf"
rejected || { echo "the server rejects the new configuration: nothing reloaded" >&2; exit 1; }
if [ -n "$restart" ]; then
""" + (_FILES / "restart.sh").read_bytes().replace(b"set -e\n", b"", 1) + br"""
else
  echo "SELECT pg_reload_conf()" | psql_run >/dev/null
fi
"""

# This side made a fresh standby of OTHER: stopped; its data directory put aside once
# (the way back: DATA.mzops-before-dr) or emptied; a base backup streamed from OTHER as
# the replication account; standby.signal; started, and waited for until it streams.
STANDBY_BUILD = _PSQL + _PG_SERVICE + br"""set -eu
PORT=$1; other=$2; other_port=$3; account=$4
pg_bin
home=$(getent passwd postgres | cut -d: -f6)
if pg_up; then pg_service stop fast; fi
if [ -e "$data.mzops-before-dr" ]; then rm -rf -- "$data"; else mv "$data" "$data.mzops-before-dr"; fi
install -d -o postgres -g postgres -m 0700 "$data"
(cd / && runuser -u postgres -- env PGPASSFILE="$home/.mzops-dr.pgpass" "$bin/pg_basebackup" -h "$other" \
   -p "$other_port" -U "$account" -D "$data" -X stream -c fast -w) >&2
touch "$data/standby.signal"; chown postgres: "$data/standby.signal"
pg_service start >&2
i=0
until [ "$(echo "SELECT status FROM pg_stat_wal_receiver" | psql_run 2>/dev/null)" = streaming ]; do
  i=$((i + 1)); [ $i -le 120 ] || { echo "the standby does not stream from $other within 60 s" >&2; exit 1; }
  sleep 0.5
done
"""

SERVER_STOP = _PSQL + _PG_SERVICE + br"""set -eu
PORT=$1; data=${2:-}; mode=${3:-fast}
pg_data
if pg_up; then pg_service stop "$mode" >&2; fi
pg_up && { echo "the server still answers after stop -m $mode" >&2; exit 1; }
exit 0
"""

SERVER_START = _PSQL + _PG_SERVICE + br"""set -eu
PORT=$1; data=${2:-}
pg_up && exit 0
pg_service start >&2
"""

# pg_promote waits for the promotion to finish (wait => true); then the server must
# answer writable. A synchronous standby name pointing at the side that is gone would
# hold every commit: cleared here (the report says it), set again by the next protect.
PROMOTE = _PSQL + br"""set -eu
PORT=$1; seconds=$2
[ "$(echo "SELECT pg_is_in_recovery()" | psql_run)" = t ] || { echo "not a standby: nothing to promote" >&2; exit 4; }
[ "$(echo "SELECT pg_promote(true, $seconds)" | psql_run)" = t ] || { echo "pg_promote did not finish within $seconds s" >&2; exit 1; }
[ "$(echo "SELECT pg_is_in_recovery()" | psql_run)" = f ] || { echo "still in recovery after pg_promote" >&2; exit 1; }
if [ -n "$(echo "SHOW synchronous_standby_names" | psql_run)" ]; then
  conf=$(echo "SHOW config_file" | psql_run)
  for f in "$(dirname "$conf")/conf.d/mzops-dr.conf" "$(dirname "$conf")/mzops-dr.conf"; do
    [ -f "$f" ] && sed -i "s/^synchronous_standby_names = .*/synchronous_standby_names = ''/" "$f"
  done
  echo "SELECT pg_reload_conf()" | psql_run >/dev/null
  echo "mzops: synchronous replication off until the other side follows again" >&2
fi
"""

# The old primary made a standby of OTHER (stopped first): CHECKPOINT on OTHER (a new
# primary's control file names its new timeline only after one: without it pg_rewind
# says "no rewind required" and the copy silently misses rows), pg_rewind from OTHER,
# this side's own configuration files put back (pg_rewind copies the source's, port
# and all, where they live in the data directory), standby.signal, started.
REJOIN = _PSQL + _PG_SERVICE + br"""set -eu
PORT=$1; data=${2:-}; other=$3; other_port=$4; account=$5
pg_data; pg_bin
home=$(getent passwd postgres | cut -d: -f6)
source="host=$other port=$other_port user=$account dbname=postgres passfile=$home/.mzops-dr.pgpass"
if pg_up; then pg_service stop fast >&2; fi
keep=$(mktemp -d)
for f in postgresql.conf pg_hba.conf pg_ident.conf postgresql.auto.conf; do
  [ -f "$data/$f" ] && cp -p "$data/$f" "$keep/$f"
done
(cd / && runuser -u postgres -- psql -XAtq -d "$source" -c CHECKPOINT) >&2
# a server that crashed is first recovered by pg_rewind in single-user mode, which must
# read the cluster's configuration where Debian keeps it, outside the data directory
config=
cluster=$(pg_lsclusters -h 2>/dev/null | awk -v d="$data" '$6 == d {print $1 "/" $2; exit}')
[ -f "$data/postgresql.conf" ] || [ -z "$cluster" ] || config="--config-file=/etc/postgresql/$cluster/postgresql.conf"
(cd / && runuser -u postgres -- "$bin/pg_rewind" -D "$data" --source-server="$source" $config) >&2
for f in postgresql.conf pg_hba.conf pg_ident.conf postgresql.auto.conf; do
  [ -f "$keep/$f" ] && cp -p "$keep/$f" "$data/$f"
done
rm -rf "$keep"
touch "$data/standby.signal"; chown postgres: "$data/standby.signal"
pg_service start >&2
"""

WRITE_PROBE = _PSQL + br"""set -eu
PORT=$1
psql_run <<'SQL'
BEGIN;
CREATE TEMPORARY TABLE mzops_write_probe (at timestamptz) ON COMMIT DROP;
INSERT INTO mzops_write_probe VALUES (now());
SELECT txid_current() > 0;
COMMIT;
SQL
"""


# A drill's throw-away copy of the standby (sh -s -- PORT DIR): a base backup of the
# standby itself over its local socket (pg_basebackup works from a standby: no load on
# the primary), opened in DIR with a configuration of its own: no TCP (listen_addresses
# empty: isolated from every network), a socket in DIR, no archiving, nobody to follow;
# without a signal file it ends recovery at the backup's end and opens read-write, as a
# promoted standby would. Then it must take a write. Removed by `restore_remove`.
DRILL_COPY = _PSQL + _PG_SERVICE + _SCRATCH_CONF + br"""set -eu
PORT=$1; dir=$2
[ ! -e "$dir" ] || { echo "$dir exists: a drill copy goes to a new folder" >&2; exit 3; }
[ "$(echo "SELECT pg_is_in_recovery()" | psql_run)" = t ] || { echo "not a standby: a drill copies the DR standby" >&2; exit 4; }
pg_bin
install -d -o postgres -g postgres -m 0700 "$dir"
(cd / && runuser -u postgres -- "$bin/pg_basebackup" -p "$PORT" -D "$dir" -X stream -c fast) >&2
touch "$dir/.mzops-restore"
for f in postgresql.auto.conf postgresql.conf; do [ -f "$dir/$f" ] && mv "$dir/$f" "$dir/$f.from-standby"; done
rm -f "$dir/standby.signal" "$dir/recovery.signal"
{
  scratch_conf
  echo "max_wal_senders = 0"
} > "$dir/postgresql.conf"
echo "local all postgres peer" > "$dir/mzops-hba.conf"
: > "$dir/mzops-ident.conf"
chown -R postgres:postgres "$dir"
(cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -l "$dir/mzops-drill.log" -w -t 600 start) >&2
PGHOST=$dir; export PGHOST
PORT=5432
[ "$(echo "SELECT pg_is_in_recovery()" | psql_run)" = f ] || { echo "the copy did not open read-write" >&2; exit 1; }
psql_run <<'SQL' >/dev/null
CREATE TABLE mzops_drill_probe (at timestamptz DEFAULT now());
INSERT INTO mzops_drill_probe DEFAULT VALUES;
DROP TABLE mzops_drill_probe;
SQL
echo "mzops: socket=$dir"
echo "mzops: position=$(echo "SELECT pg_current_wal_lsn()" | psql_run)"
"""


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for PASSWORD (RFC 5802/7677, as
    libpq's pg_fe_scram_build_secret): the server never sees the password itself."""
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client = hmac.new(salted, b"Client Key", "sha256").digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client).digest())}:{b64(server)}"


def pgpass_line(account: str, password: str) -> str:
    """A libpq password file line for ACCOUNT on any host (':' and '\\' escaped)."""
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:{account}:{escaped}"


class _Replication:
    """PostgreSQL's part of the DR contract: streaming replication, promotion by
    pg_promote, the way back by pg_rewind."""

    replication_facts = REPLICATION_FACTS
    protect = PROTECT
    standby_build = STANDBY_BUILD
    server_stop = SERVER_STOP
    server_start = SERVER_START
    promote = PROMOTE
    rejoin = REJOIN
    write_probe = WRITE_PROBE
    drill_copy = DRILL_COPY
    synchronous = True
    rejoin_method = "rewound by pg_rewind after a CHECKPOINT on the new primary"
    timelines = True

    def position(self, text: str) -> int:
        return lsn(text)

    def replication_secrets(self, account: str, password: str) -> dict[str, str]:
        return {"MZOPS_PASSWORD": pgpass_line(account, password), "MZOPS_VERIFIER": scram_verifier(password)}

    def replication_state(self, asset: str, facts: dict[str, str]):
        state = self._replication_state(asset, facts)
        state.system = facts.get("system", "")
        return state

    def _replication_state(self, asset: str, facts: dict[str, str]):
        from mzops.engines.base import DOWN, PRIMARY, STANDBY, STOPPED, ReplicationState
        if facts.get("running") == "true":
            standby = facts.get("in_recovery") == "true"
            text = facts.get("position", "")
            receiver = facts.get("receiver", "").split()
            state = ReplicationState(asset, STANDBY if standby else PRIMARY, lsn(text) if text else None, text,
                                     _timeline(facts.get("timeline")),
                                     facts=facts)
            if standby:
                state.streaming = bool(receiver) and receiver[0] == "streaming"
                state.following = receiver[1] if len(receiver) > 1 else ""
                if facts.get("replay_paused") not in ("", "not paused", None):
                    state.problem = f"replay is {facts['replay_paused']}"
                elif not state.streaming:
                    state.problem = "not streaming from a primary (" + (receiver[0] if receiver else "no WAL receiver") + ")"
            return state
        said = facts.get("said", "")
        if facts.get("control") == "none" or "cluster_state" not in facts:
            return ReplicationState(asset, DOWN, problem=f"the server does not answer ({said or 'no answer'}) "
                                    "and its control file cannot be read", facts=facts)
        cluster = facts["cluster_state"]
        text = facts.get("checkpoint", "")
        if facts.get("postmaster") == "alive":
            return ReplicationState(asset, DOWN, problem=f"the postmaster runs but does not answer: {said}",
                                    facts=facts)
        if cluster in ("shut down", "shut down in recovery"):
            return ReplicationState(asset, STOPPED, lsn(text), text, _timeline(facts.get("checkpoint_timeline")),
                                    was=STANDBY if cluster.endswith("recovery") else PRIMARY, facts=facts)
        # "in production" with no postmaster: it crashed (or was killed); WAL after its
        # last checkpoint may exist that nobody can read now.
        return ReplicationState(asset, DOWN, lsn(text) if text else None, text,
                                _timeline(facts.get("checkpoint_timeline")), was=PRIMARY
                                if cluster == "in production" else STANDBY,
                                problem=f"stopped without a clean shutdown (pg_controldata: {cluster}): its last "
                                        "position is not known", facts=facts)

    def replication_problems(self, facts: dict[str, str]) -> list[str]:
        hints = facts.get("wal_log_hints", "")
        checksums = facts.get("data_checksums", "")
        if facts.get("running") != "true":
            checksums = "on" if facts.get("checksum_version", "0") not in ("", "0") else "off"
        if hints == "on" or checksums == "on":
            return []
        return ["neither data checksums nor wal_log_hints: pg_rewind cannot turn this server into a standby "
                "after a failover (dr protect sets wal_log_hints; it takes a restart)"]

@dataclass(frozen=True)
class PgRole:
    name: str
    login: bool
    superuser: bool
    createrole: bool
    replication: bool
    bypassrls: bool
    valid_until: str
    config: dict[str, str]


@dataclass(frozen=True)
class RoleGrants:
    """What a role may do beyond its attributes (the pg_role_grants query)."""
    name: str
    createdb: bool
    member_of: frozenset[str]
    functions: frozenset[str]       # those of BACKUP_FUNCTIONS it may execute


# The functions a backup calls beyond reading (EXECUTE revoked from PUBLIC by default),
# with the signatures GRANT and REVOKE name them by.
BACKUP_FUNCTIONS = {"pg_switch_wal": "pg_switch_wal()", "pg_create_restore_point": "pg_create_restore_point(text)"}


class PostgreSQL(_Backup, _Replication, Engine):
    name = "postgresql"
    family = "postgresql"
    default_port = 5432
    sep = "\x1f"
    runner = "pg_sql"
    queries = {
        "version": "SELECT version()",
        "pg_settings": "SELECT name, setting, coalesce(unit, ''), source, coalesce(sourcefile, ''), "
                       "coalesce(sourceline::text, ''), pending_restart FROM pg_settings ORDER BY 1",
        "pg_hba": "SELECT line_number, type, array_to_string(database, ','), array_to_string(user_name, ','), "
                  "coalesce(address, ''), coalesce(netmask, ''), coalesce(auth_method, ''), coalesce(error, ''), "
                  "coalesce(array_to_string(options, ' '), '') FROM pg_hba_file_rules ORDER BY line_number",
        # PostgreSQL 15+; an older server refuses it (the rules that need it say so).
        "pg_ident": "SELECT line_number, map_name, sys_name, pg_username, coalesce(error, '') "
                    "FROM pg_ident_file_mappings ORDER BY line_number",
        # pg_roles, not pg_authid: readable by a read-only login (rolpassword is hidden
        # there). Role-level settings (ALTER ROLE ... SET) joined with chr(30): a value
        # may hold commas.
        "pg_roles": "SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolreplication, "
                    "r.rolbypassrls, coalesce(r.rolvaliduntil::text, ''), coalesce((SELECT "
                    "array_to_string(s.setconfig, chr(30)) FROM pg_db_role_setting s WHERE s.setrole = r.oid "
                    "AND s.setdatabase = 0), '') FROM pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1",
        # What a role may do beyond its attributes: the roles it is a member of, CREATEDB,
        # and the two functions a backup calls (revoked from PUBLIC by default).
        "pg_role_grants": "SELECT r.rolname, r.rolcreatedb, coalesce((SELECT string_agg(g.rolname, ',' ORDER BY "
                          "g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE "
                          "m.member = r.oid), ''), has_function_privilege(r.oid, 'pg_switch_wal()', 'EXECUTE'), "
                          "has_function_privilege(r.oid, 'pg_create_restore_point(text)', 'EXECUTE') "
                          "FROM pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1",
        # The kind of each stored hash only; the hash never leaves the server. Superuser only.
        "pg_hashes": "SELECT rolname, CASE WHEN rolpassword IS NULL THEN 'none' "
                     "WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256' "
                     "WHEN rolpassword ~ '^md5[0-9a-f]{32}$' THEN 'md5' ELSE 'plain' END "
                     "FROM pg_authid WHERE rolcanlogin ORDER BY 1",
        "pg_sessions": "SELECT usename, coalesce(host(client_addr), 'local'), count(*) FROM pg_stat_activity "
                       "WHERE usename IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    }
    account_queries = ("version", "pg_roles", "pg_sessions")
    stat_paths = ' '.join(f'"$(pg_sql \'SHOW {s}\')"' for s in ("data_directory", "config_file", "hba_file"))
    sql_exec = (_FILES / "psql.sh").read_bytes() + b'printf \'%s\\n\' "$sql" | psql_run\n'
    # sh -s -- PORT [restart]: reload; restart when a restored setting waits for one (or
    # the server is down).
    after_restore = b'PORT=$1\n' + (_FILES / "psql.sh").read_bytes() + b"""
if echo "SELECT pg_reload_conf()" | psql_run >/dev/null 2>&1; then
  sleep 1
  [ "$(echo 'SELECT count(*) FROM pg_settings WHERE pending_restart' | psql_run)" = 0 ] && exit 0
  echo "restarting postgresql: a restored setting takes effect only at start" >&2
else
  echo "starting postgresql: it was down" >&2
fi
""" + (_FILES / "validate.sh").read_bytes() + (_FILES / "restart.sh").read_bytes()

    def read(self, host, port, user, password, queries, tunnelled):
        import psycopg

        sections: dict[str, Section] = {}
        try:
            # Read-only on the server side; autocommit so one refused query spoils no other.
            with psycopg.connect(host=host, port=port, user=user, password=password, dbname="postgres",
                                 connect_timeout=10, application_name="mzops", autocommit=True,
                                 sslmode="prefer" if tunnelled else "require",
                                 options="-c default_transaction_read_only=on") as conn:
                for section, sql in queries.items():
                    try:
                        sections[section] = Section(0, sections_text(conn.execute(sql).fetchall(), self.sep))
                    except psycopg.Error as exc:
                        sections[section] = Section(1, str(exc).strip().splitlines()[0].encode())
        except psycopg.OperationalError as exc:
            raise DatabaseError(str(exc).strip().splitlines()[-1]) from None
        return sections

    def platform(self, bundle: Bundle) -> Platform:
        return PLATFORM

    # ------------------------------------------------------------- parsed facts

    def settings(self, facts: Facts) -> tuple[str, dict[str, Setting]]:
        out = {}
        for r in self.rows(facts, "pg_settings"):
            name, value, _unit, source, file, line = r[:6]
            origin = f"{file}:{line}" if file else source
            if len(r) > 6 and r[6] == "t":
                origin += ", changed on disk, waiting for a restart"
            out[name.lower()] = Setting(name, value, origin)
        return "pg_settings", out

    def roles(self, facts: Facts) -> list[PgRole]:
        out = []
        for r in self.rows(facts, "pg_roles"):
            if len(r) < 7:
                continue
            config = dict(item.split("=", 1) for item in r[7].split("\x1e") if "=" in item) if len(r) > 7 else {}
            out.append(PgRole(r[0], *(v == "t" for v in r[1:6]), r[6], config))
        return out

    def grants(self, facts: Facts) -> dict[str, RoleGrants]:
        out = {}
        for r in self.rows(facts, "pg_role_grants"):
            if len(r) >= 5:
                functions = frozenset(f for f, granted in zip(BACKUP_FUNCTIONS, r[3:5]) if granted == "t")
                out[r[0]] = RoleGrants(r[0], r[1] == "t", frozenset(g for g in r[2].split(",") if g), functions)
        return out

    def sessions(self, facts: Facts) -> dict[str, set[str]]:
        """Network addresses each role has sessions from now (local socket left out)."""
        out: dict[str, set[str]] = defaultdict(set)
        if facts.rc("sql:pg_sessions") != 0:
            return out
        for r in self.rows(facts, "pg_sessions"):
            if len(r) == 3 and r[1] != "local":
                out[r[0]].add(r[1])
        return out

    def accounts(self, asset: str, facts: Facts, today: dt.date) -> list[Account]:
        sessions = self.sessions(facts)
        out = []
        for number, role in enumerate(self.roles(facts), 1):
            # NOLOGIN roles (groups, locked accounts) exist but cannot log in: locked records.
            record = Account(asset, role.name, f"pg_roles row {number}", tracks_logins=False,
                             sources=set(sessions.get(role.name, set())), locked=not role.login)
            if role.valid_until and role.valid_until != "infinity":
                if dt.date.fromisoformat(role.valid_until[:10]) < today:
                    record.expired.append(f"pg_roles: rolvaliduntil {role.valid_until}")
            record.admin += [f"pg_roles: {role.name} has {a.upper()}" for a in ATTRIBUTES if getattr(role, a)]
            out.append(record)
        return out

    # ------------------------------------------------------------- changes

    def lock(self, account: str, facts: Facts, port: int | None = None) -> LockPlan:
        role = next((r for r in self.roles(facts) if r.name == account), None)
        state = "absent" if role is None else ("present" if role.login else "locked")
        sql = f"ALTER ROLE {ident(account)} NOLOGIN"
        argv = ["runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v", "ON_ERROR_STOP=1",
                "-p", str(port or self.default_port), "-d", "postgres", "-c", sql]
        return LockPlan(state, argv)

    def undo_statements(self, applied, table, before, now, restarting=False):
        out: list[str] = []
        owned = {rule: table.get(rule, {}).get("sql") for rule in applied}
        was = {r.name: r for r in self.roles(before)}
        if owned.get("pg.backup_account"):
            out += self._undo_backup_account(before, now)
        for role in self.roles(now):
            old = was.get(role.name)
            if old is None:
                continue
            if owned.get("pg.privileged_roles"):
                flags = [("" if getattr(old, a) else "NO") + a.upper() for a in ATTRIBUTES
                         if getattr(old, a) != getattr(role, a)]
                if flags:
                    out.append(f"ALTER ROLE {ident(role.name)} {' '.join(flags)};")
            if owned.get("pg.role_validity") and old.valid_until != role.valid_until:
                # ALTER ROLE cannot give back "no expiry" (NULL), only 'infinity'.
                out.append(f"ALTER ROLE {ident(role.name)} VALID UNTIL {literal(old.valid_until)};"
                           if old.valid_until else
                           f"UPDATE pg_authid SET rolvaliduntil = NULL WHERE rolname = {literal(role.name)};")
            if owned.get("pg.admin_idle_timeout"):
                key = "idle_session_timeout"
                if old.config.get(key) != role.config.get(key):
                    out.append(f"ALTER ROLE {ident(role.name)} SET {key} = {literal(old.config[key])};"
                               if key in old.config else f"ALTER ROLE {ident(role.name)} RESET {key};")
        return out

    def _undo_backup_account(self, before: Facts, now: Facts) -> list[str]:
        """The backups' login as it was: dropped if the run made it (its function grants
        first: DROP ROLE refuses a role that holds privileges), else its attributes,
        memberships and function grants put back."""
        account = BACKUP_ACCOUNT
        old = next((r for r in self.roles(before) if r.name == account), None)
        new = next((r for r in self.roles(now) if r.name == account), None)
        if new is None:
            return []
        role = ident(account)
        if old is None:
            return [f"REVOKE EXECUTE ON FUNCTION {', '.join(BACKUP_FUNCTIONS.values())} FROM {role};",
                    f"DROP ROLE {role};"]
        out = []
        old_grants, new_grants = self.grants(before).get(account), self.grants(now).get(account)
        flags = [("" if getattr(old, a) else "NO") + a.upper() for a in ("login", *ATTRIBUTES)
                 if getattr(old, a) != getattr(new, a)]
        if old_grants and new_grants:
            if old_grants.createdb != new_grants.createdb:
                flags.append("CREATEDB" if old_grants.createdb else "NOCREATEDB")
            out += [f"GRANT {ident(g)} TO {role};" for g in sorted(old_grants.member_of - new_grants.member_of)]
            out += [f"REVOKE {ident(g)} FROM {role};" for g in sorted(new_grants.member_of - old_grants.member_of)]
            out += [f"REVOKE EXECUTE ON FUNCTION {BACKUP_FUNCTIONS[f]} FROM {role};"
                    for f in BACKUP_FUNCTIONS if f in new_grants.functions - old_grants.functions]
        if flags:
            out.insert(0, f"ALTER ROLE {role} {' '.join(flags)};")
        return out


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A standard string literal: quotes doubled; a backslash is itself
    (standard_conforming_strings is on by default since PostgreSQL 9.1)."""
    return "'" + value.replace("'", "''") + "'"


ENGINE = PostgreSQL()
