"""Identity checks: parsing what the customer typed, verify() with lockout, and app tokens."""
from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from settle.config import Settings
from settle.identity.verification import (
    Answers,
    Outcome,
    issue_app_token,
    parse_birth_date,
    parse_customer_number,
    parse_postcode,
    postcode_beside_number,
    recent_failures,
    verify,
    verify_app_token,
)
from settle.models import VerificationLockout
from settle.tooling.seed import PERSONAS
from tests.conftest import NOW, TODAY

EMMA = PERSONAS[0]  # 50000017, postcode 1000, born 14/02/1985
LUCAS = PERSONAS[1]
#: Looks like a customer number but belongs to nobody (all seeded numbers are 5000xxxx or 510xxxxx).
UNKNOWN_NUMBER = "59999998"
EMMA_RIGHT = Answers(EMMA.postcode, EMMA.date_of_birth)
LUCAS_RIGHT = Answers(LUCAS.postcode, LUCAS.date_of_birth)
#: A valid Belgian postcode that is not Emma's, with her real date of birth.
WRONG_POSTCODE = Answers("9999", EMMA.date_of_birth)


def attempt(session, settings, at, answers=WRONG_POSTCODE, conversation="conv-1", number=EMMA.customer_number, source=None):
    """One check, from the conversation itself as its source unless another is given."""
    return verify(session, conversation, source or conversation, number, answers, at, settings)


# --- parse_customer_number ---------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "50000017",
        "5000 0017",
        "5 0 0 0 0 0 1 7",
        "nr 50000017",
        "my customer number is 50000017, thanks",
        "5000-0017.",
        "50000017, postcode 1000",
        "5000.0017",
        "my customer number is 5000-0017",
        "5000 0017 and my postcode is 1000",
        "postcode 5000, number 5000 0017",
    ],
)
def test_parse_customer_number_finds_the_number(typed):
    assert parse_customer_number(typed) == "50000017"


@pytest.mark.parametrize(
    "typed",
    [
        "5000001",  # 7 digits
        "500000170",  # 9 digits
        "40000017",  # does not start with 5
        "05000001",
        "no number here",
        "",
        None,
    ],
)
def test_parse_customer_number_rejects_anything_else(typed):
    assert parse_customer_number(typed) is None


# --- parse_postcode, parse_birth_date ----------------------------------------------------


@pytest.mark.parametrize(
    "typed, postcode",
    [("9000", "9000"), (" 1000 ", "1000"), ("postcode 9000", "9000"), ("8000 Brugge", "8000"), ("it's 3500", "3500")],
)
def test_parse_postcode(typed, postcode):
    assert parse_postcode(typed) == postcode


@pytest.mark.parametrize(
    "typed", ["", None, "Brugge", "12345", "postcode 12345", "0999", "14/02/1985", "x" * 61 + " 1000"]
)
def test_parse_postcode_rejects_anything_else(typed):
    assert parse_postcode(typed) is None


@pytest.mark.parametrize("typed, postcode", [
    ("50000017, postcode 1000", "1000"),
    ("my number is 50000017 and I live in 9000", "9000"),
    ("1000 50000017", "1000"),
    ("5000 0017", None),  # the number alone, written in two parts
    ("50000017", None),
    ("50000017 1000 2000", None),
    ("50000017 12345", None),
    ("1000", None),  # no customer number: the postcode is asked for on its own
    ("5000 0017 1000", "1000"),  # the number in groups, then the postcode
    ("my number is 5000.0017 and my postcode 9000", "9000"),
    ("5000-0017, 1000", "1000"),
])
def test_postcode_beside_number(typed, postcode):
    assert postcode_beside_number(typed) == postcode


@pytest.mark.parametrize(
    "typed, born",
    [
        ("14/02/1985", date(1985, 2, 14)),
        ("02/03/1985", date(1985, 3, 2)),  # day first, as written in Belgium
        ("3/3/1979", date(1979, 3, 3)),
        ("14-02-1985", date(1985, 2, 14)),
        ("3 March 1979", date(1979, 3, 3)),
        ("born on 21 July 1992", date(1992, 7, 21)),
    ],
)
def test_parse_birth_date(typed, born):
    assert parse_birth_date(typed, TODAY) == born


