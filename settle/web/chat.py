"""The chat widget's page: the company's help page with Settle's chat, as on a website or in an app's web view;
and the conversation ids a REST client (an app, a test) needs before it may talk on Rasa's REST channel."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from settle.config import Settings
from settle.identity import conversations

#: Where the widget keeps the conversation id and the messages shown, in the browser's localStorage.
STORAGE_KEY = "settle-chat"


def chat_router(settings: Settings, templates: Jinja2Templates) -> APIRouter:
    """`GET /chat`; the widget's settings go to the page as JSON data, never pasted into a script.
    `POST /chat/conversations`: a new signed conversation id for the REST channel (the widget's socket gets
    its own from the socket.io channel)."""
    router = APIRouter()
    key = conversations.key_for(settings)

    @router.get("/chat", response_class=HTMLResponse)
    def chat_page(request: Request) -> HTMLResponse:
        config = {"socketUrl": settings.chat_socket_url, "storageKey": STORAGE_KEY}
        return templates.TemplateResponse(request, "chat.html", {"chat_config": config})

    @router.post("/chat/conversations")
    def new_conversation() -> dict[str, str]:
        return {"sender": conversations.issue(key)}

    return router
