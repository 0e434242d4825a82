"""The load benchmark's pure parts: statistics, the journey's reply checks, the reports, and the bulk seeding."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from bench import bulk, dialogue, load
from bench.load import (
    BARE_STEP,
    Phase,
    journey,
    parse_problem,
    percentile,
    ratio,
    reply_problem,
    summarize,
    turns_per_second,
)
from settle.db import engine_for
from tests.conftest import postgres_url


def replies(*texts: str) -> list[dict]:
    return [{"recipient_id": "x", "text": text} for text in texts]


def test_percentiles_interpolate_between_ranks():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0, 1.0, 2.0], 0) == 1.0 and percentile([3.0, 1.0, 2.0], 100) == 3.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 95) is None


def test_summaries_are_in_milliseconds_and_empty_ones_are_none():
    figures = summarize([0.1, 0.2, 0.3])
    assert figures == {"count": 3, "mean_ms": 200.0, "p50_ms": 200.0, "p95_ms": 290.0, "p99_ms": 298.0, "max_ms": 300.0}
    assert summarize([])["p95_ms"] is None


def test_ratio_and_throughput():
    assert ratio(150.0, 100.0) == 1.5
    assert ratio(1.0, 3.0) == 0.33
    assert ratio(None, 100.0) is None and ratio(100.0, None) is None and ratio(100.0, 0) is None
    assert turns_per_second(200, 10.0) == 20.0
    assert turns_per_second(5, 0) == 0.0


def test_the_journey_verifies_then_asks_explain_and_pay():
    steps = journey("50000017", "1000", "14/02/1985")
    assert [step.name for step in steps] == ["ask_balance", "customer_number", "postcode", "birth_date", "explain", "pay"]
    assert (steps[1].text, steps[2].text, steps[3].text) == ("50000017", "1000", "14/02/1985")


def test_the_expected_answers_pass():
    ask, number, postcode, born, explain, pay = journey("50000017", "1000", "14/02/1985")
    assert reply_problem(replies("First I need to check that it's you. What is your customer number? It has 8 digits."), ask) is None
    assert reply_problem(replies("Thank you. What is the postcode of the address on your bill?"), number) is None
    assert reply_problem(replies("And your date of birth? For example 14/02/1985."), postcode) is None
    assert reply_problem(replies("Thank you, Emma. I've found your account.", "In total you have €99.04 left to pay."), born) is None
    assert reply_problem(replies("Thank you, Arthur. I've found your account.", "Good news: you have nothing left to pay right now."), born) is None
    assert reply_problem(replies("Your latest bill (INV-2026-000011) is €99.04, which is €21.50 more."), explain) is None
    assert reply_problem(replies("Here is your personal link to pay €99.04 (INV-2026-000011): http://x"), pay) is None
    assert reply_problem(replies("Hi, I'm Settle, the billing assistant. What can I do for you?"), BARE_STEP) is None


@pytest.mark.parametrize("answer, why", [
    (None, "no reply"),
    ([], "no reply"),
    ({"error": "boom"}, "no reply"),
    ([{"recipient_id": "x", "image": "http://x.png"}], "replies without text"),
    (replies("Sorry, I didn't understand that. Could you say it in other words?"), "not an answer"),
    (replies("I can only share account details once I've checked that it's you."), "not an answer"),
    (replies("Your latest bill (INV-1) is €1.00."), "unexpected reply"),
])
def test_empty_error_fallback_and_off_journey_replies_fail(answer, why):
    step = journey("50000017", "1000", "14/02/1985")[5]
    assert why in reply_problem(answer, step)


def test_verification_without_the_account_found_fails_even_with_a_balance():
    born = journey("50000017", "1000", "14/02/1985")[3]
    assert "unexpected reply" in reply_problem(replies("In total you have €99.04 left to pay."), born)


def test_a_parse_needs_an_intent():
    assert parse_problem({"intent": {"name": "ask_balance", "confidence": 0.9}, "entities": []}) is None
    assert "no intent" in parse_problem({"intent": {}})
    assert "no intent" in parse_problem(None)


def test_a_phase_counts_failures_and_keeps_a_few_examples():
    phase = Phase("journey", 2, elapsed=2.0)
    for index in range(8):
        phase.record("pay", 0.1, f"pay: problem {index}" if index % 2 else None)
    figures = phase.figures()
    assert figures["turns"] == 8 and figures["failed_turns"] == 4 and figures["turns_per_second"] == 4.0
    assert figures["failure_examples"] == ["pay: problem 1", "pay: problem 3", "pay: problem 5", "pay: problem 7"]
    assert figures["by_step"]["pay"]["p50_ms"] == 100.0


def test_the_load_report_gives_the_ratios_and_the_targets():
    def phase(kind, seconds, n):
        result = Phase(kind, n, elapsed=10.0)
        for step in journey("5", "1", "1/1/1980")[:5]:  # 100 turns in 10 s
            for _ in range(20):
                result.record(step.name, seconds, None)
        return result

    levels = {n: {"journey": phase("journey", 0.3, n), "bare": phase("bare", 0.25, n), "parse": phase("parse", 0.05, n)}
              for n in (1, 20)}
    figures = load.load_figures(levels, 10.0, "sqlite:///var/bench/load/settle.db")
    assert figures["concurrency"]["20"]["p95_turn_over_p95_bare_webhook"] == 1.2
    assert figures["concurrency"]["20"]["p95_turn_over_p95_parse"] == 6.0
    assert figures["targets"]["p95_turn_over_p95_bare_webhook_at_20"] == 1.2
    assert figures["targets"]["best_turns_per_second"] == 10.0
    markdown = load.load_markdown(figures)
    assert "1.2 × (met)" in markdown and "best 10.0 turns/s (not met)" in markdown


def test_passwords_are_left_out_of_printed_urls():
    assert load._safe("postgresql://bench:secret@db:5432/settle") == "postgresql://bench@db:5432/settle"
    assert load._safe("sqlite:///var/bench/load/settle.db") == "sqlite:///var/bench/load/settle.db"


def test_resident_memory_of_this_process_is_counted():
    assert load.resident_kib(os.getpid()) > 1000
    assert load.resident_kib(2 ** 22 + 12345) == 0


def test_failed_stories_are_listed_by_name(tmp_path: Path):
    none_failed = tmp_path / "none.yml"
    none_failed.write_text("# None of the test stories failed - all good!")
    assert dialogue.failed_story_names(none_failed) == []
    assert dialogue.failed_story_names(tmp_path / "missing.yml") == []
    failed = tmp_path / "failed.yml"
    failed.write_text(
        'version: "3.1"\nstories:\n- story: pay after verifying (tests/conversations/test_payments.yml)\n'
        "  steps:\n  - intent: ask_balance\n  - action: action_tell_balance  # predicted: action_listen\n"
    )
    assert dialogue.failed_story_names(failed) == ["pay after verifying (tests/conversations/test_payments.yml)"]


def test_conversation_accuracy_is_read_from_the_story_report(tmp_path: Path):
    report = tmp_path / "story_report.json"
    report.write_text('{"conversation_accuracy": {"accuracy": 0.95, "correct": 38, "with_warnings": 0, "total": 40}}')
    assert dialogue.conversation_accuracy(report) == {"accuracy": 0.95, "correct": 38, "with_warnings": 0, "total": 40}


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the bulk seeding runs on PostgreSQL")
def test_bulk_seeding_adds_consistent_bills_up_to_the_size():
    url = postgres_url("settle_bench_test")
    lines = []
    counts = bulk.seed_invoices(url, 1300, lines.append, demo_customers=10)
    assert 1300 - bulk.MONTHS < counts["invoices"] <= 1300
    assert counts["invoice_lines"] >= 3 * counts["invoices"]
    assert any("seeded" in line for line in lines)
    with engine_for(url).connect() as connection:
        mismatched = connection.execute(text(
            "SELECT count(*) FROM invoices AS i JOIN (SELECT invoice_id, sum(amount_cents) AS s FROM invoice_lines "
            "GROUP BY invoice_id) AS l ON l.invoice_id = i.id WHERE l.s <> i.total_cents"
        )).scalar_one()
        unpaid_paid = connection.execute(text(
            "SELECT count(*) FROM invoices AS i WHERE i.status = 'paid' AND NOT EXISTS "
            "(SELECT 1 FROM payments AS p WHERE p.invoice_id = i.id)"
        )).scalar_one()
        bench_customers = connection.execute(text("SELECT count(*) FROM customers WHERE customer_number LIKE '59%'")).scalar_one()
    assert mismatched == 0 and unpaid_paid == 0 and bench_customers > 0
    sampled = load.sample_customers(url, 20)
    assert len(sampled) == 20 and all(number.startswith("5") and len(number) == 8 for number, _, _ in sampled)
    engine_for(url).dispose()


def test_the_share_of_messy_conversations_reaching_their_goal(tmp_path: Path):
    (tmp_path / "test_messy_customers.yml").write_text(
        'version: "3.1"\nstories:\n- story: hw much do i owe\n  steps:\n  - intent: check_balance\n'
        "- story: thx\n  steps:\n  - intent: thank\n"
    )
    (tmp_path / "test_messy_bills.yml").write_text('version: "3.1"\nstories:\n- story: and the august one\n  steps:\n  - intent: inform\n')
    (tmp_path / "test_payments.yml").write_text('version: "3.1"\nstories:\n- story: pay\n  steps:\n  - intent: pay_bill\n')
    failed = [f"thx ({tmp_path}/test_messy_customers.yml)", f"pay ({tmp_path}/test_payments.yml)"]
    assert dialogue.messy_reaching_their_goal(tmp_path, failed) == {
        "messy_conversations": 3, "messy_reached_goal": 2, "messy_goal_rate": 2 / 3,
    }
    assert dialogue.messy_reaching_their_goal(tmp_path / "none", [])["messy_goal_rate"] is None
    real = dialogue.messy_conversations(dialogue.STORIES)
    assert len(real) >= 30 and "messy, bye (tests/conversations/test_messy_customers.yml)" in real
