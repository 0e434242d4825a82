"""The scale benchmark's own correctness, on a small size (its timings are printed by `make bench`)."""
from __future__ import annotations

import os

import pytest

from bench.reminders import reminder_selection
from tests.conftest import postgres_url

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the scale benchmark runs on PostgreSQL")


def test_the_bulk_data_yields_reminders_once():
    url = postgres_url("settle_bench_test")
    lines = []
    figures = reminder_selection(url, 1200, say=lines.append)
    assert figures["first_run_claimed"] > 0 and figures["second_run_claimed"] == 0
    assert figures["reminders"] == figures["first_run_claimed"]
    assert figures["queued_messages"] == figures["customers_reminded"] < figures["reminders"]  # one message a customer
    seeded = next(line for line in lines if line.startswith("seeded "))
    assert 1_188 < int(seeded.split()[1].replace(",", "")) <= 1_200  # demo customers, then twelve bills a customer
