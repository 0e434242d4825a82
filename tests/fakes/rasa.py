"""A fake Rasa server (the HTTP API of `rasa run --enable-api --auth-token`) on 127.0.0.1.

It speaks POST /conversations/<id>/trigger_intent and GET /conversations/<id>/tracker, as Rasa 3.6 does: the
token comes as the `token` query parameter (401 NotAuthenticated otherwise). For a trigger, `output_channel` is
read, the body needs a "name" (400 BadRequest otherwise), an intent the domain lacks is 404 NotFound when
`intents` is given, and the answer is {"tracker": {...}, "messages": [...]}. A tracker holds the events a test
put in `events` for that conversation (none otherwise), as Rasa answers for a conversation it does not know.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import FakeHandler, serve

#: Like Rasa's `<conversation_id:path>`: the id may hold slashes and is NOT percent-decoded (Sanic 21.12).
TRIGGER_PATH = re.compile(r"/conversations/(?P<id>[^/].*?)/trigger_intent")
TRACKER_PATH = re.compile(r"/conversations/(?P<id>[^/].*?)/tracker")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeRasa:
    api_token: str
    intents: frozenset[str] | None = None  # the domain's intents; None accepts any
    url: str = ""
    triggered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (conversation_id, body)
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # conversation id → its tracker's events
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int) -> None:
        """The next request gets this status with a Rasa-shaped error, whatever it asks."""
        with self.lock:
            self.failures.append(status)


def _error(status: int, reason: str, message: str) -> dict[str, Any]:
    """An error body shaped like Rasa's."""
    return {"version": "3.6.21", "status": "failure", "message": message, "reason": reason, "details": {}, "help": None, "code": status}


def _answer(conversation_id: str, body: dict[str, Any], output_channel: str) -> dict[str, Any]:
    """What Rasa answers: the tracker after the intent, and the bot's messages (here the response's name)."""
    now = time.time()
    entities = body.get("entities") or {}
    entity_list = [{"entity": k, "value": v} for k, v in entities.items()] if isinstance(entities, dict) else entities
    response = entities.get("reminder_response") if isinstance(entities, dict) else None
    return {
        "tracker": {
            "sender_id": conversation_id,
            "slots": {},
            "latest_message": {"intent": {"name": body["name"], "confidence": 1.0}, "entities": entity_list, "text": None},
            "latest_event_time": now,
            "latest_input_channel": output_channel,
            "events": [
                {"event": "user", "timestamp": now, "text": None, "parse_data": {"intent": {"name": body["name"]}, "entities": entity_list}},
            ],
            "paused": False,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "messages": [{"recipient_id": conversation_id, "response": response, "text": f"[{response}]"}],
    }


class _Handler(FakeHandler):
    fake: FakeRasa

    def handle_request(self) -> None:
        fake = self.fake
        body = self.read_body()
        url = urlsplit(self.path)
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        with fake.lock:
            fake.requests.append(RecordedRequest(self.command, url.path, query, dict(self.headers), body))
            failure = fake.failures.pop(0) if fake.failures else None
        if failure:
            self.answer_json(failure, _error(failure, "FakeFailure", f"the fake was told to answer {failure}"))
            return
        self.answer_json(*self._route(url.path, query, body))

    def _route(self, path: str, query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        fake = self.fake
        if query.get("token") != fake.api_token:
            return 401, _error(401, "NotAuthenticated", "User is not authenticated.")
        tracker = TRACKER_PATH.fullmatch(path)
        if self.command == "GET" and tracker:
            with fake.lock:
                events = list(fake.events.get(tracker["id"], []))
            return 200, {"sender_id": tracker["id"], "slots": {}, "latest_message": {}, "events": events, "paused": False}
        trigger = TRIGGER_PATH.fullmatch(path)
        if self.command != "POST" or not trigger:
            return 404, _error(404, "NotFound", "Requested URL not found")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return 400, _error(400, "BadRequest", "Name of the intent not provided in request body.")
        if fake.intents is not None and body["name"] not in fake.intents:
            return 404, _error(404, "NotFound", f"The intent {body['name']} does not exist in the domain.")
        conversation_id = trigger["id"]
        with fake.lock:
            fake.triggered.append((conversation_id, body))
        return 200, _answer(conversation_id, body, query.get("output_channel", "collector"))


@contextmanager
def running_fake_rasa(api_token: str, intents: set[str] | None = None) -> Iterator[FakeRasa]:
    """Runs the fake on a free loopback port for the block; `.url` is the server's base URL."""
    fake = FakeRasa(api_token=api_token, intents=frozenset(intents) if intents is not None else None)
    with serve(type("Handler", (_Handler,), {"fake": fake})) as base_url:
        fake.url = base_url
        yield fake
