"""Benchmarks that print their figures (`make bench`); targets are reported, never asserted.

The reminder benchmark fills a PostgreSQL database with synthetic invoices (`bench.bulk`), then
times how long one `settle remind` selection takes to claim and queue what is due (one message per customer).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from bench import bulk
from settle.clock import clock_for
from settle.config import process_settings
from settle.db import session_factory
from settle.models import OutboxMessage, Reminder
from settle.outreach import reminders
from settle.policy import load_policy, load_reminder_policy


def reminder_selection(url: str, invoices: int, say=print) -> dict:
    """Seconds for one reminder selection (claim + queue) over `invoices` invoices, and for a second run."""
    settings = process_settings()
    today = clock_for(settings).today()
    bulk.seed_invoices(url, invoices, say, today)
    policy, arrangements_policy = load_reminder_policy(settings.reminder_policy_file), load_policy(settings.policy_file)
    now = datetime.combine(today, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=9)
    figures = {"invoices": invoices}
    for run in ("first", "second"):
        started = time.perf_counter()
        with session_factory(url).begin() as session:
            claimed = reminders.select_due(session, policy, today, now, arrangements_policy, "Europe/Brussels")
        figures[f"{run}_run_seconds"] = round(time.perf_counter() - started, 2)
        figures[f"{run}_run_claimed"] = len(claimed)
        say(f"{run} selection: {len(claimed):,} reminders claimed and queued in {figures[f'{run}_run_seconds']} s")
    with session_factory(url).begin() as session:  # today's only: the demo history holds reminders of earlier weeks
        todays = select(Reminder.id, Reminder.customer_id).where(Reminder.created_at >= now - timedelta(hours=9)).subquery()
        figures["reminders"] = session.execute(select(func.count()).select_from(todays)).scalar_one()
        figures["queued_messages"] = session.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.reminder_id.in_(select(todays.c.id)))).scalar_one()
        figures["customers_reminded"] = session.execute(select(func.count(func.distinct(todays.c.customer_id)))).scalar_one()
    return figures
