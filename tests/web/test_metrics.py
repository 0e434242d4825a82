"""Settle's counters at the web app's /metrics after real events in several processes: a payment in the sandbox
through the web app, an escalation and a bank-statement payment in another process, all added up from
PROMETHEUS_MULTIPROC_DIR; only loopback, or the bearer of SETTLE_METRICS_TOKEN, may read them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from settle import metrics
from settle.tooling import runner
from settle.tooling.seed import PERSONAS
from tests.conftest import NOW, free_port, seeded_sqlite
from tests.web.conftest import web_settings
from tests.web.test_payment_pages import link_for

ROOT = Path(__file__).parents[2]
LUCAS = next(persona for persona in PERSONAS if persona.shape == "overdue")
ANOTHER_PROCESS = """
from sqlalchemy import select
from settle.db import session_factory
from settle.handoff.escalations import escalate
from settle.models import Customer, Invoice
from settle.payments.incoming import receive_payment
from tests.conftest import NOW
import sys
with session_factory(sys.argv[1]).begin() as session:
    customer = session.execute(select(Customer).where(Customer.customer_number == sys.argv[2])).scalar_one()
    escalate(session, "asked", "metrics-conversation", customer.id, {}, NOW)
    invoice = session.execute(select(Invoice).where(Invoice.customer_id == customer.id)).scalars().first()
    receive_payment(session, external_reference="metrics:statement-1", source="bank_statement", method="bank_transfer",
                    amount_cents=100, received_at=NOW, invoices=[invoice], customer_id=customer.id)
"""


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.fixture
def web_app_counting(tmp_path):
    """The web app in a process of its own, counting into a directory shared with the test's other processes."""
    database_url = seeded_sqlite(tmp_path / "settle.db")
    counts = metrics.fresh_directory(tmp_path / "metrics")
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url, "SETTLE_DEMO": "1",
                   "SETTLE_PAYMENT_PROVIDER": "sandbox", "SETTLE_LINK_SECRET": "web-test-link-secret",
                   "SETTLE_NOW": NOW.isoformat(), "SETTLE_PUBLIC_URL": f"http://127.0.0.1:{port}",
                   metrics.MULTIPROCESS_VARIABLE: str(counts)}
    environment.pop("SETTLE_METRICS_TOKEN", None)
    part = runner.web_app(port, log_dir=tmp_path)
    runner.start(part, port, timeout=60, env=environment)
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", environment=environment,
                              settings=web_settings(database_url, public_url=f"http://127.0.0.1:{port}"))
    finally:
        runner.stop([part])


def test_the_counts_of_every_process_add_up_at_metrics(web_app_counting):
    web = web_app_counting
    subprocess.run([sys.executable, "-c", ANOTHER_PROCESS, web.settings.database_url, LUCAS.customer_number],
                   env=web.environment, cwd=ROOT, check=True)
    offer = link_for(web, LUCAS.customer_number)
    with requests.Session() as browser:
        checkout = browser.post(f"{offer.url}/checkout", allow_redirects=False, timeout=10).headers["location"]
        assert browser.post(checkout, data={"outcome": "pay"}, allow_redirects=False, timeout=10).status_code == 303

    scraped = requests.get(f"{web.url}/metrics", timeout=10)

    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    counted = samples(scraped.text)
    assert counted[("settle_payments_total", (("source", "sandbox"),))] == 1
    assert counted[("settle_payments_total", (("source", "bank_statement"),))] == 1
    assert counted[("settle_escalations_total", (("reason", "asked"),))] == 1
    assert not any(name == "settle_turns_total" for name, _ in counted)  # nothing was said in this test


def test_only_loopback_or_the_bearer_of_the_token_may_scrape():
    assert metrics.may_scrape(None, None, "127.0.0.1") and metrics.may_scrape(None, None, "::1")
    assert not metrics.may_scrape(None, None, "203.0.113.9")
    assert metrics.may_scrape("s3cret", "Bearer s3cret", "203.0.113.9")
    assert not metrics.may_scrape("s3cret", "Bearer wrong", "203.0.113.9")
    assert not metrics.may_scrape("s3cret", None, "127.0.0.1")  # with a token set, loopback needs it too
