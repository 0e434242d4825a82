"""How long the KPI figures take on a bulk database: the events they count added in set-based SQL on top
of `bench.bulk`'s invoices (100,000 conversations with their 500,000 customer messages, 200,000 reminders,
links, plans, ... over the last 90 days), then every figure for 7, 30 and 90 days, timed as the service computes them, and the console's
dashboard and flagged-accounts pages as the demo operations user gets them over HTTP (`settle bench --only kpis`).
"""
from __future__ import annotations

import re
import secrets
import threading
import time as timer
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import requests
import uvicorn
from sqlalchemy import text

from bench import bulk
from bench.load import free_port
from settle.clock import FixedClock, clock_for
from settle.config import process_settings
from settle.db import engine_for
from settle.insights.services import figures_for
from settle.tooling.seed import DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_PASSWORD
from settle.unit_of_work import UnitOfWork
from settle.web.app import create_app

CONVERSATIONS = 100_000
PERIODS = (7, 30, 90)
#: The console pages timed, by the name the report gives them.
PAGES = {f"dashboard_{days}_days": f"/agent/dashboard?days={days}" for days in PERIODS} | {"flagged_accounts": "/agent/flagged"}

# The demo customers' own history (settle/tooling/history.py) comes first: where its rows hold a unique key the
# bench's might repeat (a stage of a bill's reminders, a bill's extension), the bench's row is left out.
# Each statement spreads its rows over the 90 days before :now (g times a prime, modulo the minutes of 90 days,
# so rows land all over the period whatever their number); bulk invoices and customers are picked by
# arithmetic on g, so the same sizes give the same data.
CUSTOMER = "(SELECT min(id) FROM customers) + g % (SELECT count(*) FROM customers)"
EVENTS = [statement.replace("{customer}", CUSTOMER) for statement in [
    """INSERT INTO conversations (conversation_id, started_at, last_message_at, messages, customer_id, verified_at)
       SELECT 'bench-' || g, :now - (g * 7919 % 129600) * interval '1 minute',
              :now - (g * 7919 % 129600) * interval '1 minute' + (g % 9) * interval '20 seconds', 1 + g % 9,
              CASE WHEN g % 10 < 3 THEN {customer} END,
              CASE WHEN g % 10 < 3 THEN :now - (g * 7919 % 129600) * interval '1 minute' END
       FROM generate_series(1, :conversations) AS g""",
    # Each conversation's customer messages, 20 seconds apart, as NLU understood them: one in about twelve fell
    # back, the rest spread over the intents; the last message's actions are not known yet (as in a live chat).
    """INSERT INTO conversation_messages (conversation_id, position, received_at, text, language, intent, confidence,
                                          entities, actions)
       SELECT c.conversation_id, n, c.started_at + (n - 1) * interval '20 seconds', 'bench message ' || n,
              (ARRAY['nl','fr','en'])[1 + c.g % 3], intent.name,
              CASE WHEN intent.name = 'nlu_fallback' THEN 0.3 ELSE 0.31 + ((c.g * 31 + n * 17) % 69) / 100.0 END, CAST('[]' AS json),
              CASE WHEN n < c.messages THEN CAST('["action_check_message"]' AS json) END
       FROM (SELECT conversation_id, started_at, messages, CAST(substr(conversation_id, 7) AS integer) AS g
             FROM conversations WHERE conversation_id LIKE 'bench-%') AS c
       CROSS JOIN generate_series(1, c.messages) AS n
       CROSS JOIN LATERAL (SELECT CASE WHEN n = 1 THEN 'greet'
                                       ELSE (ARRAY['check_balance','pay_bill','check_due_date','list_invoices','nlu_fallback',
                                                   'explain_bill','inform','affirm','request_instalment_plan','check_payment_status',
                                                   'out_of_scope','request_payment_extension','deny','thank','request_human',
                                                   'request_invoice_copy','dispute_bill','report_financial_hardship','goodbye',
                                                   'ask_payment_methods'])[1 + (c.g * 7 + n * 13) % 20] END AS name) AS intent""",
    """INSERT INTO escalations (reason, conversation_id, context_json, transcript_json, status, created_at, agent_id,
                                claimed_at, callback_at)
       SELECT (ARRAY['asked','repeated_fallback','upset','dispute','hardship'])[1 + g % 5], 'bench-' || (g * 10),
              '{}', '[]', 'resolved', :now - (g * 10 * 7919 % 129600) * interval '1 minute', (SELECT min(id) FROM agents),
              :now - (g * 10 * 7919 % 129600) * interval '1 minute' + interval '3 minutes',
              CASE WHEN g % 20 = 0 THEN :now END
       FROM generate_series(1, :conversations / 10) AS g""",
    """INSERT INTO escalation_messages (escalation_id, author, agent_id, text, created_at)
       SELECT e.id, 'agent', e.agent_id, 'Hello', e.created_at + (1 + e.id % 30) * interval '1 minute'
       FROM escalations AS e WHERE e.conversation_id LIKE 'bench-%'""",
    """INSERT INTO payment_links (reference, customer_id, amount_cents, created_at, expires_at, status,
                                  first_opened_at, paid_at)
       SELECT 'BENCH' || g, i.customer_id, i.total_cents, :now - (g * 7919 % 129600) * interval '1 minute',
              :now - (g * 7919 % 129600) * interval '1 minute' + interval '7 days',
              CASE WHEN g % 10 < 4 THEN 'paid' ELSE 'open' END,
              CASE WHEN g % 10 < 7 THEN :now - (g * 7919 % 129600) * interval '1 minute' + interval '5 minutes' END,
              CASE WHEN g % 10 < 4 THEN :now - (g * 7919 % 129600) * interval '1 minute' + (g % 72) * interval '1 hour' END
       FROM generate_series(1, :conversations) AS g
       JOIN invoices AS i ON i.id = (SELECT min(id) FROM invoices) + g * 7""",
    """INSERT INTO received_payments (external_reference, source, method, amount_cents, received_at, customer_id,
                                      needs_review)
       SELECT 'bench:' || g, (ARRAY['mollie','bank_statement'])[1 + g % 2], (ARRAY['creditcard','bank_transfer'])[1 + g % 2],
              1000 + g % 20000, :now - (g * 7919 % 129600) * interval '1 minute', NULL, false
       FROM generate_series(1, :conversations / 2) AS g""",
    """INSERT INTO reminders (subject, subject_id, customer_id, stage, stage_order, created_at, flagged_for_review)
       SELECT 'invoice', i.id, i.customer_id, (ARRAY['nudge','second','review'])[1 + g % 3], 1 + g % 3,
              :now - (g * 7919 % 129600) * interval '1 minute', g % 3 = 2
       FROM generate_series(1, :conversations * 2) AS g
       JOIN invoices AS i ON i.id = (SELECT min(id) FROM invoices) + g * 3
       ON CONFLICT DO NOTHING""",
    """INSERT INTO outbox_messages (reminder_id, channel, status, attempts, next_attempt_at, sent_at)
       SELECT r.id, (ARRAY['chat','email','sms'])[1 + r.id % 3], CASE WHEN r.id % 10 = 0 THEN 'failed' ELSE 'sent' END, 1,
              r.created_at, CASE WHEN r.id % 10 = 0 THEN NULL ELSE r.created_at + interval '10 minutes' END
       FROM reminders AS r""",
    """INSERT INTO instalment_plans (reference, customer_id, total_cents, created_at, status, ended_at)
       SELECT 'BPLAN' || g, {customer}, 30000, :now - (g * 7919 % 129600) * interval '1 minute',
              (ARRAY['active','completed','broken'])[1 + g % 3],
              CASE WHEN g % 3 > 0 THEN :now - (g * 7919 % 43200) * interval '1 minute' END
       FROM generate_series(1, :conversations / 20) AS g""",
    """INSERT INTO instalments (plan_id, number, due_date, amount_cents, paid_cents, paid_at)
       SELECT p.id, n, CAST(p.created_at AS date) + 30 * n, 10000, CASE WHEN (p.id + n) % 4 > 0 THEN 10000 ELSE 0 END,
              CASE WHEN (p.id + n) % 4 > 0 THEN p.created_at + (30 * n + (p.id % 3) - 1) * interval '1 day' END
       FROM instalment_plans AS p CROSS JOIN generate_series(1, 3) AS n WHERE p.reference LIKE 'BPLAN%'""",
    """INSERT INTO extensions (invoice_id, original_due_date, new_due_date, created_at)
       SELECT i.id, i.due_date, i.due_date + 14, :now - (g * 7919 % 129600) * interval '1 minute'
       FROM generate_series(1, :conversations / 20) AS g
       JOIN invoices AS i ON i.id = (SELECT min(id) FROM invoices) + g * 11 + 1
       ON CONFLICT DO NOTHING""",
    """INSERT INTO hardship_reports (customer_id, reported_at)
       SELECT {customer}, :now - (g * 7919 % 129600) * interval '1 minute'
       FROM generate_series(1, :conversations / 50) AS g""",
    """INSERT INTO disputes (reference, invoice_id, customer_id, reason, status, previous_invoice_status, created_at)
       SELECT 'BDIS' || g, i.id, i.customer_id, 'wrong reading', CASE WHEN g % 2 = 0 THEN 'resolved' ELSE 'open' END,
              'open', :now - (g * 7919 % 129600) * interval '1 minute'
       FROM generate_series(1, :conversations / 50) AS g
       JOIN invoices AS i ON i.id = (SELECT min(id) FROM invoices) + g * 13 + 2""",
]]


