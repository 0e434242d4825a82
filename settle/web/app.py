"""Thin routes over the use cases; every page works without JavaScript."""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from settle import metrics
from settle.billing import services as billing
from settle.clock import clock_for, format_moment
from settle.config import Settings, process_settings
from settle.errors import LinkProblem, ProviderError
from settle.identity.language import supported
from settle.locales import language_name
from settle.outreach import services as reminder_choices
from settle.payments import services
from settle.signing import session_secret
from settle.unit_of_work import UnitOfWork
from settle.web.chat import chat_router
from settle.web.console import ConsoleSession, console_router
from settle.web.languages import PageLanguage, install, language_headers, page_context, page_language
from settle.web.operations import operations_router
from settle.web.review import review_router

HERE = Path(__file__).parent
log = logging.getLogger("settle.web")

#: HTTP status of each reason a link can't be used.
PROBLEM_STATUS = {"unknown": 404, "expired": 410, "changed": 410, "paid": 200}


def security_headers(settings: Settings) -> dict[str, str]:
    """Sent with every response: scripts, styles and connections from this site only (plus the chat's
    socket.io server), never inside another site's frame, and no Referer: payment links carry tokens."""
    socket = urlsplit(settings.chat_socket_url)
    socket_scheme = "wss" if socket.scheme == "https" else "ws"
    connect = f"'self' {socket.scheme}://{socket.netloc} {socket_scheme}://{socket.netloc}"
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or process_settings()
    refusal = settings.sandbox_refusal() or settings.missing_secrets_refusal()
    if refusal:  # one line on the terminal, not a traceback: the server must not start
        raise SystemExit(f"settle web app: {refusal}.")
    clock = clock_for(settings)

    def new_unit_of_work() -> UnitOfWork:
        """One per request: every page and every form post is one use case."""
        return UnitOfWork(settings, clock)

    app = FastAPI(title="Settle", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    install(templates.env)  # gettext, {% trans %} and the euros, day and month filters in each page's language
    templates.env.filters["language_name"] = language_name
    templates.env.filters["local_time"] = lambda moment: format_moment(moment, clock.zone, "short") if moment else ""
    templates.env.globals["settings"] = settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="settle_agent",
        max_age=8 * 60 * 60,  # a working day
        same_site="strict",
        https_only=settings.public_url.startswith("https://"),
    )
    headers = security_headers(settings)

    @app.middleware("http")
    async def add_security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(headers)
        return response

    console = ConsoleSession(templates, new_unit_of_work)
    app.include_router(console_router(settings, console))
    app.include_router(operations_router(console))
    app.include_router(review_router(console))
    app.include_router(chat_router(settings, templates))

    def page(request: Request, name: str, language: PageLanguage, status_code: int = 200, **values) -> HTMLResponse:
        """A customer's page in `language`; its language switch only where the page can be asked for again."""
        context = {**page_context(request, language, switch=request.method == "GET"), **values}
        return templates.TemplateResponse(request, name, context, status_code=status_code,
                                          headers=language_headers(language.code))

    def link_language(request: Request, token: str) -> PageLanguage:
        """A link's pages speak its customer's language, unless another one is asked for."""
        return page_language(request, services.link_language(new_unit_of_work(), token))

    def own_page_in(url: str, language: PageLanguage) -> str:
        """A language the customer chose goes along to the next of this app's own pages (the sandbox checkout,
        back to the link's page); another site's address is left as it is."""
        if not language.chosen or not url.startswith(f"{settings.public_url}/") or "?" in url:
            return url
        return f"{url}?language={language.code}"

    def problem(request: Request, reason: str, language: PageLanguage) -> HTMLResponse:
        return page(request, "link_problem.html", language, PROBLEM_STATUS[reason], reason=reason)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        """An address that leads nowhere gets a friendly page in the visitor's language; other HTTP errors
        keep FastAPI's answer."""
        if error.status_code == 404:
            return page(request, "not_found.html", page_language(request), 404)
        return await http_exception_handler(request, error)

    @app.exception_handler(Exception)
    def server_error(request: Request, error: Exception) -> Response:
        """Something broke: the server's log has the traceback, the customer a kind page without it."""
        return page(request, "server_error.html", page_language(request), 500)

    @app.get("/health", response_class=PlainTextResponse)
    def health() -> str:
        return "ok"

    @app.get("/metrics")
    def prometheus_metrics(request: Request) -> Response:
        """Settle's counters for Prometheus (settle/metrics.py): to the bearer of SETTLE_METRICS_TOKEN, or without
        one set to loopback clients only (the counts say how much business flows)."""
        if not metrics.may_scrape(settings.metrics_token, request.headers.get("authorization"), request.client and request.client.host):
            return PlainTextResponse("Not allowed.", status_code=403)
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/pay/{token}", response_class=HTMLResponse)
    def payment_page(request: Request, token: str):
        language = link_language(request, token)
        try:
            shown = services.payment_page(new_unit_of_work(), token)
        except LinkProblem as error:
            return problem(request, error.reason, language)
        return page(request, "pay.html", language, token=token, page=shown)

    @app.post("/pay/{token}/checkout")
    def checkout(request: Request, token: str):
        language = link_language(request, token)
        try:
            checkout_url = services.start_checkout(new_unit_of_work(), token, language.code)
        except LinkProblem as error:
            return problem(request, error.reason, language)
        except ProviderError as error:
            log.error("could not start a checkout: %s", error)
            return page(request, "provider_down.html", language, 503, token=token)
        return RedirectResponse(own_page_in(checkout_url, language), status_code=303)

    @app.get("/pay/{token}/done", response_class=HTMLResponse)
    def after_checkout(request: Request, token: str):
        language = link_language(request, token)
        try:
            failed = services.checkout_failed(new_unit_of_work(), token)
        except LinkProblem as error:
            return problem(request, error.reason, language)
        return page(request, "pay_pending.html", language, token=token, failed=failed)

    if settings.payment_provider == "sandbox":  # the demo provider's pages exist only when it is the provider

        @app.get("/sandbox/checkout/{payment_id}", response_class=HTMLResponse)
        def sandbox_page(request: Request, payment_id: str):
            try:
                payment = services.sandbox_checkout(new_unit_of_work(), payment_id)
            except ProviderError:
                return problem(request, "unknown", page_language(request))
            return page(request, "sandbox.html", page_language(request, payment.language), payment=payment)

        @app.post("/sandbox/checkout/{payment_id}")
        def sandbox_outcome(request: Request, payment_id: str, outcome: str = Form(...)):
            try:
                redirect_url = services.sandbox_outcome(new_unit_of_work(), payment_id, succeeded=outcome == "pay")
            except ProviderError:
                return problem(request, "unknown", page_language(request))
            return RedirectResponse(own_page_in(redirect_url, page_language(request)), status_code=303)

    @app.post("/webhooks/{provider_name}", response_class=PlainTextResponse)
    def webhook(provider_name: str, id: str = Form("")):
        if provider_name != settings.payment_provider:  # only the provider in use may tell us about payments
            return PlainTextResponse("unknown provider", status_code=404)
        try:
            outcome = services.handle_webhook(new_unit_of_work(), provider_name, id)
        except ProviderError as error:
            log.warning("webhook for %s %s not handled yet: %s", provider_name, id, error)
            return PlainTextResponse("try again later", status_code=503)
        log.info("webhook %s %s: %s", provider_name, id, outcome)
        return "ok"

    def stop_page(request: Request, token: str, work, status_code: int = 200, **values) -> HTMLResponse:
        """The opt-out link's page in its customer's language; a link Settle did not sign gets a 404 that says so."""
        try:
            shown = work(new_unit_of_work())
        except LinkProblem:
            return page(request, "stop_reminders.html", page_language(request), 404, unknown=True)
        return page(request, "stop_reminders.html", page_language(request, shown.language), status_code, token=token,
                    page=shown, **values)

    @app.get("/reminders/stop/{token}", response_class=HTMLResponse)
    def stop_reminders_page(request: Request, token: str):
        return stop_page(request, token, lambda uow: reminder_choices.opt_out_page(uow, token))

    @app.post("/reminders/stop/{token}", response_class=HTMLResponse)
    def stop_reminders(request: Request, token: str, where: str = Form("here")):
        """The page's buttons, and a mail program's one-click unsubscribe (RFC 8058: "List-Unsubscribe=One-Click",
        no `where`), which stops the reminders on the link's channel."""
        everywhere = where == "everywhere"
        return stop_page(request, token, lambda uow: reminder_choices.choose_by_link(uow, token, everywhere),
                         outcome="stopped")

    @app.post("/reminders/stop/{token}/restart", response_class=HTMLResponse)
    def restart_reminders(request: Request, token: str, where: str = Form("here")):
        everywhere = where == "everywhere"
        return stop_page(request, token, lambda uow: reminder_choices.choose_by_link(uow, token, everywhere, opted_out=False),
                         outcome="restarted", everywhere=everywhere)

    @app.get("/invoices/{token}.pdf")
    def invoice_copy(request: Request, token: str):
        try:  # in the customer's language, unless another one is asked for (?language=fr)
            pdf = billing.open_invoice_copy(new_unit_of_work(), token, supported(request.query_params.get("language")))
        except LinkProblem as error:
            return problem(request, error.reason, page_language(request))
        headers = {"Content-Disposition": f'inline; filename="{pdf.invoice_number}.pdf"', "Cache-Control": "private, no-store",
                   "Content-Language": pdf.language}
        return Response(pdf.content, media_type="application/pdf", headers=headers)

    return app
