"""Thin routes over the use cases; every page works without JavaScript."""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from settle.billing import services as billing
from settle.clock import clock_for, format_date, format_moment
from settle.config import Settings, process_settings
from settle.errors import LinkProblem, ProviderError
from settle.money import format_euros
from settle.payments import services
from settle.signing import session_secret
from settle.unit_of_work import UnitOfWork
from settle.web.chat import chat_router
from settle.web.console import ConsoleSession, console_router
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
    templates.env.filters["euros"] = format_euros
    templates.env.filters["day"] = format_date
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

    def page(request: Request, name: str, status_code: int = 200, **values) -> HTMLResponse:
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    def problem(request: Request, reason: str) -> HTMLResponse:
        return page(request, "link_problem.html", PROBLEM_STATUS[reason], reason=reason)

    @app.get("/health", response_class=PlainTextResponse)
    def health() -> str:
        return "ok"

    @app.get("/pay/{token}", response_class=HTMLResponse)
    def payment_page(request: Request, token: str):
        try:
            shown = services.payment_page(new_unit_of_work(), token)
        except LinkProblem as error:
            return problem(request, error.reason)
        return page(request, "pay.html", token=token, page=shown)

    @app.post("/pay/{token}/checkout")
    def checkout(request: Request, token: str):
        try:
            checkout_url = services.start_checkout(new_unit_of_work(), token)
        except LinkProblem as error:
            return problem(request, error.reason)
        except ProviderError as error:
            log.error("could not start a checkout: %s", error)
            return page(request, "provider_down.html", 503, token=token)
        return RedirectResponse(checkout_url, status_code=303)

    @app.get("/pay/{token}/done", response_class=HTMLResponse)
    def after_checkout(request: Request, token: str):
        try:
            failed = services.checkout_failed(new_unit_of_work(), token)
        except LinkProblem as error:
            return problem(request, error.reason)
        return page(request, "pay_pending.html", token=token, failed=failed)

    if settings.payment_provider == "sandbox":  # the demo provider's pages exist only when it is the provider

        @app.get("/sandbox/checkout/{payment_id}", response_class=HTMLResponse)
        def sandbox_page(request: Request, payment_id: str):
            try:
                payment = services.sandbox_checkout(new_unit_of_work(), payment_id)
            except ProviderError:
                return page(request, "link_problem.html", 404, reason="unknown")
            return page(request, "sandbox.html", payment=payment)

        @app.post("/sandbox/checkout/{payment_id}")
        def sandbox_outcome(request: Request, payment_id: str, outcome: str = Form(...)):
            try:
                redirect_url = services.sandbox_outcome(new_unit_of_work(), payment_id, succeeded=outcome == "pay")
            except ProviderError:
                return page(request, "link_problem.html", 404, reason="unknown")
            return RedirectResponse(redirect_url, status_code=303)

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

    @app.get("/invoices/{token}.pdf")
    def invoice_copy(request: Request, token: str):
        try:
            pdf = billing.open_invoice_copy(new_unit_of_work(), token)
        except LinkProblem as error:
            return problem(request, error.reason)
        headers = {"Content-Disposition": f'inline; filename="{pdf.invoice_number}.pdf"', "Cache-Control": "private, no-store"}
        return Response(pdf.content, media_type="application/pdf", headers=headers)

    return app