def figures_timing(url: str, invoices: int, say=print) -> dict:
    """Fills the database at `url` with `invoices` invoices and the events around them, then times the figures."""
    today = clock_for(process_settings()).today()
    bulk.seed_invoices(url, invoices, say, today)
    seed_events(url, today, say)
    seconds = time_figures(url, today, say)
    pages = time_pages(url, today, say)
    return {"invoices": invoices, **{f"{days}_days_seconds": round(best, 3) for days, best in seconds.items()},
            **{f"{page}_page_seconds": round(best, 3) for page, best in pages.items()}}


def seed_events(url: str, today: date, say) -> None:
    """Adds the events the figures count to a database `bench.bulk.seed_invoices` filled."""
    started = timer.perf_counter()
    now = _clock(today).now()
    with engine_for(url).begin() as connection:
        for statement in EVENTS:
            connection.execute(text(statement), {"now": now, "conversations": CONVERSATIONS})
    with engine_for(url).connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    say(f"added {CONVERSATIONS:,} conversations with their messages, and the links, reminders and arrangements around them "
        f"in {timer.perf_counter() - started:.1f} s")


def time_figures(url: str, today: date, say, repeats: int = 3) -> dict[int, float]:
    """The best of `repeats` times, in seconds, to compute every figure of the last 7, 30 and 90 days."""
    settings = replace(process_settings(), database_url=url)
    best = {}
    for days in PERIODS:
        times = []
        for _ in range(repeats):
            started = timer.perf_counter()
            figures_for(UnitOfWork(settings, _clock(today)), today - timedelta(days=days - 1), today)
            times.append(timer.perf_counter() - started)
        best[days] = min(times)
        say(f"every figure of {days} days: {best[days] * 1000:.0f} ms")
    return best


