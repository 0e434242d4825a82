"""Settle's own counters for Prometheus: turns, fallbacks, escalations, reminders sent, payments received.

They are counted where they happen, in whichever process that is (Rasa for turns and fallbacks, the action server
or web app for escalations, the reminder run for reminders, the web app or a statement import for payments), and
shown together at the web app's `/metrics`. With PROMETHEUS_MULTIPROC_DIR set (`settle run` sets it to
var/metrics for every part it starts, emptied at each start), every process writes its counts to files there and
`/metrics` adds them up: prometheus-client's multiprocess mode, which reads the variable when it is first imported.
Without it, `/metrics` shows its own process's counts only.

A counter counts what a transaction did, also when that transaction is rolled back afterwards (rare: a failed
commit); Prometheus counters only say how fast things happen, the database says what happened.
"""
from __future__ import annotations

import hmac
import os
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LOOPBACK = ("127.0.0.1", "::1")

if os.environ.get(MULTIPROCESS_VARIABLE):  # counting must never fail a payment or a turn for want of a directory
    os.makedirs(os.environ[MULTIPROCESS_VARIABLE], exist_ok=True)

TURNS = Counter("settle_turns", "Customer messages handled by Rasa (a message sent again is not counted twice)", ["channel"])
FALLBACKS = Counter("settle_fallbacks", "Customer messages Settle did not understand (nlu_fallback)", ["channel"])
ESCALATIONS = Counter("settle_escalations", "Conversations put in the agents' queue", ["reason"])
REMINDERS_SENT = Counter("settle_reminders_sent", "Reminder messages sent", ["channel"])
PAYMENTS = Counter("settle_payments", "Payments received and recorded (a repeated webhook or statement line is not counted)",
                   ["source"])


def exposition() -> tuple[bytes, str]:
    """The text Prometheus scrapes, and its content type: every process's counts when they share a directory."""
    directory = os.environ.get(MULTIPROCESS_VARIABLE)
    if not directory:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def may_scrape(token: str | None, authorization: str | None, client: str | None) -> bool:
    """Whether a request may read the counters: with the token when one is set, else from loopback only."""
    if token:
        scheme, _, presented = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
    return client in LOOPBACK


def fresh_directory(directory: Path) -> Path:
    """An empty directory for a run's counts (a previous run's files would add up with this one's)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory
