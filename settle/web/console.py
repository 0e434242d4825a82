"""The agent console: login, the queue, a conversation with its context, and the live takeover.

Every page and action needs a logged-in agent; every POST carries the session's CSRF token. The
console talks to Rasa's HTTP API from the server with RASA_API_TOKEN: the token never reaches a
browser, and the agent's words reach the customer's open chat only through Rasa.
"""
from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from urllib.parse import quote

import requests
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from settle.handoff import takeover as handoff
from settle.handoff.agents import authenticate
from settle.handoff.case_file import case_file
from settle.clock import now_utc
from settle.config import Settings
from settle.handoff.escalations import REASONS
from settle.models import Agent, Escalation
from settle.outreach.senders import SendError, trigger_intent
from settle.signing import rasa_api_token

log = logging.getLogger("settle.web.console")

#: How the queue names each reason for escalating.
REASON_LABELS = {
    "asked": "Asked for a person",
    "repeated_fallback": "Bot did not understand",
    "upset": "Customer upset",
    "dispute": "Disputed bill",
    "hardship": "Financial hardship",
    "verification_locked": "Verification locked",
}
VIEW_LABELS = {"waiting": "Waiting", "mine": "Mine", "closed": "Resolved"}
STATUS_LABELS = {"waiting": "Waiting", "claimed": "With an agent", "resolved": "Resolved", "handed_back": "Back with the bot"}


class NotLoggedIn(Exception):
    pass


