"""One Rasa process's socket.io channel without the model, run as a process of its own: Settle's real
WebChatInput's blueprint in a Sanic app, as `rasa run` mounts it, on 127.0.0.1.

It answers a customer's message with "heard: <message>" (what Rasa would do after its policies), and
`POST /say {"conversation": ..., "text": ..., "agent_name": ...}` says a text through the channel's output
channel, as Rasa's HTTP API does for an agent's message or a reminder (`trigger_intent`).

    python -m tests.fakes.web_chat_replica --port 6101 --redis-channel settletest:socket.io
(REDIS_URL and SETTLE_LINK_SECRET from the environment)
"""
from __future__ import annotations

import argparse

from rasa.core.channels.channel import UserMessage
from sanic import Sanic, response
from sanic.request import Request

from channels.web_chat import WebChatInput


def build_app(redis_channel: str) -> Sanic:
    app = Sanic("web_chat_replica")
    channel = WebChatInput.from_credentials(
        {"session_persistence": True, "bot_message_evt": "bot_uttered", "user_message_evt": "user_uttered",
         "redis_channel": redis_channel}
    )

    async def on_new_message(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, f"heard: {message.text}")

    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/socketio")

    @app.get("/health")
    async def health(_: Request):
        return response.json({"status": "ok"})

    @app.post("/say")
    async def say(request: Request):
        extra = {"agent_name": request.json["agent_name"]} if request.json.get("agent_name") else {}
        await channel.get_output_channel().send_text_message(request.json["conversation"], request.json["text"], **extra)
        return response.json({"said": True})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-channel", required=True)
    args = parser.parse_args()
    build_app(args.redis_channel).run(host="127.0.0.1", port=args.port, access_log=False)


if __name__ == "__main__":
    main()
