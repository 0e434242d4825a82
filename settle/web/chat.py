"""The chat widget's page: the company's help page with Settle's chat, as on a website or in an app's web view;
and the conversation ids a REST client (an app, a test) needs before it may talk on Rasa's REST channel."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from settle.config import Settings
from settle.identity import conversations
from settle.translations import N_, translations_for
from settle.web.languages import language_headers, page_context, page_language

#: Where the widget keeps the conversation id and the messages shown, in the browser's localStorage.
STORAGE_KEY = "settle-chat"

#: Every text the widget shows or reads out, by the name chat.js asks for; `%(name)s` is filled in by the widget.
WIDGET_TEXTS = {
    "send": N_("Send"),
    "yourMessage": N_("Your message"),
    "close": N_("Close the chat"),
    "title": N_("Chat with Settle"),
    "launcher": N_("Chat with us"),
    "newMessage": N_(" (new message)"),
    "youSaid": N_("You said: "),
    "settleSaid": N_("Settle said: "),
    "agentSaid": N_("%(name)s from our team said: "),
    "agentFrom": N_("%(name)s · our team"),
    "suggestions": N_("Suggested answers"),
    "unavailable": N_("The chat is not available right now. Please call us instead."),
    "connecting": N_("Connecting…"),
    "unreachable": N_("Can't reach the chat, trying again…"),
    "reconnecting": N_("Connection lost, reconnecting…"),
}


def widget_texts(language: str) -> dict[str, str]:
    """The widget's texts in `language`, for the page to hand to chat.js as data."""
    translations = translations_for(language)
    return {key: translations.gettext(text) for key, text in WIDGET_TEXTS.items()}


def chat_router(settings: Settings, templates: Jinja2Templates) -> APIRouter:
    """`GET /chat`; the widget's settings go to the page as JSON data, never pasted into a script. The page
    speaks the language asked for (`/chat?language=fr`, its language switch), else the browser's. Only a
    language the visitor chose goes with every message: the page's language is a strong signal for Settle,
    and one guessed from the browser should not outweigh what the customer types.
    `POST /chat/conversations`: a new signed conversation id for the REST channel (the widget's socket gets
    its own from the socket.io channel)."""
    router = APIRouter()
    key = conversations.key_for(settings)

    @router.get("/chat", response_class=HTMLResponse)
    def chat_page(request: Request) -> HTMLResponse:
        language = page_language(request)
        config: dict[str, object] = {"socketUrl": settings.chat_socket_url, "storageKey": STORAGE_KEY,
                                     "texts": widget_texts(language.code)}
        if language.chosen:
            config["language"] = language.code
        context = {**page_context(request, language), "chat_config": config}
        return templates.TemplateResponse(request, "chat.html", context, headers=language_headers(language.code))

    @router.post("/chat/conversations")
    def new_conversation() -> dict[str, str]:
        return {"sender": conversations.issue(key)}

    return router
