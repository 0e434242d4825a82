"""The real thing: the action server and the Rasa server with the trained model, on free loopback ports."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from settle import metrics
from settle.identity import conversations
from settle.tooling import runner
from tests.conftest import NOW, free_port, seeded_sqlite

ROOT = Path(__file__).parents[2]
MODEL = ROOT / "models" / "settle.tar.gz"
APP_TOKEN_SECRET = "e2e-app-token-secret-0123456789abcdef"
RASA_API_TOKEN = "e2e-rasa-api-token"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
expect.set_options(timeout=20_000)  # a reply goes through NLU, policies and the action server on 2 busy cores
LINK_SECRET = "e2e-link-secret"
ACTION_TOKEN = "e2e-action-token"
CONVERSATION_KEY = conversations.conversation_key(LINK_SECRET.encode())


def pytest_collection_modifyitems(items) -> None:
    """Every test here is end-to-end (marked `e2e`): `make test` runs the others while the model trains, these after."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def signed(sender: str) -> str:
    """The conversation id the servers issue for this name (as `POST /chat/conversations` would, with a name
    a test can read); an id that is already signed stays as it is."""
    return sender if conversations.is_issued(CONVERSATION_KEY, sender) else conversations.issue(CONVERSATION_KEY, sender)


def address_of(sender: str) -> str:
    """A documentation-range IPv6 address (2001:db8::/32) that is this conversation's own."""
    digest = hashlib.sha256(signed(sender).encode()).hexdigest()
    return f"2001:db8:{digest[:4]}:{digest[4:8]}::{digest[8:12]}"


@dataclass
class Stack:
    rasa_url: str
    web_url: str
    database_url: str
    env: dict
    actions_url: str = ""
    logs: tuple[Path, ...] = ()

    def bot_said(self, sender: str) -> list[str]:
        """Everything the bot said in a conversation, from the tracker (also what REST did not return)."""
        tracker = requests.get(f"{self.rasa_url}/conversations/{signed(sender)}/tracker", params={"token": RASA_API_TOKEN}, timeout=30)
        tracker.raise_for_status()
        return [event.get("text") or "" for event in tracker.json()["events"] if event["event"] == "bot"]

    def say(self, sender: str, text: str, metadata: dict | None = None, client: str | None = None) -> list[str]:
        """Sends one message over the REST channel, in the conversation signed for `sender`, and returns
        Settle's replies. It comes through the stack's trusted proxy from `client`, by default an address of the
        conversation's own (customers are many; verification throttles per address)."""
        body = {"sender": signed(sender), "message": text, **({"metadata": metadata} if metadata else {})}
        headers = {"X-Forwarded-For": client or address_of(sender)}
        reply = requests.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, headers=headers, timeout=30)
        reply.raise_for_status()
        return [message.get("text", "") for message in reply.json()]


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run `make train` (make test does it for you).")
    work = tmp_path_factory.mktemp("e2e")
    database_url = seeded_sqlite(work / "settle.db")

    actions_port, rasa_port, web_port = free_port(), free_port(), free_port()
    endpoints = runner.endpoints_for_ports(work / "endpoints.yml", f"http://127.0.0.1:{actions_port}/webhook", work / "trackers.db")
    env = {
        "DATABASE_URL": database_url,
        "SETTLE_APP_TOKEN_SECRET": APP_TOKEN_SECRET,
        "SETTLE_LINK_SECRET": LINK_SECRET,
        "RASA_API_TOKEN": RASA_API_TOKEN,
        "SETTLE_ACTION_TOKEN": ACTION_TOKEN,
        # The tests reach Rasa as through one reverse proxy (X-Forwarded-For), as production does.
        "SANIC_PROXIES_COUNT": "1",
        "SETTLE_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "SETTLE_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "SETTLE_PAYMENT_PROVIDER": "sandbox",
        "SETTLE_DEMO": "1",
        "SETTLE_SESSION_SECRET": "e2e-session-secret",
        # Settle's clock in every server stands at the day the test data was seeded, whatever today is.
        "SETTLE_NOW": NOW.isoformat(),
        # A person can always be reached here, so the takeover is tested whatever the day; the
        # callback outside office hours is covered by the action and unit tests.
        "SETTLE_OFFICE_HOURS": "Mon-Sun 00:00-24:00",
        # every part counts into files there; the web app's /metrics adds them up (settle/metrics.py)
        metrics.MULTIPROCESS_VARIABLE: str(metrics.fresh_directory(work / "metrics")),
    }
    parts = [
        (runner.web_app(web_port, log_dir=work), web_port),
        (runner.action_server(actions_port, log_dir=work), actions_port),
        (runner.rasa_server(rasa_port, str(MODEL), api_token=RASA_API_TOKEN, endpoints=str(endpoints), log_dir=work), rasa_port),
    ]
    try:
        for part, port in parts:
            runner.start(part, port, env=env)
        yield Stack(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{web_port}", database_url, env,
                    f"http://127.0.0.1:{actions_port}", tuple(part.log for part, _ in parts))
    finally:
        runner.stop([part for part, _ in parts])


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (which downloads no browser of its own).

    The browser is the customer's, not Settle's: it runs on the real clock also when the suite runs with the date
    moved by libfaketime, under which Chromium's first page load can stall."""
    real_clock = {name: value for name, value in os.environ.items() if name not in ("LD_PRELOAD", "FAKETIME")}
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, env=real_clock)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """Opens pages in fresh browser profiles (nothing stored from another test's conversation); closes them after."""
    contexts = []

    def open_page():
        contexts.append(browser.new_context())
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
