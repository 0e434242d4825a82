"""Engine and session factory, created on first use (nothing happens at import)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from settle.config import process_settings
from settle.files import private_file

#: How long a SQLite connection waits for another's write to finish before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000


@cache
def engine_for(url: str) -> Engine:
    """One engine per database URL for the life of the process."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        private_file(Path(url.removeprefix("sqlite:///")))  # SQLite gives its journal the same mode
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection, _record) -> None:
    """Foreign keys on, transactions left to SQLAlchemy (pysqlite's own handling breaks SAVEPOINTs), and
    waiting for a busy database instead of failing at once with "database is locked"."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_sqlite_transaction(connection) -> None:
    """Starts the transaction SQLAlchemy asked for, so a savepoint is always inside one. IMMEDIATE takes the
    write lock at the start: two use cases that read and then write (two checkouts at once) would otherwise
    both read, and the second to write would fail at once (SQLite can't wait there without a deadlock)."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(url: str | None = None) -> sessionmaker:
    """Sessions bound to the configured database; use as `with factory.begin() as session:`."""
    engine = engine_for(url or process_settings().database_url)
    return sessionmaker(engine, future=True, expire_on_commit=False)
