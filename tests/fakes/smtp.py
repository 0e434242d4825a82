"""A real SMTP server (aiosmtpd) on 127.0.0.1, so the e-mail sender is tested over a real socket.

It keeps every message it accepts, parsed, and can refuse a recipient or the next message, as a mail
server would for an unknown mailbox (550) or while greylisting (450/451).
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class FakeSmtp:
    """The server's state: what it accepted, whom it refuses, and the replies it gives next."""

    host: str = "127.0.0.1"
    port: int = 0
    delivered: list[Delivered] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    next_replies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [delivery.message for delivery in self.delivered]

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user here") -> None:
        """Refuses this recipient at RCPT TO with `reply` (e.g. "450 4.2.0 Greylisted" for a temporary one)."""
        with self.lock:
            self.refused[address.lower()] = reply

    def fail_next(self, reply: str) -> None:
        """The next message is refused at DATA with this reply, e.g. "451 4.3.0 Try again later"."""
        with self.lock:
            self.next_replies.append(reply)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        with self.lock:
            reply = self.refused.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.next_replies:
                return self.next_replies.pop(0)
            message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
            self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_smtp_server(credentials: tuple[str, str] | None = None) -> Iterator[FakeSmtp]:
    """Runs the server on a free loopback port for the block; with `credentials`, AUTH LOGIN/PLAIN is required."""
    fake = FakeSmtp()
    options: dict[str, Any] = {}
    if credentials:

        def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == credentials
            return AuthResult(success=ok, handled=False)

        options = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    for attempt in range(5):
        fake.port = _free_port()
        controller = Controller(fake, hostname="127.0.0.1", port=fake.port, server_hostname="smtp.fake.test", ready_timeout=5, **options)
        try:
            controller.start()
            break
        except OSError:  # someone took the port between the probe and the bind
            if attempt == 4:
                raise
    try:
        yield fake
    finally:
        controller.stop()