@pytest.mark.parametrize(
    "typed",
    [
        "",
        None,
        "I don't know",
        "Brugge",
        "14/02/2090",  # far in the future: not a date of birth
        "1/1/3000",
        (TODAY + timedelta(days=1)).strftime("%d/%m/%Y"),  # tomorrow: nobody is born yet
        "x" * 61 + " 14/02/1985",  # too long to be an answer
    ],
)
def test_parse_birth_date_rejects_anything_else(typed):
    assert parse_birth_date(typed, TODAY) is None


# --- verify: both answers must match ----------------------------------------------------


def test_right_postcode_and_date_of_birth_verify_that_customer(session, persona_customer, settings, now):
    emma = persona_customer("usage_up")
    result = attempt(session, settings, now, EMMA_RIGHT)
    assert result.outcome == Outcome.VERIFIED
    assert result.customer.customer_id == emma.id
    assert result.customer.customer_number == EMMA.customer_number
    assert result.customer.first_name == "Emma"


def test_the_right_postcode_alone_does_not_verify(session, settings, now):
    """The spray: a common postcode is easy to guess, so it never verifies without the date of birth."""
    result = attempt(session, settings, now, Answers(EMMA.postcode, date(1985, 2, 15)))
    assert result.outcome == Outcome.FAILED and result.customer is None


def test_the_right_date_of_birth_alone_does_not_verify(session, settings, now):
    assert attempt(session, settings, now, WRONG_POSTCODE).outcome == Outcome.FAILED


def test_someone_elses_answers_do_not_verify(session, settings, now):
    result = attempt(session, settings, now, LUCAS_RIGHT)
    assert result.outcome == Outcome.FAILED
    assert result.customer is None


def test_wrong_answers_count_down_the_attempts(session, settings, now):
    first = attempt(session, settings, now)
    second = attempt(session, settings, now + timedelta(seconds=20))
    assert (first.outcome, first.attempts_left) == (Outcome.FAILED, 2)
    assert (second.outcome, second.attempts_left) == (Outcome.FAILED, 1)
    assert first.customer is None and second.customer is None


def test_unknown_customer_number_answers_like_wrong_answers(session, settings, now):
    """Nothing in the answer may tell that the number does not exist."""
    known = [attempt(session, settings, now + timedelta(seconds=i), conversation="conv-known") for i in range(3)]
    unknown = [
        attempt(session, settings, now + timedelta(seconds=i), EMMA_RIGHT, conversation="conv-unknown", number=UNKNOWN_NUMBER)
        for i in range(3)
    ]
    assert [r.outcome for r in known] == [Outcome.FAILED, Outcome.FAILED, Outcome.LOCKED]
    assert unknown == known


# --- lockouts: the conversation and the source, never the customer number -----------------


def test_third_failure_locks_the_conversation_but_never_the_customer_number(session, settings, now):
    for i in range(2):
        attempt(session, settings, now + timedelta(seconds=i))
    third = attempt(session, settings, now + timedelta(seconds=2))
    assert third.outcome == Outcome.LOCKED
    assert third.customer is None
    assert third.lockout.until == now + timedelta(seconds=2) + timedelta(minutes=15)
    assert not third.lockout.everyone

    later = now + timedelta(minutes=1)
    # The same conversation is refused even with the right details ...
    assert attempt(session, settings, later, EMMA_RIGHT).outcome == Outcome.LOCKED
    # ... also for another customer number ...
    assert attempt(session, settings, later, LUCAS_RIGHT, number=LUCAS.customer_number).outcome == Outcome.LOCKED
    # ... but the real customer, in a conversation of her own, still gets in.
    elsewhere = attempt(session, settings, later, EMMA_RIGHT, conversation="conv-real-emma")
    assert elsewhere.outcome == Outcome.VERIFIED
    assert elsewhere.customer.customer_number == EMMA.customer_number


def test_failures_against_one_number_from_many_conversations_do_not_lock_the_real_customer(session, settings, now):
    for i in range(6):
        attempt(session, settings, now, conversation=f"attacker-{i}")
    assert attempt(session, settings, now, EMMA_RIGHT, conversation="real-emma").outcome == Outcome.VERIFIED


