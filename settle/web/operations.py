"""Billing operations in the console: the figures of a period (page and CSV), and the accounts the reminder
engine flagged for a person. Behind the console login; each page says which roles may open it."""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from settle.clock import format_date
from settle.errors import (
    BadPeriod,
    FlaggedAccountNotFound,
    NotEligibleForExtension,
    NotEligibleForPlan,
    OutOfRange,
    ReviewProblem,
    UnknownChannel,
    UnknownLanguage,
)
from settle.handoff.services import AgentInfo
from settle.identity.language import SUPPORTED
from settle.insights import dashboard
from settle.insights import services as insights
from settle.insights.export import write_csv
from settle.models import OptOutSource, ReviewAction
from settle.money import format_euros
from settle.outreach import services as outreach
from settle.web.console import ConsoleSession

#: What each action on a flagged account says once done.
DONE = {
    ReviewAction.CALL_NOTED: "The call is noted.",
    ReviewAction.REMINDERS_PAUSED: "Reminders are paused for this customer.",
    ReviewAction.REVIEWED: "Marked reviewed: the account has left the list.",
}
REVIEW_LABELS = {
    ReviewAction.CALL_NOTED: "noted a call",
    ReviewAction.REMINDERS_PAUSED: "paused the reminders",
    ReviewAction.REMINDERS_RESUMED: "resumed the reminders",
    ReviewAction.EXTENSION_GRANTED: "gave more time",
    ReviewAction.PLAN_AGREED: "set up a plan",
    ReviewAction.REVIEWED: "marked it reviewed",
}
#: Why the chat's rules allow no more time for a bill, or no plan, as the console says it.
EXTENSION_REFUSALS = {
    "nothing_open": "nothing is open on it",
    "already_extended": "it was given more time already",
    "too_late": "it is too long overdue for more time (policy/arrangements.yml)",
    "in_plan": "it is in a plan",
    "disputed": "it is disputed",
    "invoice_not_found": "this customer has no such bill",
}
PLAN_REFUSALS = {
    "nothing_open": "nothing is open",
    "below_minimum": "less is open than a plan's minimum (policy/arrangements.yml)",
    "active_plan": "a plan is running already",
    "broken_recently": "a plan of theirs broke recently: no new one for now",
}
ACTION_PATHS = {"note": ReviewAction.CALL_NOTED, "pause": ReviewAction.REMINDERS_PAUSED, "reviewed": ReviewAction.REVIEWED}


