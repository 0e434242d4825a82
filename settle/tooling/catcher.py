"""`settle catch-messages`: local stand-ins for a mail server and an SMS provider, for the demo.

They accept what the reminder engine sends (SMTP on SETTLE_SMTP_HOST:PORT, the SMS API on
SETTLE_SMS_API_URL) and print each message, so operators can see a run's output without real
providers. Never point production settings at them.
"""
from __future__ import annotations

import json
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from aiosmtpd.controller import Controller

from settle.config import Settings


class _PrintingMailbox:
    def __init__(self, show) -> None:
        self.show = show

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        self.show(f"e-mail to {', '.join(envelope.rcpt_tos)}: {message['subject']}\n    {body.get_content().strip() if body else ''}")
        return "250 Message accepted"


def _sms_handler(show, api_key: str | None, path: str):
    class SmsApi(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path.split("?")[0] != path:
                return self._answer(404, {"error": "not found"})
            if api_key and self.headers.get("Authorization") != f"Bearer {api_key}":
                return self._answer(401, {"error": "unauthorized"})
            try:
                sms = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                show(f"SMS to {sms['to']}: {sms['text']}")
            except (ValueError, KeyError, TypeError):
                return self._answer(422, {"error": "expected JSON with to and text"})
            return self._answer(201, {"status": "queued"})

        def _answer(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:  # the printed messages are the log
            pass

    return SmsApi


def catch_messages(settings: Settings, show=print) -> None:
    """Runs both catchers until Ctrl-C."""
    mail = Controller(_PrintingMailbox(show), hostname=settings.smtp_host, port=settings.smtp_port)
    mail.start()
    sms_url = urlparse(settings.sms_api_url)
    sms = ThreadingHTTPServer((sms_url.hostname or "127.0.0.1", sms_url.port or 80), _sms_handler(show, settings.sms_api_key, sms_url.path))
    show(f"==> Catching e-mail on {settings.smtp_host}:{settings.smtp_port} and SMS on {settings.sms_api_url} (Ctrl-C stops)")
    try:
        threading.Thread(target=sms.serve_forever, daemon=True).start()
        threading.Event().wait()
    except KeyboardInterrupt:
        show("==> Stopped")
    finally:
        sms.shutdown()
        mail.stop()