def test_a_source_is_paused_after_too_many_failures_across_its_conversations(session, settings, now):
    """New conversations from the same client address don't reset the count."""
    results = [
        attempt(session, settings, now, conversation=f"spray-{i}", number=f"5100{i:04d}", source="203.0.113.9")
        for i in range(settings.verification_source_max_failures)
    ]
    assert [r.outcome for r in results[:-1]] == [Outcome.FAILED] * (settings.verification_source_max_failures - 1)
    assert results[-1].outcome == Outcome.LOCKED
    fresh = attempt(session, settings, now, EMMA_RIGHT, conversation="spray-new", source="203.0.113.9")
    assert fresh.outcome == Outcome.LOCKED and fresh.customer is None
    # Another source, such as the real customer, is not affected.
    assert attempt(session, settings, now, EMMA_RIGHT, conversation="home", source="198.51.100.7").outcome == Outcome.VERIFIED


def test_too_many_failures_everywhere_pause_every_new_check_for_a_growing_while(session, settings, now):
    limit = settings.verification_global_max_failures
    for i in range(limit):
        assert attempt(session, settings, now, conversation=f"spray-{i}", number=f"5100{i:04d}").outcome == Outcome.FAILED
    over = attempt(session, settings, now, conversation="spray-over", number="51009999")
    assert over.outcome == Outcome.LOCKED and over.lockout.everyone
    assert over.lockout.until == now + timedelta(minutes=5)
    assert over.lockout.minutes_left(now) == 5
    # Even the real customer waits meanwhile ...
    waiting = attempt(session, settings, now + timedelta(minutes=1), EMMA_RIGHT, conversation="real-emma")
    assert waiting.outcome == Outcome.LOCKED and waiting.lockout.everyone
    # ... the pause ends; another failure still within the window pauses again, twice as long.
    after = now + timedelta(minutes=6)
    again = attempt(session, settings, after, conversation="spray-again", number="51008888")
    assert again.outcome == Outcome.LOCKED and again.lockout.until == after + timedelta(minutes=10)
    # Once the failures are out of the window, the real customer gets in.
    later = now + timedelta(minutes=30)
    assert attempt(session, settings, later, EMMA_RIGHT, conversation="real-emma").outcome == Outcome.VERIFIED


def test_a_conversation_paused_again_within_a_day_waits_twice_as_long(session, settings, now):
    for _ in range(3):
        first = attempt(session, settings, now)
    assert first.lockout.until == now + timedelta(minutes=15)
    after = now + timedelta(minutes=20)
    for _ in range(3):
        second = attempt(session, settings, after)
    assert second.lockout.until == after + timedelta(minutes=30)


def test_lockout_is_stored_in_the_database(session, settings, now):
    for _ in range(3):
        attempt(session, settings, now, conversation="conv-stored", source="203.0.113.5")
    session.flush()
    # Read with plain SQL, so it is what a restarted process would find, not the session's memory.
    rows = session.execute(
        text("SELECT subject, subject_key FROM verification_lockouts WHERE subject_key IN (:c, :n)"),
        {"c": "conv-stored", "n": EMMA.customer_number},
    ).all()
    assert [tuple(row) for row in rows] == [("conversation", "conv-stored")]
    until = session.execute(
        select(VerificationLockout.locked_until).where(VerificationLockout.subject_key == "conv-stored")
    ).scalar_one()
    assert until == now + timedelta(minutes=15)
    assert until.tzinfo is not None
    failures = session.execute(
        text("SELECT count(*) FROM verification_failures WHERE conversation_id = :c AND source = :s"),
        {"c": "conv-stored", "s": "203.0.113.5"},
    ).scalar_one()
    assert failures == 3


def test_lockout_ends_after_fifteen_minutes(session, settings, now):
    for _ in range(3):
        attempt(session, settings, now)
    assert attempt(session, settings, now + timedelta(minutes=14), EMMA_RIGHT).outcome == Outcome.LOCKED
    after = attempt(session, settings, now + timedelta(minutes=16), EMMA_RIGHT)
    assert after.outcome == Outcome.VERIFIED
    assert after.customer.customer_number == EMMA.customer_number