def operations_router(console: ConsoleSession) -> APIRouter:
    router = APIRouter(prefix="/agent")
    page, new_unit_of_work = console.page, console.new_unit_of_work
    console.templates.env.filters.update(euro_text=lambda value: format_euros(Decimal(value)), duration=duration)
    console.templates.env.globals.update(review_labels=REVIEW_LABELS, extension_refusals=EXTENSION_REFUSALS,
                                         plan_refusals=PLAN_REFUSALS)

    def arrange(request: Request, customer_id: int, sent_token: str, work: Callable[[AgentInfo], str]) -> Response:
        """Runs a plan or more time for a flagged account (role and CSRF checked); `work` returns what to say.
        What the chat's rules refuse is said on the account's page; nothing changed then."""
        if not console.csrf_ok(request, sent_token):
            return console.refused(request)
        user = allowed(request, lambda user: user.reviews_flagged_accounts)
        if not isinstance(user, AgentInfo):
            return user
        try:
            request.session["flash"] = work(user)
        except FlaggedAccountNotFound:
            return page(request, "agent/flagged_gone.html", 404, agent=user)
        except NotEligibleForExtension as refusal:
            request.session["flash"] = f"No more time: {EXTENSION_REFUSALS[refusal.reason]}. Nothing changed."
        except NotEligibleForPlan as refusal:
            request.session["flash"] = f"No plan: {PLAN_REFUSALS[refusal.reason]}. Nothing changed."
        except OutOfRange as problem:
            request.session["flash"] = f"Not within what the rules allow ({problem}). Nothing changed."
        return RedirectResponse(f"/agent/flagged/{customer_id}", status_code=303)

    def allowed(request: Request, may: Callable[[AgentInfo], bool]) -> AgentInfo | Response:
        """The logged-in user when their role may open the page; else the way to the login or a polite 403."""
        user = console.logged_in(request)
        if user is None:
            return console.to_login(request)
        if not may(user):
            return page(request, "agent/forbidden.html", 403, agent=user)
        return user

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard_page(request: Request, days: str = "", start: str = Query("", alias="from"), end: str = Query("", alias="to"),
                       language: str = ""):
        user = allowed(request, lambda user: user.sees_the_figures)
        if not isinstance(user, AgentInfo):
            return user
        chosen_days = days or ("" if start or end else str(dashboard.PRESET_DAYS[0]))
        period_query = urlencode({"from": start, "to": end} if start or end else {"days": chosen_days})
        language_query = f"&language={quote(language.strip().lower())}" if language.strip() else ""
        values: dict[str, Any] = dict(agent=user, days=chosen_days, start=start, end=end, presets=sorted(dashboard.PRESET_DAYS),
                                      language=language.strip().lower() or "all", languages=SUPPORTED,
                                      period_query=period_query, language_query=language_query)
        try:
            first, last = dashboard.period_asked(new_unit_of_work().clock.today(), days, start, end)
            figures = insights.figures_for(new_unit_of_work(), first, last, dashboard.language_asked(language))
        except (BadPeriod, UnknownLanguage) as error:
            return page(request, "agent/dashboard.html", 400, error=f"{error}.", **values)
        query = f"from={first.isoformat()}&to={last.isoformat()}" + (f"&language={figures.language}" if figures.language else "")
        return page(request, "agent/dashboard.html", period=figures.period, sections=dashboard.sections(figures),
                    csv_url=f"/agent/dashboard.csv?{query}", **values)

    @router.get("/dashboard.csv")
    def dashboard_csv(request: Request, days: str = "", start: str = Query("", alias="from"), end: str = Query("", alias="to"),
                      language: str = ""):
        user = allowed(request, lambda user: user.sees_the_figures)
        if not isinstance(user, AgentInfo):
            return user
        try:
            first, last = dashboard.period_asked(new_unit_of_work().clock.today(), days, start, end)
            figures = insights.figures_for(new_unit_of_work(), first, last, dashboard.language_asked(language))
        except (BadPeriod, UnknownLanguage) as error:
            return Response(f"{error}.", status_code=400, media_type="text/plain")
        out = io.StringIO()
        write_csv(figures, out)
        in_language = f"-{figures.language}" if figures.language else ""
        name = f"settle-kpis-{first.isoformat()}-to-{last.isoformat()}{in_language}.csv"
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @router.get("/flagged", response_class=HTMLResponse)
    def flagged_list(request: Request):
        user = allowed(request, lambda user: user.reviews_flagged_accounts)
        if not isinstance(user, AgentInfo):
            return user
        listed = outreach.flagged_accounts(new_unit_of_work())
        return page(request, "agent/flagged.html", agent=user, accounts=listed.accounts, waiting=listed.waiting,
                    paused=outreach.paused_accounts(new_unit_of_work()))

    @router.post("/paused/{customer_id}/resume")
    def resume(request: Request, customer_id: int, csrf_token: str = Form("")):
        if not console.csrf_ok(request, csrf_token):
            return console.refused(request)
        user = allowed(request, lambda user: user.reviews_flagged_accounts)
        if not isinstance(user, AgentInfo):
            return user
        try:
            name = outreach.resume_reminders(new_unit_of_work(), customer_id, user.id)
            request.session["flash"] = f"Reminders run again for {name} from the next reminder run."
        except ReviewProblem as problem:
            request.session["flash"] = str(problem)
        return RedirectResponse("/agent/flagged", status_code=303)

    @router.get("/flagged/{customer_id}", response_class=HTMLResponse)
    def flagged_account(request: Request, customer_id: int):
        user = allowed(request, lambda user: user.reviews_flagged_accounts)
        if not isinstance(user, AgentInfo):
            return user
        try:
            shown = outreach.account_review(new_unit_of_work(), customer_id)
        except FlaggedAccountNotFound:
            return page(request, "agent/flagged_gone.html", 404, agent=user)
        return page(request, "agent/flagged_account.html", agent=user, review=shown)

    @router.post("/flagged/{customer_id}/more-time")
    def more_time(request: Request, customer_id: int, invoice_number: str = Form(""), new_due: str = Form(""),
                  csrf_token: str = Form("")):
        def work(user: AgentInfo) -> str:
            day = _day(new_due, "new due date")
            outreach.grant_more_time(new_unit_of_work(), customer_id, user.id, invoice_number, day)
            return f"{invoice_number} is now due {format_date(day)}."
        return arrange(request, customer_id, csrf_token, work)

    @router.post("/flagged/{customer_id}/plan")
    def plan(request: Request, customer_id: int, months: str = Form(""), start: str = Form(""),
             agreed_total_cents: str = Form(""), csrf_token: str = Form("")):
        def work(user: AgentInfo) -> str:
            link = outreach.agree_plan(new_unit_of_work(), customer_id, user.id, _count(months), _day(start, "first due date"),
                                       _count(agreed_total_cents))
            return f"The plan is set up. The link for its first instalment, to give the customer: {link.url}"
        return arrange(request, customer_id, csrf_token, work)

    @router.post("/flagged/{customer_id}/reminder-choice")
    def reminder_choice(request: Request, customer_id: int, channel: str = Form(""), choice: str = Form(""),
                        csrf_token: str = Form("")):
        """A customer's opt-out from reminders (or back in), told to a person on the phone or by letter."""
        if not console.csrf_ok(request, csrf_token):
            return console.refused(request)
        user = allowed(request, lambda user: user.reviews_flagged_accounts)
        if not isinstance(user, AgentInfo):
            return user
        if choice not in ("out", "in"):
            request.session["flash"] = "Choose whether the customer opts out or back in. Nothing changed."
            return RedirectResponse(f"/agent/flagged/{customer_id}", status_code=303)
        try:
            now_out = outreach.choose_reminders(new_unit_of_work(), customer_id, channel, choice == "out",
                                                OptOutSource.CONSOLE, user.id)
        except UnknownChannel:
            request.session["flash"] = "Choose a channel (chat, email, sms or all). Nothing changed."
        else:
            request.session["flash"] = ("Recorded. Reminders are now stopped on: " + ", ".join(sorted(now_out)) + "."
                                        if now_out else "Recorded. Reminders go out on every channel again.")
        return RedirectResponse(f"/agent/flagged/{customer_id}", status_code=303)

    @router.post("/flagged/{customer_id}/{action}")
    def act(request: Request, customer_id: int, action: str, note: str = Form(""), csrf_token: str = Form("")):
        if not console.csrf_ok(request, csrf_token):
            return console.refused(request)
        user = allowed(request, lambda user: user.reviews_flagged_accounts)
        if not isinstance(user, AgentInfo):
            return user
        if action not in ACTION_PATHS:
            return page(request, "agent/flagged_gone.html", 404, agent=user)
        chosen = ACTION_PATHS[action]
        try:
            outreach.act_on_flagged_account(new_unit_of_work(), customer_id, user.id, chosen, note)
        except FlaggedAccountNotFound:
            return page(request, "agent/flagged_gone.html", 404, agent=user)
        except ReviewProblem as problem:
            request.session["flash"] = str(problem)
            return RedirectResponse(f"/agent/flagged/{customer_id}", status_code=303)
        request.session["flash"] = DONE[chosen]
        if chosen == ReviewAction.REVIEWED:
            return RedirectResponse("/agent/flagged", status_code=303)
        return RedirectResponse(f"/agent/flagged/{customer_id}", status_code=303)

    return router


def _day(typed: str, what: str) -> date:
    try:
        return date.fromisoformat(typed.strip())
    except ValueError:
        raise OutOfRange(f"the {what} {typed[:20]!r} is not a date like 2026-12-01") from None


def _count(typed: str) -> int:
    if not typed.strip().isdigit():
        raise OutOfRange(f"{typed[:20]!r} is not a whole number")
    return int(typed)


def duration(seconds: str) -> str:
    """Whole seconds as a person reads a wait: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    left = int(seconds)
    if left < 60:
        return f"{left} s"
    minutes = round(left / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
