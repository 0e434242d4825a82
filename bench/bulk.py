"""Bulk data for the scale benchmarks: a PostgreSQL database with any number of invoices, in set-based SQL.

Used by the per-turn scale run (`bench.load.run_scale`) and the reminder selection benchmark.
"""
from __future__ import annotations

import time
from datetime import date

from sqlalchemy import create_engine, text

from settle import schema
from settle.clock import clock_for
from settle.config import process_settings
from settle.db import engine_for, session_factory
from settle.tooling.seed import seed

DEMO_CUSTOMERS = 50
MONTHS = 12

# Customers whose numbers start with 59 (valid customer numbers, apart from the demo's 50…/51…), postcodes the
# demo knows; each gets twelve monthly bills with usage, standing charge and VAT lines, the latest two open
# and the older ones paid with a payment each, as the demo's bills are.
BULK_CUSTOMERS = """
INSERT INTO customers (customer_number, first_name, last_name, postcode, date_of_birth, email, phone,
                       preferred_channel, language, municipality, region, wants_heads_up)
SELECT '59' || lpad(g::text, 6, '0'), 'Bench', 'Customer ' || g, '1000', DATE '1980-01-01',
       'bench' || g || '@example.com', '+32 470 00 00 00',
       (ARRAY['chat', 'email', 'sms'])[1 + g % 3], 'en', 'Brussel', 'Brussels', g % 3 = 0
FROM generate_series(1, :customers) AS g
"""

BULK_USAGE = """
CREATE TEMPORARY TABLE bench_bills ON COMMIT DROP AS
SELECT c.id AS customer_id, m,
       (150 + (c.id * 37 + m * 101) % 300)::numeric AS kwh,
       CASE WHEN m < 4 THEN 0.31200 ELSE 0.28500 END::numeric AS price
FROM customers AS c CROSS JOIN generate_series(0, :months - 1) AS m
WHERE c.customer_number LIKE '59%'
"""

BULK_INVOICES = """
INSERT INTO invoices (number, customer_id, period_start, period_end, issue_date, due_date, total_cents, status)
SELECT 'BENCH-' || b.customer_id || '-' || b.m, b.customer_id,
       CAST(:today AS date) - (b.m * 30 + 50), CAST(:today AS date) - (b.m * 30 + 21),
       CAST(:today AS date) - (b.m * 30 + 20), CAST(:today AS date) - (b.m * 30) + (b.customer_id % 30) - 15,
       round(b.kwh * b.price * 100) + 950 + round((round(b.kwh * b.price * 100) + 950) * 0.06),
       CASE WHEN b.m < 2 THEN 'open' ELSE 'paid' END
FROM bench_bills AS b
"""

BULK_LINES = """
INSERT INTO invoice_lines (invoice_id, category, description, quantity, unit, unit_price, amount_cents)
SELECT i.id, line.category, line.description, line.quantity, line.unit, line.unit_price, line.amount_cents
FROM bench_bills AS b
JOIN invoices AS i ON i.number = 'BENCH-' || b.customer_id || '-' || b.m
CROSS JOIN LATERAL (VALUES
    ('usage', 'Electricity used', b.kwh, 'kWh', b.price, round(b.kwh * b.price * 100)::int),
    ('fixed', 'Standing charge', 1::numeric, 'month', 9.50::numeric, 950),
    ('tax', 'VAT 6%', (round(b.kwh * b.price * 100) + 950) / 100, 'EUR', 0.06::numeric,
     round((round(b.kwh * b.price * 100) + 950) * 0.06)::int)
) AS line(category, description, quantity, unit, unit_price, amount_cents)
"""

BULK_PAYMENTS = """
INSERT INTO payments (invoice_id, amount_cents, paid_at, method, reference)
SELECT id, total_cents, CAST(due_date - 5 AS timestamp) AT TIME ZONE 'UTC' + INTERVAL '10 hours', 'bank_transfer',
       'PAY-' || number
FROM invoices
WHERE number LIKE 'BENCH-%' AND status = 'paid'
"""

# Each bill's latest payment's moment, as recording a payment keeps it (settle/models.py).
BULK_LAST_PAYMENTS = """
UPDATE invoices SET last_payment_at = payments.paid_at
FROM payments
WHERE payments.invoice_id = invoices.id AND invoices.number LIKE 'BENCH-%'
"""


def seed_invoices(url: str, invoices: int, say, today: date | None = None, demo_customers: int = DEMO_CUSTOMERS) -> dict:
    """Wipes the PostgreSQL database at `url` and fills it with about `invoices` invoices.

    The demo customers come first (so the personas exist), then synthetic customers with twelve bills each,
    added with set-based SQL, then ANALYZE. Returns the counts.
    """
    if not url.startswith("postgresql"):
        raise ValueError("bulk seeding needs PostgreSQL (postgresql://…)")
    today = today or clock_for(process_settings()).today()
    _create_database(url)
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    schema.upgrade(url)
    started = time.perf_counter()
    with session_factory(url).begin() as session:
        seed(session, today, demo_customers)
    with engine.begin() as connection:
        existing = connection.execute(text("SELECT count(*) FROM invoices")).scalar_one()
        customers = max(invoices - existing, 0) // MONTHS
        if customers:
            connection.execute(text(BULK_CUSTOMERS), {"customers": customers})
            connection.execute(text(BULK_USAGE), {"months": MONTHS})
            connection.execute(text(BULK_INVOICES), {"today": today})
            connection.execute(text(BULK_LINES))
            connection.execute(text(BULK_PAYMENTS))
            connection.execute(text(BULK_LAST_PAYMENTS))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
        counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                  for table in ("customers", "invoices", "invoice_lines", "payments")}
    say(f"seeded {counts['invoices']:,} invoices ({counts['invoice_lines']:,} lines, {counts['payments']:,} payments) "
        f"for {counts['customers']:,} customers in {time.perf_counter() - started:.1f} s")
    return counts


def _create_database(url: str) -> None:
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", future=True, isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    try:
        with admin.connect() as connection:
            if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
