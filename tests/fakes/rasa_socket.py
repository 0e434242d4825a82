"""A fake of Rasa's socket.io channel for the chat widget, on 127.0.0.1: python-socketio as Rasa runs it.

It confirms one conversation per socket and answers each customer message with what `replies` holds, said
through Settle's own output channel (channels/web_chat.py), so the widget gets exactly what Rasa would send:
(text, agent name or None) pairs.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import socketio
import uvicorn

from channels.web_chat import WebChatOutput
from tests.conftest import free_port


@dataclass
class FakeRasaSocket:
    url: str = ""
    replies: list[tuple[str, str | None]] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    #: The metadata (`customData`) the widget sent with each message.
    metadata: list[dict] = field(default_factory=list)


@contextmanager
def running_fake_rasa_socket(conversation_id: str = "widget-conversation") -> Iterator[FakeRasaSocket]:
    """Runs the fake for the block; `.url` is what SETTLE_CHAT_SOCKET_URL would be."""
    fake = FakeRasaSocket()
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
    output = WebChatOutput(sio, "bot_uttered")

    @sio.on("session_request")
    async def session_request(sid, data=None):
        await sio.enter_room(sid, conversation_id)
        await sio.emit("session_confirm", conversation_id, room=sid)

    @sio.on("user_uttered")
    async def user_uttered(sid, data=None):
        fake.heard.append((data or {}).get("message", ""))
        fake.metadata.append((data or {}).get("customData") or {})
        for text, agent_name in fake.replies:
            extra = {"agent_name": agent_name} if agent_name else {}
            await output.send_text_message(conversation_id, text, **extra)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(socketio.ASGIApp(sio), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake socket.io server did not start")
        time.sleep(0.05)
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
