"""Shared fixtures: a migrated, seeded database on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cache

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from settle import schema
from settle.config import process_settings
from settle.db import engine_for, session_factory
from settle.tooling.seed import seed

#: The demo data in tests is always seen from this day, so figures are the same on every run.
TODAY = date(2026, 11, 22)
#: The moment Settle's clock shows in tests (SETTLE_NOW for the actions and servers): the morning of TODAY.
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
#: The seeded demo history (settle/tooling/history.py) is all before TODAY began in Brussels: a row stored
#: from this moment on was stored by the test.
HISTORY_ENDS = datetime(2026, 11, 21, 23, 0, tzinfo=timezone.utc)
TEST_CUSTOMERS = 40


@pytest.fixture(autouse=True)
def settings_read_afresh():
    """Each test reads the settings its environment gives (a process reads them once)."""
    process_settings.cache_clear()
    yield
    process_settings.cache_clear()


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seeded_sqlite(path, customers: int = TEST_CUSTOMERS, history: bool = True) -> str:
    """A new SQLite database file at `path`, migrated and seeded as seen from TODAY (with the demo's weeks of
    history before it, unless `history` is false)."""
    url = f"sqlite:///{path}"
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        seed(session, TODAY, customers, history=history)
    return url


BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@cache
def postgres_url(database: str | None = None) -> str:
    """The PostgreSQL database of TEST_DATABASE_URL, or the one named `database` on the same server, as this test
    process's own: `make test` runs the tests in several processes (pytest-xdist), and each gets its own copy,
    named after it (settle_test_gw0, …), so processes side by side never share tables. TEST_DATABASE_URL's
    database is made when missing; another one is made by the code under test."""
    url = make_url(os.environ["TEST_DATABASE_URL"])
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    own = url.set(database=f"{database or url.database}{'_' + worker if worker else ''}")
    if worker and database is None:
        with engine_for(url.set(database="postgres").render_as_string(hide_password=False)).connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}).first() is None:
                connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    return own.render_as_string(hide_password=False)


def _fresh_database(backend: str, tmp_path_factory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'settle.db'}"
    url = postgres_url()
    with engine_for(url).begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> str:
    """A database migrated to the newest schema and seeded with demo data seen from TODAY."""
    url = _fresh_database(request.param, tmp_path_factory)
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        seed(session, TODAY, TEST_CUSTOMERS)
    return url


@pytest.fixture
def session(database_url):
    """A session whose changes are all rolled back after the test."""
    with engine_for(database_url).connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, future=True) as db_session:
            yield db_session
        transaction.rollback()


@dataclass(frozen=True)
class RedisPlace:
    """A Redis database and a key prefix no other test uses."""

    url: str
    prefix: str


@pytest.fixture
def redis_place():
    """The Redis of TEST_REDIS_URL (default: a spare database on the local Redis), with a fresh key prefix;
    its keys are deleted afterwards. Skipped, and said so, when no Redis answers."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis answers at {url} (set TEST_REDIS_URL)")
    prefix = f"settletest{uuid.uuid4().hex}"
    yield RedisPlace(url, prefix)
    for key in client.scan_iter(f"*{prefix}*", count=1000):
        client.delete(key)
    client.close()
