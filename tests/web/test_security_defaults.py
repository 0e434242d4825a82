"""Safe defaults of the web app: no sandbox outside the demo, security headers on every response, console
logins slowed down after failures, and parallel checkouts on SQLite waiting for each other instead of failing."""
from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from settle.db import session_factory
from settle.errors import NothingToPay
from settle.models import Customer
from settle.payments.links import offer_link
from settle.tooling.seed import DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD
from settle.web.app import create_app
from tests.conftest import NOW, seeded_sqlite
from tests.web.conftest import serve, web_settings

CSRF_FIELD = 'name="csrf_token" value="'


def test_the_web_app_refuses_the_sandbox_outside_the_demo(web_database):
    with pytest.raises(SystemExit) as refused:
        create_app(web_settings(web_database, demo=False))
    message = str(refused.value.code)
    assert "\n" not in message and "SETTLE_PAYMENT_PROVIDER" in message and "SETTLE_DEMO=1" in message
    create_app(web_settings(web_database, demo=False, payment_provider="mollie", mollie_api_key="test_key"))  # starts


def test_every_response_carries_the_security_headers(web):
    token = "not-a-token"
    for path in ("/health", "/chat", "/agent/login", "/agent", f"/pay/{token}", "/static/chat.js", "/no-such-page"):
        response = requests.get(f"{web.url}{path}", allow_redirects=False, timeout=10)
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy, path
    socket = web.settings.chat_socket_url.split("://", 1)[1]
    assert f"ws://{socket}" in policy and f"http://{socket}" in policy  # the chat page reaches Rasa's socket.io


def test_the_chat_page_loads_nothing_inline(web):
    """Its configuration is JSON data (not run), its scripts come from /static: the policy allows exactly that."""
    page = requests.get(f"{web.url}/chat", timeout=10).text
    scripts = page.split("<script")[1:]
    assert scripts and all('src="/static/' in tag.split(">")[0] or 'type="application/json"' in tag.split(">")[0] for tag in scripts)


@pytest.fixture
def own_web(tmp_path):
    """A web app on a database of its own: these tests lock out the loopback address other tests log in from."""
    yield from serve(web_settings(seeded_sqlite(tmp_path / "settle.db", customers=12)))


def try_login(session: requests.Session, url: str, password: str, email: str = DEMO_AGENT_EMAIL) -> requests.Response:
    form = session.get(f"{url}/agent/login", timeout=10).text
    csrf = form.split(CSRF_FIELD, 1)[1].split('"', 1)[0]
    return session.post(f"{url}/agent/login", data={"email": email, "password": password, "csrf_token": csrf},
                        allow_redirects=False, timeout=10)


def test_after_five_wrong_passwords_the_console_says_when_to_try_again(own_web):
    browser = requests.Session()
    for _ in range(5):
        assert try_login(browser, own_web.url, "wrong password").status_code == 401
    refused = try_login(browser, own_web.url, DEMO_AGENT_PASSWORD)  # even the right one is not checked now
    assert refused.status_code == 429
    assert "Too many attempts. Try again in 1 minute." in refused.text


def test_parallel_checkouts_on_sqlite_wait_for_each_other(own_web):
    """Each checkout reads and then writes; without immediate transactions the second writer got
    "database is locked" and the customer an HTTP 500."""
    with session_factory(own_web.settings.database_url).begin() as session:
        customers = session.execute(select(Customer.id)).scalars().all()
        offers = []
        for customer_id in customers:
            try:
                offers.append(offer_link(session, customer_id, own_web.settings, NOW))
            except NothingToPay:
                continue
    assert len(offers) >= 4

    def check_out(offer) -> int:
        return requests.post(f"{offer.url}/checkout", allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=len(offers) * 2) as pool:
        statuses = list(pool.map(check_out, offers * 2))
    assert statuses == [303] * len(statuses)


def test_the_sqlite_database_and_var_are_private(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = seeded_sqlite(tmp_path / "var" / "settle.db", customers=2)
    database = Path(url.removeprefix("sqlite:///"))
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    assert os.access(database, os.R_OK)
