"""The designers' conversation review in the console: the conversations to read (filtered, a page at a time),
each customer message as the bot understood it, and a designer's mark on a misread one. Behind the console
login, for designers and operations; `settle review export` turns the marks into training data."""
from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from settle.errors import MarkProblem, MessageNotFound
from settle.handoff.services import AgentInfo
from settle.insights import review
from settle.insights import services as insights
from settle.web.console import ConsoleSession


def review_router(console: ConsoleSession) -> APIRouter:
    router = APIRouter(prefix="/agent/review")
    page, new_unit_of_work = console.page, console.new_unit_of_work
    console.templates.env.filters.setdefault("quote_path", lambda value: quote(str(value), safe=""))

    def allowed(request: Request) -> AgentInfo | Response:
        user = console.logged_in(request)
        if user is None:
            return console.to_login(request)
        if not user.reviews_conversations:
            return page(request, "agent/forbidden.html", 403, agent=user)
        return user

    @router.get("", response_class=HTMLResponse)
    def conversations(request: Request, fell_back: str = "", escalated: str = "", low_confidence: str = "",
                      language: str = "", intent: str = "", start: str = Query("", alias="from"),
                      end: str = Query("", alias="to"), page_number: str = Query("1", alias="page")):
        user = allowed(request)
        if not isinstance(user, AgentInfo):
            return user
        asked = dict(fell_back=fell_back, escalated=escalated, low_confidence=low_confidence, language=language,
                     intent=intent, start=start, end=end)
        values: dict[str, Any] = dict(agent=user, asked=asked, intents=review.domain_names().intents + ("nlu_fallback",),
                      low_confidence_below=review.LOW_CONFIDENCE)
        try:
            first, last = _day(start, "first"), _day(end, "last")
        except ValueError as error:
            return page(request, "agent/review.html", 400, error=str(error), listed=None, languages=(), **values)
        chosen = review.ReviewFilter(
            fell_back=bool(fell_back), escalated=bool(escalated), low_confidence=bool(low_confidence),
            language=language.strip(), intent=intent.strip(), start=first, end=last,
            page=int(page_number) if page_number.isdigit() else 1,
        )
        listed, languages = insights.review_list(new_unit_of_work(), chosen)
        kept = {"from" if k == "start" else "to" if k == "end" else k: v for k, v in asked.items() if v}
        return page(request, "agent/review.html", listed=listed, languages=languages,
                    page_url=lambda number: "/agent/review?" + urlencode({**kept, "page": number}), **values)

    @router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
    def conversation(request: Request, conversation_id: str):
        user = allowed(request)
        if not isinstance(user, AgentInfo):
            return user
        try:
            shown = insights.review_transcript(new_unit_of_work(), conversation_id)
        except MessageNotFound:
            return page(request, "agent/not_found.html", 404, agent=user)
        return page(request, "agent/review_conversation.html", agent=user, transcript=shown,
                    names=review.domain_names(), out_of_scope=review.OUT_OF_SCOPE)

    @router.post("/messages/{message_id}/mark")
    def mark(request: Request, message_id: int, intent: str = Form(""), example: str = Form(""),
             out_of_scope: str = Form(""), conversation_id: str = Form(""), csrf_token: str = Form("")):
        if not console.csrf_ok(request, csrf_token):
            return console.refused(request)
        user = allowed(request)
        if not isinstance(user, AgentInfo):
            return user
        intent = review.OUT_OF_SCOPE if out_of_scope else intent
        try:
            conversation_id = insights.mark_message(new_unit_of_work(), message_id, user.id, intent, example)
            request.session["flash"] = f"Marked as {intent}: it goes into the next export."
        except MessageNotFound:
            return page(request, "agent/not_found.html", 404, agent=user)
        except MarkProblem as problem:
            request.session["flash"] = f"{problem}. Nothing changed."
        target = f"/agent/review/conversations/{quote(conversation_id, safe='')}" if conversation_id else "/agent/review"
        return RedirectResponse(f"{target}#message-{message_id}", status_code=303)

    return router


def _day(typed: str, which: str) -> date | None:
    typed = (typed or "").strip()
    if not typed:
        return None
    try:
        return date.fromisoformat(typed)
    except ValueError:
        raise ValueError(f"The {which} day {typed[:20]!r} is not a date like 2026-11-01.") from None
