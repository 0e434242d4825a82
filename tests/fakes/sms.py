"""A fake SMS HTTP API on 127.0.0.1, so the SMS sender is tested over real HTTP.

POST /v1/messages with `Authorization: Bearer <key>` and JSON {"from", "to", "text"}: 201 and
{"id": "sms_…", "status": "queued"}; 401 for a wrong key, 422 for a body it can't send, 404 elsewhere.
`fail_next(status)` makes the next request get that status, to test the sender's error paths.
"""
from __future__ import annotations

import json
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

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


def _handler_for(fake: FakeSms) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with fake.lock:
                fake.requests.append(RecordedRequest(self.command, self.path, dict(self.headers), body))
                failure = fake.failures.pop(0) if fake.failures else None
            if failure:
                self._send(failure, {"error": "failure", "message": f"the fake was told to answer {failure}"})
                return
            if self.command != "POST" or self.path != "/v1/messages":
                self._send(404, {"error": "not_found", "message": "no such resource"})
                return
            if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                self._send(401, {"error": "unauthorized", "message": "invalid API key"})
                return
            problem = _invalid(body)
            if problem:
                self._send(422, {"error": "invalid_request", "message": problem})
                return
            message = {"id": "sms_" + secrets.token_hex(8), "status": "queued", **body}
            with fake.lock:
                fake.messages.append(message)
            self._send(201, {"id": message["id"], "status": "queued"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def running_fake_sms(api_key: str) -> Iterator[FakeSms]:
    """Runs the fake on a free loopback port for the block; `.url` is the full messages URL."""
    fake = FakeSms(api_key=api_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