def time_pages(url: str, today: date, say, repeats: int = 3) -> dict[str, float]:
    """The best of `repeats` times, in seconds, for each console page of PAGES to arrive whole over HTTP,
    logged in as the demo operations user (rendering and the session check included)."""
    best = {}
    with _web_app(url, today) as base:
        client = requests.Session()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"{base}/agent/login", timeout=30).text)
        answer = client.post(f"{base}/agent/login", timeout=30, allow_redirects=False, data={
            "email": DEMO_OPERATIONS_EMAIL, "password": DEMO_OPERATIONS_PASSWORD, "csrf_token": token.group(1) if token else ""})
        if answer.status_code != 303:
            raise RuntimeError(f"the demo operations user could not log in ({answer.status_code})")
        for name, path in PAGES.items():
            times = []
            for _ in range(repeats):
                started = timer.perf_counter()
                page = client.get(f"{base}{path}", timeout=120)
                times.append(timer.perf_counter() - started)
                if page.status_code != 200:
                    raise RuntimeError(f"{path} answered {page.status_code}")
            best[name] = min(times)
            say(f"{path}: {best[name] * 1000:.0f} ms")
    return best


@contextmanager
def _web_app(url: str, today: date) -> Iterator[str]:
    """The web app on a free loopback port, on the bulk database, its clock at `_clock(today)`; yields its address."""
    port = free_port()
    configured = process_settings()
    settings = replace(configured, database_url=url, fixed_now=_clock(today).now(), demo=True, public_url=f"http://127.0.0.1:{port}",
                       session_secret=configured.session_secret or secrets.token_urlsafe(32),  # this run's own, as none is set
                       link_secret=configured.link_secret or secrets.token_urlsafe(32))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = timer.monotonic() + 30
    while not server.started:
        if timer.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        timer.sleep(0.05)
    try:
        yield settings.public_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _clock(today: date) -> FixedClock:
    """The evening of `today`, so that day's events are all in the past."""
    return FixedClock(datetime.combine(today, time(18), tzinfo=timezone.utc))
