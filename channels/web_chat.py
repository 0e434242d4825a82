"""Rasa's socket.io channel for the chat widget, with its conversation rooms fixed and closed to strangers.

Rasa 3.6 calls python-socketio's `enter_room` without `await`; in python-socketio 5.x it is a coroutine, so with
`session_persistence` a browser never joins its conversation's room, which is where Rasa sends every reply,
an agent's message and a reminder: nothing arrives (RasaHQ/rasa#13027, open). Rasa also lets a client name any
conversation id, join it and write into it. Here the server issues signed ids (a socket asking for one Settle
did not issue gets a new conversation), a socket writes only into the conversation it joined, and every
message passes the same door as on REST (channels/door.py), and one sent again with the same `message_id` is
answered, not handled twice (components/resent_messages.py). A message an agent wrote reaches the widget with
the agent's name (`agent_name`), so it is shown, and read out, as a person's.

Rasa keeps every socket in its own process's memory: with several Rasa processes, a reply, an agent's message
or a reminder said by one never reaches a customer connected to another. With REDIS_URL set, the rooms are
shared through python-socketio's Redis manager: each process publishes what it emits to a Redis channel, and
the process holding the customer's socket delivers it.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint
from socketio import AsyncRedisManager, AsyncServer

from channels import door
from settle.config import process_settings

#: The Redis (pub/sub) channel the Rasa processes of one deployment share; credentials.yml may name another.
DEFAULT_REDIS_CHANNEL = "settle:socket.io"


class WebChatOutput(SocketIOOutput):
    """Rasa's socket.io output; a text an agent wrote (action_relay_agent_messages) carries their name."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        agent_name = kwargs.get("agent_name")
        if not agent_name:
            await super().send_text_message(recipient_id, text, **kwargs)
            return
        await self._send_message(recipient_id, {"text": text.strip(), "agent_name": str(agent_name)})


class WebChatInput(SocketIOInput):
    """Rasa's `socketio` channel (same name, events and options) with awaited, server-issued session rooms,
    shared by every Rasa process through Redis when REDIS_URL is set."""

    def __init__(self, *args: Any, redis_channel: str = DEFAULT_REDIS_CHANNEL, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redis_channel = redis_channel

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = super().from_credentials(credentials)
        channel.redis_channel = (credentials or {}).get("redis_channel", DEFAULT_REDIS_CHANNEL)
        return channel

    def get_output_channel(self) -> OutputChannel | None:
        """Where Settle's external events (an agent's message, a reminder) are said: the widget's socket."""
        if self.sio is None:
            return super().get_output_channel()  # None, with Rasa's warning
        return WebChatOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        door.warm_up()
        blueprint = super().blueprint(on_new_message)
        sio, namespace = self.sio, self.namespace or "/"
        redis_url = process_settings().redis_url
        if redis_url:
            share_rooms(sio, redis_url, self.redis_channel)

        async def session_request(sid: str, data: Any = None) -> None:  # a client may send no data at all
            asked = data.get("session_id") if isinstance(data, dict) else None
            session_id = asked if door.is_issued(asked) else door.issue_conversation()
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        async def user_message(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                return
            if self.session_persistence and data.get("session_id") not in sio.rooms(sid, namespace=namespace):
                return  # not this socket's conversation (or no session_request yet): Rasa would take it as-is
            metadata = data.get(self.metadata_key)
            checked = door.check_message(data["message"], door.page_language(metadata))
            recipient = data["session_id"] if self.session_persistence else sid
            for answer in checked.answers:
                await sio.emit(self.bot_message_evt, {"text": answer}, room=recipient, namespace=namespace)
            if checked.refused:
                return
            client = _client_address(sio.get_environ(sid, namespace=namespace))
            metadata = door.with_client(metadata if isinstance(metadata, dict) else {}, client)
            await on_new_message(UserMessage(checked.text, SocketIOOutput(sio, self.bot_message_evt), recipient,
                                             input_channel=self.name(), metadata=metadata,
                                             message_id=door.message_id(data.get("message_id"))))

        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, user_message, namespace=namespace)
        return blueprint


def share_rooms(sio: AsyncServer, redis_url: str, channel: str) -> None:
    """Makes `sio` deliver what any process of the deployment emits to a room whose socket it holds, and
    publish what it emits to the others. Rasa builds its server without a client manager, so one is swapped in
    here, before any socket connects (python-socketio starts listening on Redis at the first connection)."""
    sio.manager = AsyncRedisManager(redis_url, channel=channel)
    sio.manager.set_server(sio)


def _client_address(environ: dict[str, Any] | None) -> str | None:
    """The socket's peer address (engine.io's Sanic driver puts the request in the environ)."""
    request = (environ or {}).get("sanic.request")
    return getattr(request, "remote_addr", None) or getattr(request, "ip", None)
