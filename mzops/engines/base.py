"""The contract every database engine keeps: what mzops needs to know of an engine to
audit it, check its accounts, harden it, lock accounts and put things back.

An engine is one file in this package that defines `ENGINE = SomeEngine()`; nothing
else in mzops tests an engine's name. Backup and restore
(GB/T 22239-2019 8.1.4.9) are part of it; replication and promotion are added by the
capability that needs them.
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from mzops.bundle import Bundle, Section
from mzops.facts import Facts
from mzops.compliance.platforms import Platform

if TYPE_CHECKING:  # type hints only: the account model is the account check's
    from mzops.accounts import Account


class Refused(Exception):
    """A query's section is missing or the server refused it (each variant's answer)."""

    def __init__(self, sections: tuple[str, ...], facts: Facts):
        answers = []
        for section in sections:
            text = (facts.text(f"sql:{section}") or "").strip().splitlines()
            answers.append(f"query {section}: {text[-1] if text else 'not collected'}")
        super().__init__("; ".join(answers))


class DatabaseError(Exception):
    """The server could not be reached or refused the login."""


@dataclass(frozen=True)
class Setting:
    name: str
    value: str | None
    origin: str   # where the value comes from, for evidence

    def evidence(self, label: str) -> str:
        shown = self.value if self.value is not None else "(not set)"
        return f"{label}: {self.name} = {shown!r}" + (f" ({self.origin})" if self.origin else "")


@dataclass(frozen=True)
class LockPlan:
    """What locking an account means on this engine, from the facts read now."""

    state: str               # present | locked | absent
    argv: list[str]          # run on the server host as its superuser (empty: nothing to run)


class Engine:
    name: ClassVar[str]                 # as in the inventory's mzops_db_engine
    family: ClassVar[str]               # the baseline and hardening role it is held to
    default_port: ClassVar[int]
    sep: ClassVar[str]                  # the field separator of its rows in a section
    runner: ClassVar[str]               # the collector's shell function that runs its SQL
    # Named read-only queries: section sql:NAME each. Variants of other flavours may be
    # refused by a server; those sections keep the server's error.
    queries: ClassVar[dict[str, str]]
    # The subset the account check reads (a read-only login may see no more).
    account_queries: ClassVar[tuple[str, ...]]
    # A shell expression (on the server host) for the paths whose modes the audit reads.
    stat_paths: ClassVar[str]
    # Shell that runs "$sql" as the server's superuser on its socket (PORT set).
    sql_exec: ClassVar[bytes]
    # Shell run after a hardening snapshot is restored: sh -s -- PORT [restart].
    after_restore: ClassVar[bytes]

    # ------------------------------------------------------------- finding and reading

    def host_lines(self, port: int, names: tuple[str, ...] | None = None) -> str:
        """Shell lines for the host collector: the engine, each query a section, then the
        modes of the server's paths (when all queries are wanted)."""
        lines = [f"PORT={int(port)}", f"sec db:engine echo {self.name}"]
        wanted = self.queries if names is None else {n: self.queries[n] for n in names}
        lines += [f"sec sql:{name} {self.runner} {shlex.quote(sql)}" for name, sql in wanted.items()]
        if names is None:
            lines.append(f"sec db:stat statlist {self.stat_paths}")
        return "\n".join(lines) + "\n"

    def read(self, host: str, port: int, user: str, password: str, queries: dict[str, str],
             tunnelled: bool) -> dict[str, Section]:
        """QUERIES over one read-only connection of the engine's protocol; a refused
        query is a section with the server's error and rc 1 (DatabaseError for a
        server that cannot be reached or refuses the login)."""
        raise NotImplementedError

    def platform(self, bundle: Bundle) -> Platform:
        """The flavour the server says it is (from its own version string)."""
        raise NotImplementedError

    # ------------------------------------------------------------- parsed facts

    def rows(self, facts: Facts, section: str) -> list[list[str]]:
        name = f"sql:{section}"
        if facts.rc(name) != 0:
            raise Refused((section,), facts)
        # "\n" only: str.splitlines would also cut at \x1e, which joins a role's settings.
        return [line.split(self.sep) for line in (facts.text(name) or "").split("\n") if line]

    def first_rows(self, facts: Facts, *sections: str) -> tuple[str, list[list[str]]]:
        """The first of several flavour-specific queries the server answered."""
        for section in sections:
            if facts.rc(f"sql:{section}") == 0:
                return section, self.rows(facts, section)
        raise Refused(sections, facts)

    def settings(self, facts: Facts) -> tuple[str, dict[str, Setting]]:
        """Server settings by lower-case name, with the label of the catalogue read."""
        raise NotImplementedError

    def accounts(self, asset: str, facts: Facts, today: dt.date) -> list[Account]:
        """The server's login accounts, normalised for the account check."""
        raise NotImplementedError

    # ------------------------------------------------------------- changes

    def lock(self, account: str, facts: Facts) -> LockPlan:
        raise NotImplementedError

    def undo_statements(self, applied: list[str], table: dict[str, dict], before: Facts, now: Facts,
                        restarting: bool = False) -> list[str]:
        """SQL that puts back what the applied rules changed in the catalogue (pure: the
        facts before the run and now in, statements out). TABLE is the role's snapshot
        table: its `sql` entries say what each rule changes."""
        raise NotImplementedError

    # ------------------------------------------------------------- backup and restore
    # Shell run as root on the server host over its SSH connection, with the server's own
    # tools; every stream is a tar stream (mzops catalogues its members and their SHA-256).
    # None: the engine has no backup yet (a job for it is refused when the policy loads).
    backup_facts: ClassVar[bytes | None] = None     # sh -s -- PORT: KEY\x1fVALUE lines (`backup_problems`)
    full_backup: ClassVar[bytes | None] = None      # sh -s -- PORT LABEL: a full backup on stdout
    log_backup: ClassVar[bytes | None] = None       # sh -s -- PORT DIR DATA: the archived logs on stdout
    log_commit: ClassVar[bytes | None] = None       # sh -s -- PORT DIR: forget the logs just catalogued
    restore_start: ClassVar[bytes | None] = None    # sh -s -- DIR TARGET ARGS: open the restored copy at TARGET
    incremental: ClassVar[bool] = False             # a run between fulls takes an incremental (full_backup's 3rd arg)
    # A restore in place (`backup restore --in-place`), over the server's own data, the
    # server stopped: `in_place_prepare` (sh -s -- PORT DATA STAMP [check]) refuses a
    # running server and moves DATA aside to DATA.mzops-before-restore-STAMP (the way back;
    # `check`: only says so), printing `mzops: data_directory=` and `mzops: kept=`; the
    # runs are extracted into DATA as for a scratch copy; `in_place_start` (sh -s -- PORT
    # DATA TARGET ARGS, ARGS as `restore_start`'s) starts the server itself, replayed to
    # TARGET, and opens it read-write;
    # `in_place_undo` (sh -s -- DATA KEPT) puts the kept data back after a failure.
    in_place_prepare: ClassVar[bytes | None] = None
    in_place_start: ClassVar[bytes | None] = None
    in_place_undo: ClassVar[bytes | None] = None
    # full_backup and table_sums may run on a current standby of the server instead (its
    # positions are the primary's): a DR standby then carries the reading load
    reads_on_standby: ClassVar[bool] = False
    # The login the backup scripts read as (None: the server's superuser) and the
    # hardening rule that creates it
    backup_account: ClassVar[str | None] = None
    backup_account_rule: ClassVar[str] = ""
    full_format: ClassVar[str] = ""                 # what a full's stream is, for its tape header
    full_extract: ClassVar[str] = ""                # the command that extracts it, for its tape header
    # Drills: what the tables hold (sh -s -- PORT [SOCKET]), the engine's own checks of a
    # copy and its removal (sh -s -- DIR).
    table_sums: ClassVar[bytes | None] = None
    copy_check: ClassVar[bytes | None] = None
    restore_remove: ClassVar[bytes | None] = None

    def backup_problems(self, facts: dict[str, str]) -> list[str]:
        """Why a backup of the server cannot be trusted now (pure: `backup_facts` in)."""
        raise NotImplementedError

    def log_directory(self, facts: dict[str, str]) -> str:
        """Where the server archives its logs on its host, as its own settings say."""
        raise NotImplementedError

    def full_positions(self, said: str) -> dict[str, str]:
        """The log positions a full backup starts and ends at, from what its tool printed."""
        raise NotImplementedError

    def restore_facts(self, facts: dict[str, str]) -> dict:
        """What a restore of a full taken now needs from `backup_facts` (kept with the full;
        its "settings" are passed to `restore_start`)."""
        raise NotImplementedError

    def restore_layout(self, kind: str, increment: int) -> tuple[str, str]:
        """(folder in a restore's DIR, sh that extracts a stream from stdin into "$1") for
        a run of KIND (full, incremental number INCREMENT, log)."""
        raise NotImplementedError

    def restore_args(self, base: dict, increments: int) -> list[str]:
        """`restore_start`'s arguments after DIR and TARGET, from the facts of the last
        full or incremental restored."""
        raise NotImplementedError

    def log_gaps(self, full: dict, logs: list[str], upto: str) -> list[str]:
        """The logs missing between FULL's end (its `full_positions`) and UPTO (a log a
        collection closed), given the archived log names LOGS (pure)."""
        raise NotImplementedError


    # ------------------------------------------------------------- replication (DR)
    # Shell run as root on a server's host. A secret the script needs (the replication
    # account's password) is the first line of the script (never argv); see mzops.dr.
    # None: the engine has no replication yet (a DR plan naming it is refused).
    replication_facts: ClassVar[bytes | None] = None   # sh -s -- PORT DATA: KEY\x1fVALUE lines, also of a stopped server
    protect: ClassVar[bytes | None] = None             # sh -s -- PORT SELF OTHER OTHER_PORT ACCOUNT NAME PEER SYNC KEEP MODE
    standby_build: ClassVar[bytes | None] = None       # sh -s -- PORT OTHER OTHER_PORT ACCOUNT: a fresh standby of OTHER
    server_stop: ClassVar[bytes | None] = None         # sh -s -- PORT DATA MODE (fast: clean, immediate: a fence)
    server_start: ClassVar[bytes | None] = None        # sh -s -- PORT DATA
    promote: ClassVar[bytes | None] = None             # sh -s -- PORT SECONDS: writable, not following anyone
    rejoin: ClassVar[bytes | None] = None              # sh -s -- PORT DATA OTHER OTHER_PORT ACCOUNT: standby of OTHER
    write_probe: ClassVar[bytes | None] = None         # sh -s -- PORT: a write that must succeed on a primary
    drill_copy: ClassVar[bytes | None] = None          # sh -s -- PORT DIR: the standby copied, opened isolated, written
    # A standby that cannot copy its primary itself gets the copy relayed by the
    # controller: `seed_source` on the primary (sh -s -- PORT LABEL) writes it, the
    # short `seed_receive` on the standby (sh -c, "$1" its data directory) reads it;
    # `standby_build` then runs twice, with phase "prepare" before and "start" after.
    seed_source: ClassVar[bytes | None] = None
    seed_receive: ClassVar[str | None] = None
    synchronous: ClassVar[bool] = False                # a plan may ask for synchronous replication
    stopped_position_strict: ClassVar[bool] = True     # a stopped primary's position must be passed, not reached
    stopped_position_name: ClassVar[str] = "shutdown checkpoint"   # what that position is, in words
    rejoin_method: ClassVar[str] = ""                  # how `rejoin` makes an old primary follow, in words
    position_unit: ClassVar[str] = "bytes of WAL"      # what a difference of two positions counts
    # its positions lie on timelines (PostgreSQL): two are comparable only on the same one,
    # and the promotion gate refuses where either timeline is not known
    timelines: ClassVar[bool] = False

    def replication_secrets(self, account: str, password: str) -> dict[str, str]:
        """Shell variables the replication scripts read on their first lines (pure)."""
        raise NotImplementedError

    def replication_state(self, asset: str, facts: dict[str, str]) -> "ReplicationState":
        """What `replication_facts` says of one server (pure)."""
        raise NotImplementedError

    def replication_problems(self, facts: dict[str, str]) -> list[str]:
        """Why the server could not be turned back into a standby after a failover
        (pure; PostgreSQL: pg_rewind needs data checksums or wal_log_hints)."""
        raise NotImplementedError

    def position(self, text: str) -> int:
        """A log position as a number that orders positions (pure)."""
        raise NotImplementedError