def console_router(settings: Settings, templates: Jinja2Templates, database: Callable[[], AbstractContextManager[Session]]) -> APIRouter:
    router = APIRouter(prefix="/agent")
    rasa = requests.Session()
    templates.env.globals.update(reason_labels=REASON_LABELS, status_labels=STATUS_LABELS, view_labels=VIEW_LABELS)

    def csrf_token(request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = secrets.token_urlsafe(32)
        return request.session["csrf"]

    def csrf_ok(request: Request, sent: str | None) -> bool:
        expected = request.session.get("csrf")
        return bool(expected and sent) and hmac.compare_digest(expected, sent)

    def page(request: Request, name: str, status_code: int = 200, **values) -> HTMLResponse:
        values.setdefault("csrf_token", csrf_token(request))
        values.setdefault("flash", request.session.pop("flash", None))
        response = templates.TemplateResponse(request, name, values, status_code=status_code)
        response.headers["Cache-Control"] = "no-store"
        return response

    def logged_in(request: Request, session: Session) -> Agent:
        agent = session.get(Agent, request.session.get("agent_id") or 0)
        if agent is None or not agent.active:
            raise NotLoggedIn
        return agent

    def agent_and_escalation(request: Request, session: Session, escalation_id: int, fragment: bool = False):
        """((agent, escalation), None), or (None, the answer to give instead): the login page or a 404
        for pages, a short 401/404 for the parts a page fetches (`fragment`)."""
        try:
            agent = logged_in(request, session)
        except NotLoggedIn:
            return None, Response("Log in again.", status_code=401) if fragment else to_login(request)
        escalation = session.get(Escalation, escalation_id)
        if escalation is None:
            return None, (Response("No such conversation.", status_code=404) if fragment
                          else page(request, "agent/not_found.html", 404, agent=agent))
        return (agent, escalation), None

    def to_login(request: Request) -> RedirectResponse:
        return RedirectResponse(f"/agent/login?next={quote(request.url.path)}", status_code=303)

    def refused(request: Request) -> HTMLResponse:
        return page(request, "agent/expired.html", 403)

    def tell_the_chat(request: Request, conversation_id: str, intent: str) -> None:
        """Asks Rasa to run the takeover action in the customer's chat; a failure is shown, not raised:
        what the agent did is saved and goes out with the next message that gets through."""
        try:
            trigger_intent(rasa, settings.rasa_url, rasa_api_token(settings), conversation_id, intent, purpose="reach the chat")
        except SendError as error:
            log.warning("console: %s", error)
            request.session["flash"] = "Saved, but the customer's chat could not be reached just now. Try again in a moment."

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/agent"):
        return page(request, "agent/login.html", next=_safe_next(next))

    @router.post("/login", response_class=HTMLResponse)
    def login(request: Request, email: str = Form(""), password: str = Form(""), csrf_token: str = Form(""), next: str = Form("/agent")):
        if not csrf_ok(request, csrf_token):
            return refused(request)
        with database() as session:
            agent = authenticate(session, email, password)
            agent_id = agent.id if agent else None
        if agent_id is None:
            return page(request, "agent/login.html", 401, next=_safe_next(next), email=email,
                        error="That e-mail address and password don't match an agent's.")
        request.session.clear()  # a fresh session (and CSRF token) after login
        request.session["agent_id"] = agent_id
        return RedirectResponse(_safe_next(next), status_code=303)

    @router.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")):
        if not csrf_ok(request, csrf_token):
            return refused(request)
        request.session.clear()
        return RedirectResponse("/agent/login", status_code=303)

    @router.get("", response_class=HTMLResponse)
    def queue_page(request: Request, view: str = "waiting", reason: str = ""):
        view, reason = _view(view), _reason(reason)
        with database() as session:
            try:
                agent = logged_in(request, session)
            except NotLoggedIn:
                return to_login(request)
            rows = handoff.queue(session, view, agent.id, reason or None)
            return page(request, "agent/queue.html", agent=agent, view=view, reason=reason, rows=rows, reasons=REASONS)

    @router.get("/queue", response_class=HTMLResponse)
    def queue_rows(request: Request, view: str = "waiting", reason: str = ""):
        """The queue's rows alone, which the page fetches every few seconds."""
        with database() as session:
            try:
                agent = logged_in(request, session)
            except NotLoggedIn:
                return Response("Log in again.", status_code=401)
            rows = handoff.queue(session, _view(view), agent.id, _reason(reason) or None)
            return page(request, "agent/queue_rows.html", rows=rows, view=_view(view))

    @router.get("/conversations/{escalation_id}", response_class=HTMLResponse)
    def conversation(request: Request, escalation_id: int):
        with database() as session:
            found, refusal = agent_and_escalation(request, session, escalation_id)
            if refusal:
                return refusal
            agent, escalation = found
            return page(
                request, "agent/conversation.html", agent=agent, escalation=escalation,
                context=escalation_context(escalation), transcript=handoff.transcript(escalation),
                messages=handoff.messages(session, escalation.id),
                case=case_file(session, escalation.customer_id, now_utc()) if escalation.customer_id else None,
            )

    @router.get("/conversations/{escalation_id}/messages", response_class=HTMLResponse)
    def conversation_messages(request: Request, escalation_id: int):
        """What was said since the hand-over, which the page fetches every few seconds."""
        with database() as session:
            found, refusal = agent_and_escalation(request, session, escalation_id, fragment=True)
            if refusal:
                return refusal
            _, escalation = found
            return page(request, "agent/messages.html", escalation=escalation, messages=handoff.messages(session, escalation.id))

    def act(request: Request, escalation_id: int, sent_token: str, work: Callable[[Session, Agent, Escalation], str | None]):
        """Runs one agent action: login and CSRF checked, the change committed, then Rasa told (if needed)."""
        if not csrf_ok(request, sent_token):
            return refused(request)
        with database() as session:
            found, refusal = agent_and_escalation(request, session, escalation_id)
            if refusal:
                return refusal
            agent, escalation = found
            conversation_id = escalation.conversation_id
            try:
                intent = work(session, agent, escalation)
            except handoff.HandoffProblem as problem:  # raised before anything changed
                request.session["flash"] = str(problem)
                intent = None
        if intent:
            tell_the_chat(request, conversation_id, intent)
        if request.headers.get("x-requested-with") == "fetch":
            return Response(status_code=204)
        return RedirectResponse(f"/agent/conversations/{escalation_id}", status_code=303)

    @router.post("/conversations/{escalation_id}/claim")
    def claim(request: Request, escalation_id: int, csrf_token: str = Form("")):
        def work(session, agent, escalation):
            handoff.claim(session, escalation.id, agent.id, now_utc())
            return "EXTERNAL_agent_joined"
        return act(request, escalation_id, csrf_token, work)

    @router.post("/conversations/{escalation_id}/reply")
    def reply(request: Request, escalation_id: int, text: str = Form(""), csrf_token: str = Form("")):
        def work(session, agent, escalation):
            handoff.reply(session, escalation.id, agent.id, text, now_utc())
            return "EXTERNAL_agent_message"
        return act(request, escalation_id, csrf_token, work)

    @router.post("/conversations/{escalation_id}/note")
    def note(request: Request, escalation_id: int, text: str = Form(""), csrf_token: str = Form("")):
        def work(session, agent, escalation):
            handoff.add_note(session, escalation.id, agent.id, text, now_utc())
            return None
        return act(request, escalation_id, csrf_token, work)

    @router.post("/conversations/{escalation_id}/close")
    def close(request: Request, escalation_id: int, outcome: str = Form(""), csrf_token: str = Form("")):
        def work(session, agent, escalation):
            if outcome not in handoff.CLOSED:
                raise handoff.HandoffProblem("Choose whether to resolve it or hand it back to the bot.")
            had_agent = handoff.close(session, escalation.id, agent.id, outcome, now_utc())
            return "EXTERNAL_agent_left" if had_agent else None
        return act(request, escalation_id, csrf_token, work)

    return router


def escalation_context(escalation: Escalation) -> dict:
    """The stored context, minus what the page shows in its own place."""
    context = json.loads(escalation.context_json or "{}")
    return {"bot_tried": context.pop("bot_tried", []), "details": context}


def _safe_next(target: str) -> str:
    """Only a path inside the console, so the login can't be used to send an agent elsewhere."""
    return target if target.startswith("/agent") and "//" not in target and "\\" not in target else "/agent"


def _view(view: str) -> str:
    return view if view in handoff.VIEWS else "waiting"


def _reason(reason: str) -> str:
    return reason if reason in REASONS else ""
