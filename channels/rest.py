"""Rasa's REST channel (same name and address, /webhooks/rest/webhook) behind Settle's door.

A client writes only into a conversation Settle issued (`POST /chat/conversations` on the web app) or, with
a valid app token in the metadata (`auth_token`), into its own: anything else is refused with 403. A client
may give each message an id (`message_id`): sent again with it, the message is answered again, not handled twice. A body
that is not what the channel takes gets 400 with a short message, never a stack trace.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import door

MAX_SENDER_CHARACTERS = 200
logger = logging.getLogger(__name__)


def _refuse(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class SignedRestInput(InputChannel):
    """The REST channel for apps and tests; register it in credentials.yml in place of `rest:`."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        door.warm_up()
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = json.loads(request.body or b"null")
            except (ValueError, UnicodeDecodeError):
                return _refuse(400, "The body must be JSON.")
            if not isinstance(body, dict):
                return _refuse(400, "The body must be a JSON object.")
            sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata", {})
            if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARACTERS:
                return _refuse(400, "sender must be a conversation id (POST /chat/conversations issues one).")
            if not isinstance(text, str):
                return _refuse(400, "message must be a string.")
            if metadata is None:
                metadata = {}
            if not isinstance(metadata, dict):
                return _refuse(400, "metadata must be a JSON object.")
            if not await door.may_write(sender, metadata):
                return _refuse(403, "Unknown conversation: ask for one with POST /chat/conversations, or send a valid app token.")

            checked = door.check_message(text, door.page_language(metadata))
            said = [{"recipient_id": sender, "text": answer} for answer in checked.answers]
            if checked.refused:
                return response.json(said)
            collector = CollectingOutputChannel()
            message = UserMessage(checked.text, collector, sender, input_channel=self.name(),
                                  metadata=door.with_client(metadata, request.remote_addr or request.ip),
                                  message_id=door.message_id(body.get("message_id")))
            try:
                await on_new_message(message)
            except Exception:  # as Rasa's own REST channel: the client gets what was said, the log the rest
                logger.exception("The message to conversation %s could not be handled", sender)
            return response.json(said + collector.messages)

        return webhook