def test_lockout_works_with_local_times(session, settings, now):
    """An aware time in Brussels is the same instant as in UTC: the lockout is kept as such."""
    brussels = now.astimezone(ZoneInfo("Europe/Brussels"))
    for _ in range(3):
        result = attempt(session, settings, brussels, conversation="conv-tz")
    assert result.outcome == Outcome.LOCKED
    assert result.lockout.until == now + timedelta(minutes=15)
    assert attempt(session, settings, now + timedelta(minutes=14), EMMA_RIGHT, conversation="conv-tz").outcome == Outcome.LOCKED
    assert attempt(session, settings, brussels + timedelta(minutes=16), EMMA_RIGHT, conversation="conv-tz").outcome == Outcome.VERIFIED


def test_old_failures_fall_out_of_the_window(session, settings, now):
    attempt(session, settings, now)
    attempt(session, settings, now)
    later = attempt(session, settings, now + timedelta(minutes=16))
    assert (later.outcome, later.attempts_left) == (Outcome.FAILED, 2)


def test_success_clears_the_conversations_earlier_failures(session, settings, now):
    attempt(session, settings, now)
    attempt(session, settings, now)
    assert attempt(session, settings, now, EMMA_RIGHT).outcome == Outcome.VERIFIED
    # Without the reset this would be the third failure and lock.
    again = attempt(session, settings, now)
    assert (again.outcome, again.attempts_left) == (Outcome.FAILED, 2)


def test_recent_failures_count_failed_checks_and_paused_conversations_of_the_last_day(session, settings, now):
    before = recent_failures(session, now)
    for _ in range(3):
        attempt(session, settings, now - timedelta(hours=25), conversation="old")
    for _ in range(3):
        attempt(session, settings, now, conversation="new")
    attempt(session, settings, now, conversation="other")
    counted = recent_failures(session, now + timedelta(minutes=1))
    assert (counted.failed_checks - before.failed_checks, counted.locked_conversations - before.locked_conversations) == (4, 1)


def test_settings_from_the_environment_are_used(session, monkeypatch, now):
    monkeypatch.setenv("SETTLE_VERIFICATION_MAX_FAILURES", "2")
    monkeypatch.setenv("SETTLE_VERIFICATION_LOCKOUT_MINUTES", "5")
    monkeypatch.setenv("SETTLE_VERIFICATION_SOURCE_MAX_FAILURES", "7")
    monkeypatch.setenv("SETTLE_VERIFICATION_GLOBAL_MAX_FAILURES", "50")
    monkeypatch.setenv("SETTLE_VERIFICATION_GLOBAL_WINDOW_MINUTES", "30")
    monkeypatch.setenv("SETTLE_VERIFICATION_GLOBAL_PAUSE_MINUTES", "2")
    settings = Settings.from_environment()
    assert (settings.verification_max_failures, settings.verification_lockout_minutes) == (2, 5)
    assert (settings.verification_source_max_failures, settings.verification_global_max_failures) == (7, 50)
    assert (settings.verification_global_window_minutes, settings.verification_global_pause_minutes) == (30, 2)

    first = attempt(session, settings, now, conversation="conv-env")
    assert (first.outcome, first.attempts_left) == (Outcome.FAILED, 1)
    second = attempt(session, settings, now, conversation="conv-env")
    assert second.outcome == Outcome.LOCKED
    assert second.lockout.until == now + timedelta(minutes=5)
    assert attempt(session, settings, now + timedelta(minutes=4), EMMA_RIGHT, conversation="conv-env").outcome == Outcome.LOCKED
    assert attempt(session, settings, now + timedelta(minutes=6), EMMA_RIGHT, conversation="conv-env").outcome == Outcome.VERIFIED


