"""The chat widget's page: the company's help page with Settle's chat, as on a website or in an app's web view;
and the conversation ids a REST client (an app, a test) needs before it may talk on Rasa's REST channel."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from settle.config import Settings
from settle.identity import conversations, language

#: Where the widget keeps the conversation id and the messages shown, in the browser's localStorage.
STORAGE_KEY = "settle-chat"


def chat_router(settings: Settings, templates: Jinja2Templates) -> APIRouter:
    """`GET /chat`; the widget's settings go to the page as JSON data, never pasted into a script. Opened in a
    language (`/chat?language=fr`, a language switch's link), the widget sends it with every message.
    `POST /chat/conversations`: a new signed conversation id for the REST channel (the widget's socket gets
    its own from the socket.io channel)."""
    router = APIRouter()
    key = conversations.key_for(settings)

    @router.get("/chat", response_class=HTMLResponse)
    def chat_page(request: Request, language_asked: str | None = Query(None, alias="language")) -> HTMLResponse:
        config = {"socketUrl": settings.chat_socket_url, "storageKey": STORAGE_KEY}
        page_language = language.supported(language_asked)
        if page_language is not None:
            config["language"] = page_language
        return templates.TemplateResponse(request, "chat.html", {"chat_config": config})

    @router.post("/chat/conversations")
    def new_conversation() -> dict[str, str]:
        return {"sender": conversations.issue(key)}

    return router
