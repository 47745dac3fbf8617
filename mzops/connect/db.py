"""Database access over the databases' own protocols, with read-only credentials.

A database behind its server host is reached through an SSH tunnel over that host
(ssh -L to its loopback port), the way a DBA reaches it through a bastion; one on its
own address is reached directly. Queries return rows as the same text sections the
host collector produces, so both paths feed the same pure normalisers.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from contextlib import contextmanager
from typing import Iterator

from mzops.compliance.collector import Bundle, Section
from mzops.connect import ssh

PG_QUERIES = {
    # pg_roles, not pg_authid: readable without superuser (rolpassword is hidden there).
    "pg_roles": "SELECT rolname, rolsuper, rolcreaterole, rolcanlogin, coalesce(rolvaliduntil::text, ''), "
                "rolreplication, rolbypassrls, false FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1",
    "pg_sessions": "SELECT usename, coalesce(host(client_addr), 'local'), count(*) FROM pg_stat_activity "
                   "WHERE usename IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
}
MY_QUERIES = {
    "my_users": "SELECT user, host, json_value(priv, '$.plugin'), json_value(priv, '$.authentication_string') = '', "
                "coalesce(json_value(priv, '$.account_locked'), 'false'), "
                "coalesce(json_value(priv, '$.password_last_changed'), ''), "
                "coalesce(json_value(priv, '$.password_lifetime'), ''), coalesce(json_value(priv, '$.is_role'), 'false') "
                "FROM mysql.global_priv ORDER BY 1, 2",
    "my_privs": "SELECT user, host, Super_priv, Grant_priv, File_priv, Shutdown_priv, Process_priv, password_expired "
                "FROM mysql.user ORDER BY 1, 2",
    "my_sessions": "SELECT user, substring_index(host, ':', 1), count(*) FROM information_schema.processlist "
                   "WHERE user NOT IN ('system user', 'event_scheduler') GROUP BY 1, 2",
}


class DatabaseError(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def tunnel(via: ssh.Target, port: int, timeout: float = 15) -> Iterator[tuple[str, int]]:
    """A local port forwarded to 127.0.0.1:PORT on the server host, for one check."""
    local = _free_port()
    argv = via.argv("", connect_timeout=10)[:-1]  # drop the (empty) remote command
    argv[1:1] = ["-N", "-o", "ExitOnForwardFailure=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none",
                 "-L", f"127.0.0.1:{local}:127.0.0.1:{port}"]
    with ssh.agent(via.key) as env:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise DatabaseError(f"ssh tunnel through {via.name} failed: "
                                        f"{proc.stderr.read().decode(errors='replace').strip()[-200:]}")
                try:
                    socket.create_connection(("127.0.0.1", local), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise DatabaseError(f"ssh tunnel through {via.name}: no forward after {timeout:.0f} s")
                    time.sleep(0.05)
            yield "127.0.0.1", local
        finally:
            proc.terminate()
            proc.wait(timeout=5)


def _text(rows, sep: str) -> bytes:
    def cell(value) -> str:
        if value is True:
            return "t"
        if value is False:
            return "f"
        return "" if value is None else str(value)
    return "".join(sep.join(cell(v) for v in row) + "\n" for row in rows).encode()


def _my_connect(pymysql, host: str, port: int, user: str, password: str, tunnelled: bool):
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


def read(engine: str, host: str, port: int, user: str, password: str, name: str,
         queries: dict[str, str] | None = None, tolerate: bool = False, pg_sep: str = "|",
         tunnelled: bool = False) -> Bundle:
    """Run named queries over one read-only connection, one round trip per query.

    With tolerate, a query the server refuses (no privilege, not this flavour) becomes
    a section with its error and a non-zero rc, as in the host collector. A direct
    connection requires TLS (the password crosses the network); through an SSH tunnel
    TLS is used when the server offers it.
    """
    sections: dict[str, Section] = {}
    started = time.monotonic()
    if engine == "postgresql":
        import psycopg

        queries = queries or PG_QUERIES
        try:
            # Read-only on the server side; autocommit so one refused query spoils no other.
            with psycopg.connect(host=host, port=port, user=user, password=password, dbname="postgres",
                                 connect_timeout=10, application_name="mzops", autocommit=True,
                                 sslmode="prefer" if tunnelled else "require",
                                 options="-c default_transaction_read_only=on") as conn:
                for section, sql in queries.items():
                    try:
                        sections[section] = Section(0, _text(conn.execute(sql).fetchall(), pg_sep))
                    except psycopg.Error as exc:
                        if not tolerate:
                            raise
                        sections[section] = Section(1, str(exc).strip().splitlines()[0].encode())
        except psycopg.OperationalError as exc:
            raise DatabaseError(str(exc).strip().splitlines()[-1]) from None
    else:
        import pymysql

        queries = queries or MY_QUERIES
        conn = _my_connect(pymysql, host, port, user, password, tunnelled)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
                for section, sql in queries.items():
                    try:
                        cursor.execute(sql)
                        sections[section] = Section(0, _text(cursor.fetchall(), "\t"))
                    except (pymysql.err.ProgrammingError, pymysql.err.OperationalError,
                            pymysql.err.InternalError) as exc:
                        if not tolerate or isinstance(exc, pymysql.err.OperationalError) and not conn.open:
                            raise
                        sections[section] = Section(1, str(exc.args[-1]).encode())
        except pymysql.err.MySQLError as exc:
            raise DatabaseError(str(exc.args[-1])) from None
        finally:
            conn.close()
    return Bundle(name, "", sections, time.monotonic() - started)