def test_default_settings(monkeypatch):
    for name in ("SETTLE_VERIFICATION_MAX_FAILURES", "SETTLE_VERIFICATION_LOCKOUT_MINUTES", "SETTLE_APP_TOKEN_SECRET",
                 "SETTLE_VERIFICATION_SOURCE_MAX_FAILURES", "SETTLE_VERIFICATION_GLOBAL_MAX_FAILURES",
                 "SETTLE_VERIFICATION_GLOBAL_WINDOW_MINUTES", "SETTLE_VERIFICATION_GLOBAL_PAUSE_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_environment()
    assert settings.verification_max_failures == 3
    assert settings.verification_lockout_minutes == 15
    assert settings.verification_source_max_failures == 10
    assert (settings.verification_global_max_failures, settings.verification_global_window_minutes) == (20, 10)
    assert settings.verification_global_pause_minutes == 5
    assert settings.app_token_secret is None
    monkeypatch.setenv("SETTLE_APP_TOKEN_SECRET", "")
    assert Settings.from_environment().app_token_secret is None


# --- app tokens --------------------------------------------------------------------------
# PyJWT checks `exp` against the real clock, so tokens are issued relative to the real time.


def test_app_token_round_trip(session, persona_customer, settings):
    emma = persona_customer("usage_up")
    token = issue_app_token(EMMA.customer_number, settings.app_token_secret, NOW)
    customer = verify_app_token(session, token, settings.app_token_secret, NOW)
    assert customer is not None
    assert (customer.customer_id, customer.customer_number, customer.first_name) == (emma.id, EMMA.customer_number, "Emma")


def test_expired_app_token_is_refused(session, settings):
    token = issue_app_token(EMMA.customer_number, settings.app_token_secret, NOW - timedelta(hours=2))
    assert verify_app_token(session, token, settings.app_token_secret, NOW) is None


def test_short_lived_app_token_expires(session, settings):
    token = issue_app_token(
        EMMA.customer_number, settings.app_token_secret, NOW - timedelta(minutes=10), ttl=timedelta(minutes=5)
    )
    assert verify_app_token(session, token, settings.app_token_secret, NOW) is None


def test_app_token_signed_with_another_secret_is_refused(session, settings):
    token = issue_app_token(EMMA.customer_number, "some-other-secret-0123456789abcdef-xyz", NOW)
    assert verify_app_token(session, token, settings.app_token_secret, NOW) is None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_tampered_app_token_is_refused(session, settings):
    token = issue_app_token(EMMA.customer_number, settings.app_token_secret, NOW)
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    assert claims["sub"] == EMMA.customer_number
    claims["sub"] = LUCAS.customer_number  # try to become someone else, keeping the signature
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    assert verify_app_token(session, forged, settings.app_token_secret, NOW) is None
    # An unsigned token ("alg": "none") is refused as well.
    unsigned_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    assert verify_app_token(session, f"{unsigned_header}.{_b64(json.dumps(claims).encode())}.", settings.app_token_secret, NOW) is None


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "...", "eyJhbGciOiJIUzI1NiJ9.e30.xx"])
def test_garbage_app_token_is_refused(session, settings, garbage):
    assert verify_app_token(session, garbage, settings.app_token_secret, NOW) is None


def test_non_string_app_token_is_refused(session, settings):
    assert verify_app_token(session, None, settings.app_token_secret, NOW) is None


@pytest.mark.parametrize("secret", [None, ""])
def test_no_secret_configured_refuses_every_token(session, secret):
    # Even a token signed with an empty key must not get through when no secret is configured.
    token = issue_app_token(EMMA.customer_number, "unit-test-secret-0123456789abcdef-xyz", NOW)
    assert verify_app_token(session, token, secret, NOW) is None


def test_app_token_for_unknown_customer_is_refused(session, settings):
    token = issue_app_token(UNKNOWN_NUMBER, settings.app_token_secret, NOW)
    assert verify_app_token(session, token, settings.app_token_secret, NOW) is None


def test_a_conversation_named_like_a_source_does_not_share_its_lockout(session, settings, now):
    for i in range(settings.verification_source_max_failures):
        attempt(session, settings, now, conversation=f"c-{i}", source="198.51.100.1")
    named_like_the_source = attempt(session, settings, now, LUCAS_RIGHT, conversation="198.51.100.1", number=LUCAS.customer_number,
                                    source="192.0.2.1")
    assert named_like_the_source.outcome == Outcome.VERIFIED


@pytest.mark.parametrize("token", ["\udd9a", "é.é.é", "\x00"])
def test_a_token_that_is_not_ascii_is_no_token(token):
    assert verify_app_token(None, token, "secret", NOW) is None
