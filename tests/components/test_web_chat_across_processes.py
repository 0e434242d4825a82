"""The chat widget's socket.io channel in two real processes sharing Redis, as two Rasa replicas behind a load
balancer: what one process says to a conversation (a reply, an agent's message, a reminder) reaches the
customer whose socket is held by the other, only that customer, once. Without Redis it is lost, which is
what the shared rooms fix."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import requests
import socketio

from settle.tooling import runner
from tests.conftest import free_port

LINK_SECRET = "socket-test-link-secret"
QUIET_SECONDS = 3  # how long a message that must not arrive is waited for


@dataclass
class Customer:
    """A widget connected to one process: its conversation id and everything it was sent."""

    client: socketio.Client
    conversation: str = ""
    heard: list[dict] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.heard) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.heard


@contextmanager
def replicas(tmp_path, env: dict[str, str], count: int = 2) -> Iterator[list[str]]:
    """`count` processes of the channel (tests/fakes/web_chat_replica.py); yields their base URLs."""
    parts = []
    try:
        for number in range(count):
            port = free_port()
            part = runner.Part(
                f"socket.io process {number}",
                [sys.executable, "-m", "tests.fakes.web_chat_replica", "--port", str(port), "--redis-channel", env["CHANNEL"]],
                f"http://127.0.0.1:{port}/health",
                tmp_path / f"replica-{number}.log",
            )
            parts.append(part)
            # a long-poll in flight would hold Sanic's graceful stop for its whole 15 s
            runner.start(part, port, timeout=60, env={**env, "SANIC_GRACEFUL_SHUTDOWN_TIMEOUT": "1"})
        yield [part.health_url.removesuffix("/health") for part in parts]
    finally:
        runner.stop(parts)


@contextmanager
def customer_at(url: str) -> Iterator[Customer]:
    """A widget on long-polling (the transport that needs the load balancer's stickiness) with a new conversation."""
    customer = Customer(socketio.Client(reconnection=False))
    confirmed: list[str] = []
    customer.client.on("session_confirm", confirmed.append)
    customer.client.on("bot_uttered", customer.heard.append)
    customer.client.connect(url, transports=["polling"], wait_timeout=10)
    try:
        customer.client.emit("session_request", {})
        deadline = time.monotonic() + 10
        while not confirmed and time.monotonic() < deadline:
            time.sleep(0.05)
        customer.conversation = confirmed[0]
        yield customer
    finally:  # without waiting for the long-poll in flight (up to the 25 s ping interval) to come back
        customer.client.eio.disconnect(abort=True)


def say(url: str, conversation: str, text: str, agent_name: str | None = None) -> None:
    body = {"conversation": conversation, "text": text, **({"agent_name": agent_name} if agent_name else {})}
    requests.post(f"{url}/say", json=body, timeout=10).raise_for_status()


@pytest.fixture
def shared_env(redis_place) -> dict[str, str]:
    return {"REDIS_URL": redis_place.url, "SETTLE_LINK_SECRET": LINK_SECRET, "CHANNEL": f"{redis_place.prefix}:socket.io"}


def test_what_one_process_says_reaches_the_customer_connected_to_the_other(tmp_path, shared_env):
    with replicas(tmp_path, shared_env) as (first, second), customer_at(first) as emma, customer_at(second) as noah:
        say(second, emma.conversation, "Hi Emma, this is Nora from billing.", agent_name="Nora")
        say(first, noah.conversation, "Reminder: bill INV-2026-000011 is due on 26 November.")
        emma.client.emit("user_uttered", {"message": "thanks", "session_id": emma.conversation})

        assert emma.wait_for(2) == [
            {"text": "Hi Emma, this is Nora from billing.", "agent_name": "Nora"},
            {"text": "heard: thanks"},
        ]
        assert noah.wait_for(1) == [{"text": "Reminder: bill INV-2026-000011 is due on 26 November."}]
        time.sleep(QUIET_SECONDS)  # nothing twice, nothing for the wrong customer
        assert len(emma.heard) == 2
        assert len(noah.heard) == 1


def test_without_redis_what_another_process_says_is_lost(tmp_path, shared_env):
    alone = {**shared_env, "REDIS_URL": ""}
    with replicas(tmp_path, alone) as (first, second), customer_at(first) as emma:
        say(second, emma.conversation, "Hi Emma, this is Nora from billing.", agent_name="Nora")
        say(first, emma.conversation, "Reminder: your bill is due on 26 November.")

        assert emma.wait_for(2, timeout=QUIET_SECONDS) == [{"text": "Reminder: your bill is due on 26 November."}]
