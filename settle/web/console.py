"""The agent console: login, the queue, a conversation with its context, and the live takeover.

Every page and action needs a logged-in agent; every POST carries the session's CSRF token. The
console talks to Rasa's HTTP API from the server with RASA_API_TOKEN: the token never reaches a
browser, and the agent's words reach the customer's open chat only through Rasa.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from urllib.parse import quote

import requests
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from settle.config import Settings
from settle.errors import EscalationNotFound, HandoffProblem, SendError, TooManyLogins
from settle.handoff import services
from settle.handoff.services import AgentInfo
from settle.identity import services as identity_services
from settle.models import EscalationReason, EscalationStatus
from settle.outreach.senders import conversation_events, trigger_intent
from settle.signing import rasa_api_token
from settle.unit_of_work import UnitOfWork

log = logging.getLogger("settle.web.console")

#: How the queue names each reason for escalating.
REASON_LABELS = {
    EscalationReason.ASKED: "Asked for a person",
    EscalationReason.REPEATED_FALLBACK: "Bot did not understand",
    EscalationReason.UPSET: "Customer upset",
    EscalationReason.DISPUTE: "Disputed bill",
    EscalationReason.HARDSHIP: "Financial hardship",
    EscalationReason.VERIFICATION_LOCKED: "Verification locked",
}
VIEW_LABELS = {"waiting": "Waiting", "mine": "Mine", "closed": "Resolved"}
STATUS_LABELS = {
    EscalationStatus.WAITING: "Waiting",
    EscalationStatus.CLAIMED: "With an agent",
    EscalationStatus.RESOLVED: "Resolved",
    EscalationStatus.HANDED_BACK: "Back with the bot",
}


class ConsoleSession:
    """What every console page shares: who is logged in, the CSRF token, pages that are never cached."""

    def __init__(self, templates: Jinja2Templates, new_unit_of_work: Callable[[], UnitOfWork]) -> None:
        self.templates = templates
        self.new_unit_of_work = new_unit_of_work

    def csrf_token(self, request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = secrets.token_urlsafe(32)
        return request.session["csrf"]

    def csrf_ok(self, request: Request, sent: str | None) -> bool:
        expected = request.session.get("csrf")
        return isinstance(expected, str) and bool(expected and sent) and hmac.compare_digest(expected, sent or "")

    def page(self, request: Request, name: str, status_code: int = 200, **values) -> HTMLResponse:
        values.setdefault("csrf_token", self.csrf_token(request))
        values.setdefault("flash", request.session.pop("flash", None))
        response = self.templates.TemplateResponse(request, name, values, status_code=status_code)
        response.headers["Cache-Control"] = "no-store"
        return response

    def logged_in(self, request: Request) -> AgentInfo | None:
        return services.agent_on_duty(self.new_unit_of_work(), request.session.get("agent_id"))

    def to_login(self, request: Request) -> RedirectResponse:
        return RedirectResponse(f"/agent/login?next={quote(request.url.path)}", status_code=303)

    def refused(self, request: Request) -> HTMLResponse:
        return self.page(request, "agent/expired.html", 403)


def console_router(settings: Settings, console: ConsoleSession) -> APIRouter:
    """The console's routes; `console.new_unit_of_work` gives each use case a fresh unit of work."""
    router = APIRouter(prefix="/agent")
    rasa = requests.Session()
    console.templates.env.globals.update(reason_labels=REASON_LABELS, status_labels=STATUS_LABELS, view_labels=VIEW_LABELS)
    new_unit_of_work, csrf_ok, page, logged_in, to_login, refused = (
        console.new_unit_of_work, console.csrf_ok, console.page, console.logged_in, console.to_login, console.refused
    )

    def not_logged_in_fragment() -> Response:
        """For the parts a page fetches: a short 401 instead of the login page."""
        return Response("Log in again.", status_code=401)

    def not_found(request: Request, agent: AgentInfo) -> HTMLResponse:
        return page(request, "agent/not_found.html", 404, agent=agent)

    def tell_the_chat(request: Request, conversation_id: str, intent: str) -> None:
        """Asks Rasa to run the takeover action in the customer's chat; a failure is shown, not raised:
        what the agent did is saved and goes out with the next message that gets through."""
        try:
            entities = services.sign_console_event(new_unit_of_work(), intent, conversation_id)
            trigger_intent(rasa, settings.rasa_url, rasa_api_token(settings), conversation_id, intent, entities,
                           purpose="reach the chat")
        except SendError as error:
            log.warning("console: %s", error)
            request.session["flash"] = "Saved, but the customer's chat could not be reached just now. Try again in a moment."

    def said_while_waiting(shown: services.Conversation) -> list[dict] | None:
        """What was said after the hand-over until an agent joined, read from Rasa; None if it can't be now."""
        try:
            events = conversation_events(rasa, settings.rasa_url, rasa_api_token(settings),
                                         shown.escalation.conversation_id, timeout=3)
        except SendError as error:
            log.warning("console: %s", error)
            return None
        return services.said_while_waiting(shown, events)

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/agent"):
        return page(request, "agent/login.html", next=_safe_next(next))

    @router.post("/login", response_class=HTMLResponse)
    def login(
        request: Request, email: str = Form(""), password: str = Form(""), csrf_token: str = Form(""), next: str = Form("/agent")
    ):
        if not csrf_ok(request, csrf_token):
            return refused(request)
        try:
            agent_id = services.log_in(new_unit_of_work(), email, password, request.client.host if request.client else "unknown")
        except TooManyLogins as error:
            return page(request, "agent/login.html", 429, next=_safe_next(next), email=email,
                        error=f"Too many attempts. Try again in {_minutes(error.minutes)}.")
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
        agent = logged_in(request)
        if agent is None:
            return to_login(request)
        listed = services.queue(new_unit_of_work(), agent.id, view, reason)
        failures = identity_services.recent_failures(new_unit_of_work())
        return page(request, "agent/queue.html", agent=agent, view=listed.view, reason=listed.reason, rows=listed.rows,
                    reasons=tuple(EscalationReason), failures=failures)

    @router.get("/queue", response_class=HTMLResponse)
    def queue_rows(request: Request, view: str = "waiting", reason: str = ""):
        """The queue's rows alone, which the page fetches every few seconds."""
        agent = logged_in(request)
        if agent is None:
            return not_logged_in_fragment()
        listed = services.queue(new_unit_of_work(), agent.id, view, reason)
        return page(request, "agent/queue_rows.html", rows=listed.rows, view=listed.view)

    @router.get("/conversations/{escalation_id}", response_class=HTMLResponse)
    def conversation(request: Request, escalation_id: int):
        agent = logged_in(request)
        if agent is None:
            return to_login(request)
        try:
            shown = services.conversation(new_unit_of_work(), escalation_id)
        except EscalationNotFound:
            return not_found(request, agent)
        return page(
            request, "agent/conversation.html", agent=agent, escalation=shown.escalation, context=shown.context,
            transcript=shown.transcript, while_waiting=said_while_waiting(shown), messages=shown.messages, case=shown.case,
        )

    @router.get("/conversations/{escalation_id}/messages", response_class=HTMLResponse)
    def conversation_messages(request: Request, escalation_id: int):
        """What was said since the hand-over, which the page fetches every few seconds."""
        if logged_in(request) is None:
            return not_logged_in_fragment()
        try:
            said = services.conversation_messages(new_unit_of_work(), escalation_id)
        except EscalationNotFound:
            return Response("No such conversation.", status_code=404)
        return page(request, "agent/messages.html", messages=said)

    def act(request: Request, escalation_id: int, sent_token: str, work: Callable[[AgentInfo], str | None], intent: str | None):
        """Runs one agent action (login and CSRF checked); `work` returns the chat to tell with `intent`, if any,
        once the change is saved. What the agent can't do is shown on the conversation's page."""
        if not csrf_ok(request, sent_token):
            return refused(request)
        agent = logged_in(request)
        if agent is None:
            return to_login(request)
        try:
            conversation_id = work(agent)
        except EscalationNotFound:
            return not_found(request, agent)
        except HandoffProblem as problem:  # nothing changed
            request.session["flash"] = str(problem)
            conversation_id = None
        if conversation_id and intent:
            tell_the_chat(request, conversation_id, intent)
        if request.headers.get("x-requested-with") == "fetch":
            return Response(status_code=204)
        return RedirectResponse(f"/agent/conversations/{escalation_id}", status_code=303)

    @router.post("/conversations/{escalation_id}/claim")
    def claim(request: Request, escalation_id: int, csrf_token: str = Form("")):
        return act(request, escalation_id, csrf_token,
                   lambda agent: services.claim(new_unit_of_work(), escalation_id, agent.id), "EXTERNAL_agent_joined")

    @router.post("/conversations/{escalation_id}/reply")
    def reply(request: Request, escalation_id: int, text: str = Form(""), csrf_token: str = Form("")):
        return act(request, escalation_id, csrf_token,
                   lambda agent: services.reply(new_unit_of_work(), escalation_id, agent.id, text), "EXTERNAL_agent_message")

    @router.post("/conversations/{escalation_id}/note")
    def note(request: Request, escalation_id: int, text: str = Form(""), csrf_token: str = Form("")):
        return act(request, escalation_id, csrf_token,
                   lambda agent: services.add_note(new_unit_of_work(), escalation_id, agent.id, text), None)

    @router.post("/conversations/{escalation_id}/callback-done")
    def callback_done(request: Request, escalation_id: int, csrf_token: str = Form("")):
        return act(request, escalation_id, csrf_token,
                   lambda agent: services.mark_callback_done(new_unit_of_work(), escalation_id, agent.id), None)

    @router.post("/conversations/{escalation_id}/close")
    def close(request: Request, escalation_id: int, outcome: str = Form(""), csrf_token: str = Form("")):
        return act(request, escalation_id, csrf_token,
                   lambda agent: services.close(new_unit_of_work(), escalation_id, agent.id, outcome), "EXTERNAL_agent_left")

    return router


def _minutes(count: int) -> str:
    return "1 minute" if count == 1 else f"{count} minutes"


def _safe_next(target: str) -> str:
    """Only a path inside the console, so the login can't be used to send an agent elsewhere."""
    return target if target.startswith("/agent") and "//" not in target and "\\" not in target else "/agent"
