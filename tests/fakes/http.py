"""The HTTP plumbing the fake servers share: a quiet handler that reads JSON and answers it, and `serve`.

A fake subclasses `FakeHandler`, implements `handle_request` (GET and POST both come there) with
`read_body()` and `answer_json()`/`answer()`, and runs it with `serve(handler_class)` for a block.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeHandler(BaseHTTPRequestHandler):
    #: The Content-Type of `answer_json`'s answers.
    json_content_type = "application/json"

    def do_GET(self) -> None:
        self.handle_request()

    def do_POST(self) -> None:
        self.handle_request()

    def handle_request(self) -> None:
        raise NotImplementedError

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is not the place for an access log."""

    def read_body(self) -> Any:
        """The request body: parsed JSON, the raw text when it isn't JSON, None when empty."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def answer_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.answer(status, json.dumps(body).encode(), {"Content-Type": self.json_content_type, **(headers or {})})

    def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Answers `body` as is, with these headers and its Content-Length."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve(handler_class: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serves `handler_class` on a free loopback port for the block; yields the base URL (no trailing slash)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
