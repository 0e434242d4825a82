"""Benchmarks that print their figures (`make bench`); targets are reported, never asserted.

The reminder benchmark fills a PostgreSQL database with synthetic invoices using set-based SQL,
then times how long one `settle remind` selection takes to claim and queue what is due.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import create_engine, func, select, text

from settle import reminders, schema
from settle.db import engine_for, session_factory
from settle.models import OutboxMessage, Reminder
from settle.policy import load_policy, load_reminder_policy

MONTHS = 12

BULK_CUSTOMERS = """
INSERT INTO customers (customer_number, first_name, last_name, postcode, date_of_birth, email, phone,
                       preferred_channel, language, municipality, region, wants_heads_up)
SELECT '6' || lpad(g::text, 7, '0'), 'Bench', 'Customer ' || g, '1000', DATE '1980-01-01',
       'bench' || g || '@example.com', '+32 470 00 00 00',
       (ARRAY['chat', 'email', 'sms'])[1 + g % 3], 'en', 'Brussel', 'Brussels', g % 3 = 0
FROM generate_series(1, :customers) AS g
"""

# Twelve monthly bills a customer, due dates spread over the days, the latest two still open.
BULK_INVOICES = """
INSERT INTO invoices (number, customer_id, period_start, period_end, issue_date, due_date, total_cents, status)
SELECT 'BENCH-' || c.id || '-' || m, c.id,
       CAST(:today AS date) - (m * 30 + 50), CAST(:today AS date) - (m * 30 + 21),
       CAST(:today AS date) - (m * 30 + 20), CAST(:today AS date) - (m * 30) + (c.id % 30) - 15,
       4000 + (c.id * 37 + m * 101) % 12000,
       CASE WHEN m < 2 THEN 'open' ELSE 'paid' END
FROM customers AS c CROSS JOIN generate_series(0, :months - 1) AS m
WHERE c.customer_number LIKE '6%'
"""


def prepare_database(url: str, invoices: int, today: date, say) -> None:
    """A fresh schema in the bench database holding about `invoices` invoices."""
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", future=True, isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    with engine_for(url).begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    schema.upgrade(url)
    customers = max(invoices // MONTHS, 1)
    started = time.perf_counter()
    with engine_for(url).begin() as connection:
        connection.execute(text(BULK_CUSTOMERS), {"customers": customers})
        connection.execute(text(BULK_INVOICES), {"today": today, "months": MONTHS})
        connection.execute(text("ANALYZE"))
    say(f"seeded {customers * MONTHS:,} invoices for {customers:,} customers in {time.perf_counter() - started:.1f} s")


def reminder_selection(url: str, invoices: int, say=print) -> dict:
    """Seconds for one reminder selection (claim + queue) over `invoices` invoices, and for a second run."""
    today = date.today()
    prepare_database(url, invoices, today, say)
    policy, arrangements_policy = load_reminder_policy(), load_policy()
    now = datetime.combine(today, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=9)
    figures = {"invoices": invoices}
    for run in ("first", "second"):
        started = time.perf_counter()
        with session_factory(url).begin() as session:
            claimed = reminders.select_due(session, policy, today, now, arrangements_policy, "Europe/Brussels")
        figures[f"{run}_run_seconds"] = round(time.perf_counter() - started, 2)
        figures[f"{run}_run_claimed"] = len(claimed)
        say(f"{run} selection: {len(claimed):,} reminders claimed and queued in {figures[f'{run}_run_seconds']} s")
    with session_factory(url).begin() as session:
        figures["reminders"] = session.execute(select(func.count()).select_from(Reminder)).scalar_one()
        figures["queued_messages"] = session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    return figures
