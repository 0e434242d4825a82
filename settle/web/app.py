"""Thin routes over the billing core; every page works without JavaScript."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from settle.payments.checkout import handle_notification, provider_for, start_checkout
from settle.clock import format_date, local_today, now_utc
from settle.config import Settings
from settle.db import session_factory
from settle.payments.epc_qr import epc_payload, qr_svg
from settle.billing.copies import open_copy
from settle.billing.pdf import render_invoice_pdf
from settle.models import SandboxPayment
from settle.money import euros, format_euros
from settle.payments.links import LinkProblem, open_link
from settle.payments.incoming import open_cents
from settle.payments.providers import ProviderError
from settle.signing import session_secret
from settle.payments.transfer import structured_communication
from settle.web.chat import chat_router
from settle.web.console import console_router

HERE = Path(__file__).parent
log = logging.getLogger("settle.web")

#: HTTP status of each reason a link can't be used.
PROBLEM_STATUS = {"unknown": 404, "expired": 410, "changed": 410, "paid": 200}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_environment()
    app = FastAPI(title="Settle", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["euros"] = format_euros
    templates.env.filters["day"] = format_date
    templates.env.globals["settings"] = settings

    @contextmanager
    def database():
        with session_factory(settings.database_url).begin() as session:
            yield session

    templates.env.filters["local_time"] = lambda moment: _local_time(moment, settings.timezone)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="settle_agent",
        max_age=8 * 60 * 60,  # a working day
        same_site="strict",
        https_only=settings.public_url.startswith("https://"),
    )
    app.include_router(console_router(settings, templates, database))
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
        with database() as session:
            try:
                link = open_link(session, token, settings, now_utc())
            except LinkProblem as error:
                return problem(request, error.reason)
            today = local_today(settings)
            bills = [_bill_view(session, invoice, today) for invoice in link.invoices]
            if link.instalment_id is None:
                transfers = [_transfer(settings, f"Bill {b['invoice'].number}", b["open_amount"], b["invoice"].number) for b in bills]
            else:  # open_link guarantees an unpaid instalment, so the plan still has open bills
                first = link.invoices[0].number
                transfers = [_transfer(settings, "This part of your payment plan", euros(link.amount_cents), first)]
            return page(
                request,
                "pay.html",
                token=token,
                customer=link.customer,
                bills=bills,
                transfers=transfers,
                amount=euros(link.amount_cents),
                expires_at=link.expires_at,
                online_label="Pay online (demo)" if settings.payment_provider == "sandbox" else "Pay online",
            )

    @app.post("/pay/{token}/checkout")
    def checkout(request: Request, token: str):
        now = now_utc()
        with database() as session:
            try:
                link = open_link(session, token, settings, now)
                provider = provider_for(settings.payment_provider, session, settings, now)
                started = start_checkout(session, link, token, provider, settings, now)
            except LinkProblem as error:
                return problem(request, error.reason)
            except ProviderError as error:
                log.error("could not start a checkout: %s", error)
                return page(request, "provider_down.html", 503, token=token)
            return RedirectResponse(started.checkout_url, status_code=303)

    @app.get("/pay/{token}/done", response_class=HTMLResponse)
    def after_checkout(request: Request, token: str):
        with database() as session:
            try:
                link = open_link(session, token, settings, now_utc())
            except LinkProblem as error:
                return problem(request, error.reason)
            last = link.checkouts[-1].status if link.checkouts else "open"
            return page(request, "pay_pending.html", token=token, failed=last in ("failed", "canceled", "expired"))

    if settings.payment_provider == "sandbox":  # the demo provider's pages exist only when it is the provider

        @app.get("/sandbox/checkout/{payment_id}", response_class=HTMLResponse)
        def sandbox_page(request: Request, payment_id: str):
            with database() as session:
                payment = session.get(SandboxPayment, payment_id)
                if payment is None:
                    return page(request, "link_problem.html", 404, reason="unknown")
                return page(request, "sandbox.html", payment=payment, amount=euros(payment.amount_cents))

        @app.post("/sandbox/checkout/{payment_id}")
        def sandbox_outcome(request: Request, payment_id: str, outcome: str = Form(...)):
            now = now_utc()
            with database() as session:
                sandbox = provider_for("sandbox", session, settings, now)
                try:
                    payment = sandbox.complete(payment_id, succeeded=outcome == "pay")
                except ProviderError:
                    return page(request, "link_problem.html", 404, reason="unknown")
                redirect_url = payment.redirect_url
                # The same path a real provider's webhook takes.
                handle_notification(session, sandbox, payment_id, now)
            return RedirectResponse(redirect_url, status_code=303)

    @app.post("/webhooks/{provider_name}", response_class=PlainTextResponse)
    def webhook(provider_name: str, id: str = Form("")):
        if provider_name != settings.payment_provider:
            return PlainTextResponse("unknown provider", status_code=404)
        now = now_utc()
        try:
            with database() as session:
                outcome = handle_notification(session, provider_for(provider_name, session, settings, now), id, now)
        except ProviderError as error:
            log.warning("webhook for %s %s not handled yet: %s", provider_name, id, error)
            return PlainTextResponse("try again later", status_code=503)
        log.info("webhook %s %s: %s", provider_name, id, outcome)
        return "ok"

    @app.get("/invoices/{token}.pdf")
    def invoice_copy(request: Request, token: str):
        with database() as session:
            try:
                invoice = open_copy(session, token, settings, now_utc())
            except LinkProblem as error:
                return problem(request, error.reason)
            pdf = render_invoice_pdf(invoice, settings)
        headers = {"Content-Disposition": f'inline; filename="{invoice.number}.pdf"', "Cache-Control": "private, no-store"}
        return Response(pdf, media_type="application/pdf", headers=headers)

    return app


def _local_time(moment: datetime | None, timezone: str) -> str:
    """ "Sun 22 Nov 14:05" in the company's timezone, for the console."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def _bill_view(session, invoice, today) -> dict:
    """What the payment page shows of one invoice."""
    open_amount = euros(open_cents(session, invoice))
    total = euros(invoice.total_cents)
    return {
        "invoice": invoice,
        "open_amount": open_amount,
        "total": total,
        "paid": total - open_amount,
        "overdue": invoice.due_date < today,
        "lines": [(line, euros(line.amount_cents), Decimal(line.quantity).normalize()) for line in invoice.lines],
    }


def _transfer(settings: Settings, label: str, amount: Decimal, invoice_number: str) -> dict:
    """Bank transfer details for an amount, with the invoice's structured communication and a QR code."""
    communication = structured_communication(invoice_number)
    qr = ""
    if amount > 0:
        qr = qr_svg(epc_payload(settings.company_name, settings.company_iban, settings.company_bic, amount, communication))
    return {"label": label, "amount": amount, "communication": communication, "qr_svg": qr}
