"""A fake SMS HTTP API on 127.0.0.1, so the SMS sender is tested over real HTTP.

POST /v1/messages with `Authorization: Bearer <key>` and JSON {"from", "to", "text"}: 201 and
{"id": "sms_…", "status": "queued"}; 401 for a wrong key, 422 for a body it can't send, 404 elsewhere.
`fail_next(status)` makes the next request get that status, to test the sender's error paths.
"""
from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http import FakeHandler, serve

#: The longest text the fake accepts, like a provider that allows four concatenated segments.
MAX_TEXT = 612


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, the raw text when it isn't JSON, None when empty


@dataclass
class FakeSms:
    api_key: str
    url: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int) -> None:
        """The next request gets this status with a JSON error, whatever it asks."""
        with self.lock:
            self.failures.append(status)


def _invalid(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    for name in ("from", "to", "text"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            return f"'{name}' is required and must be a non-empty string"
    if len(body["text"]) > MAX_TEXT:
        return f"'text' is longer than {MAX_TEXT} characters"
    return None


class _Handler(FakeHandler):
    fake: FakeSms

    def handle_request(self) -> None:
        fake = self.fake
        body = self.read_body()
        with fake.lock:
            fake.requests.append(RecordedRequest(self.command, self.path, dict(self.headers), body))
            failure = fake.failures.pop(0) if fake.failures else None
        if failure:
            self.answer_json(failure, {"error": "failure", "message": f"the fake was told to answer {failure}"})
            return
        if self.command != "POST" or self.path != "/v1/messages":
            self.answer_json(404, {"error": "not_found", "message": "no such resource"})
            return
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            self.answer_json(401, {"error": "unauthorized", "message": "invalid API key"})
            return
        problem = _invalid(body)
        if problem:
            self.answer_json(422, {"error": "invalid_request", "message": problem})
            return
        message = {"id": "sms_" + secrets.token_hex(8), "status": "queued", **body}
        with fake.lock:
            fake.messages.append(message)
        self.answer_json(201, {"id": message["id"], "status": "queued"})


@contextmanager
def running_fake_sms(api_key: str) -> Iterator[FakeSms]:
    """Runs the fake on a free loopback port for the block; `.url` is the full messages URL."""
    fake = FakeSms(api_key=api_key)
    with serve(type("Handler", (_Handler,), {"fake": fake})) as base_url:
        fake.url = f"{base_url}/v1/messages"
        yield fake
