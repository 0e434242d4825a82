"""The web app served by uvicorn on a free loopback port, against the seeded test database."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import pytest
import requests
import uvicorn

from settle.clock import clock_for
from settle.config import Settings
from settle.outreach.senders import senders_from
from settle.outreach.services import run_reminders
from settle.unit_of_work import UnitOfWork
from settle.web.app import create_app
from tests.conftest import NOW, free_port, seeded_sqlite


@dataclass
class WebApp:
    url: str
    settings: Settings


def serve(settings: Settings):
    """Runs the app in a background thread until the generator is closed."""
    port = free_port()
    settings = replace(settings, public_url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    try:
        yield WebApp(settings.public_url, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def web_settings(database_url: str, **changes) -> Settings:
    return replace(Settings.from_environment(), database_url=database_url, link_secret="web-test-link-secret", fixed_now=NOW,
                   **{"demo": True, **changes})


def with_reminders_run(database_url: str) -> str:
    """The seeded database after this morning's reminder run: the review stage flags the accounts 25 days
    overdue (messages wait: NOW is a Sunday, in the quiet hours of policy/reminders.yml)."""
    settings = web_settings(database_url)
    run_reminders(UnitOfWork(settings, clock_for(settings)), senders_from(settings))
    return database_url


@pytest.fixture(scope="session")
def web_database(tmp_path_factory) -> str:
    """A database of the web tests' own: they pay bills, which other tests must not see."""
    return seeded_sqlite(tmp_path_factory.mktemp("web") / "settle.db")


@pytest.fixture(scope="session")
def web(web_database):
    yield from serve(web_settings(web_database))


@pytest.fixture
def browser_like() -> requests.Session:
    """An HTTP client keeping cookies like a browser; the tests follow redirects step by step."""
    return requests.Session()
