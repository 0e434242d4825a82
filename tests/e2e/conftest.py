"""The real thing: the action server and the Rasa server with the trained model, on free loopback ports."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from settle import runner, schema
from settle.db import session_factory
from settle.seed import seed
from tests.conftest import TODAY

ROOT = Path(__file__).parents[2]
MODEL = ROOT / "models" / "settle.tar.gz"
APP_TOKEN_SECRET = "e2e-app-token-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stack:
    rasa_url: str
    database_url: str

    def say(self, sender: str, text: str, metadata: dict | None = None) -> list[str]:
        """Sends one message over the REST channel and returns Settle's replies."""
        body = {"sender": sender, "message": text, **({"metadata": metadata} if metadata else {})}
        reply = requests.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, timeout=30)
        reply.raise_for_status()
        return [message.get("text", "") for message in reply.json()]


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run `make train` (make test does it for you).")
    work = tmp_path_factory.mktemp("e2e")
    database_url = f"sqlite:///{work / 'settle.db'}"
    schema.upgrade(database_url)
    with session_factory(database_url).begin() as session:
        seed(session, TODAY, 40)

    actions_port, rasa_port = free_port(), free_port()
    endpoints = work / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n')
    env = {"DATABASE_URL": database_url, "SETTLE_APP_TOKEN_SECRET": APP_TOKEN_SECRET}
    parts = [
        runner.action_server(actions_port, log_dir=work),
        runner.rasa_server(rasa_port, str(MODEL), api_token=None, endpoints=str(endpoints), log_dir=work),
    ]
    try:
        runner.start(parts[0], actions_port, env=env)
        runner.start(parts[1], rasa_port, env=env)
        yield Stack(f"http://127.0.0.1:{rasa_port}", database_url)
    finally:
        runner.stop(parts)
