"""The chat widget's page: the company's help page with Settle's chat, as on a website or in an app's web view."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from settle.config import Settings

#: Where the widget keeps the conversation id and the messages shown, in the browser's localStorage.
STORAGE_KEY = "settle-chat"


def chat_router(settings: Settings, templates: Jinja2Templates) -> APIRouter:
    """`GET /chat`; the widget's settings go to the page as JSON data, never pasted into a script."""
    router = APIRouter()

    @router.get("/chat", response_class=HTMLResponse)
    def chat_page(request: Request) -> HTMLResponse:
        config = {"socketUrl": settings.chat_socket_url, "storageKey": STORAGE_KEY}
        return templates.TemplateResponse(request, "chat.html", {"chat_config": config})

    return router
