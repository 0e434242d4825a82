"""The replicas benchmark's arithmetic and table (the run itself needs the model, PostgreSQL, Redis and HAProxy)."""
from __future__ import annotations

import os

from bench.replicas import _row, cpu_seconds, replicas_markdown

PHASE = {"turns": 300, "seconds": 20.0, "turns_per_second": 15.0, "failed_turns": 0, "p50_ms": 900.0, "p95_ms": 2100.0,
         "p99_ms": 3000.0, "failure_examples": []}


def test_a_row_says_turns_per_process_per_core_and_per_cpu_second():
    row = _row(2, "journey", PHASE, rasa_cpu_seconds=30.0)

    assert (row["per_process"], row["per_core"]) == (7.5, round(15.0 / os.cpu_count(), 1))
    assert row["turns_per_rasa_cpu_second"] == 10.0 and row["rasa_cpu_share"] == 1.5
    assert row["traffic"] == "journeys"


def test_a_phase_with_no_cpu_measured_has_no_cost_per_turn():
    assert _row(1, "bare", PHASE, rasa_cpu_seconds=0.0)["turns_per_rasa_cpu_second"] is None


def test_the_table_puts_1_and_2_processes_side_by_side():
    rows = [_row(1, "journey", PHASE, 15.0), _row(1, "bare", PHASE, 15.0), _row(2, "journey", PHASE, 30.0)]
    table = replicas_markdown({"concurrency": 20, "seconds_per_phase": 20, "cores": 2, "rows": rows})

    assert table.count("\n| 1 |") == 2 and table.count("\n| 2 |") == 1 and "bare Rasa turn" in table


def test_cpu_seconds_grow_with_work_and_a_gone_process_counts_nothing():
    before = cpu_seconds([os.getpid()])
    sum(number * number for number in range(2_000_000))
    assert cpu_seconds([os.getpid()]) > before
    assert cpu_seconds([2**22 + 12345]) == 0.0


def test_the_table_shows_examples_of_failed_turns():
    failing = {**PHASE, "failed_turns": 1, "failure_examples": ["birth_date: unexpected reply: Dank u"]}
    table = replicas_markdown({"concurrency": 20, "seconds_per_phase": 20, "cores": 2, "rows": [_row(1, "journey", failing, 1.0)]})

    assert "Examples of failed turns" in table and "birth_date: unexpected reply" in table