PRIMARY, STANDBY, STOPPED, DOWN = "primary", "standby", "stopped", "unknown"


@dataclass
class ReplicationState:
    """One server as the DR machinery sees it. ROLE: primary (writable), standby
    (replaying), stopped (cleanly: POSITION is its last, shutdown, checkpoint), unknown
    (not reachable, or stopped without a clean shutdown). POSITION: a primary's WAL end,
    a standby's replay position, a stopped server's last checkpoint (None: unknown)."""

    asset: str
    role: str
    position: int | None = None
    position_text: str = ""
    timeline: int | None = None     # the history POSITION lies on (PostgreSQL; None: one history only)
    following: str = ""             # a standby's primary (address), when streaming
    streaming: bool = False
    was: str = ""                   # a stopped server: primary or standby before it stopped
    lag_seconds: float | None = None
    problem: str = ""
    facts: dict = None
    system: str = ""                # the cluster's identity: a standby's is its primary's

    def same_cluster(self, other: "ReplicationState") -> bool:
        return bool(self.system) and self.system == other.system

    def to_dict(self) -> dict:
        return {"asset": self.asset, "role": self.role, "position": self.position_text, "timeline": self.timeline,
                "following": self.following, "streaming": self.streaming, "was": self.was,
                "lag_seconds": self.lag_seconds, "problem": self.problem}


def forked(timeline: int | None, other: int | None) -> bool:
    """Two positions on different timelines: their histories forked, so a number
    compared across them says nothing (an old primary started as a standby without a
    rewind replays its own timeline at a position that may even look ahead). Unknown
    on either side, or an engine without timelines: not forked, by this test."""
    return timeline is not None and other is not None and timeline != other


def sections_text(rows, sep: str) -> bytes:
    """Rows as a section's text, cells as the server's own client prints them."""
    def cell(value) -> str:
        if value is True:
            return "t"
        if value is False:
            return "f"
        return "" if value is None else str(value)
    return "".join(sep.join(cell(v) for v in row) + "\n" for row in rows).encode()
