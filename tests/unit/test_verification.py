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
    Outcome,
    Secret,
    issue_app_token,
    parse_customer_number,
    parse_secret,
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
#: A valid Belgian postcode that is not Emma's.
WRONG_POSTCODE = Secret(postcode="9999")


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


# --- parse_secret ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, postcode",
    [("9000", "9000"), (" 1000 ", "1000"), ("postcode 9000", "9000"), ("8000 Brugge", "8000"), ("it's 3500", "3500")],
)
def test_parse_secret_postcode(typed, postcode):
    assert parse_secret(typed, TODAY) == Secret(postcode=postcode)


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
def test_parse_secret_date_of_birth(typed, born):
    assert parse_secret(typed, TODAY) == Secret(date_of_birth=born)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        None,
        "I don't know",
        "Brugge",
        "12345",  # five digits: not a postcode, not a date
        "postcode 12345",
        "0999",  # Belgian postcodes do not start with 0
        "14/02/2090",  # far in the future: not a date of birth
        "1/1/3000",
        (TODAY + timedelta(days=1)).strftime("%d/%m/%Y"),  # tomorrow: nobody is born yet
        "x" * 61 + " 1000",  # too long to be an answer
    ],
)
def test_parse_secret_rejects_anything_else(typed):
    assert parse_secret(typed, TODAY) is None


# --- verify ------------------------------------------------------------------------------


def test_right_postcode_verifies_that_customer(session, persona_customer, settings, now):
    emma = persona_customer("usage_up")
    result = verify(session, "conv-1", EMMA.customer_number, Secret(postcode=EMMA.postcode), now, settings)
    assert result.outcome == Outcome.VERIFIED
    assert result.customer.customer_id == emma.id
    assert result.customer.customer_number == EMMA.customer_number
    assert result.customer.first_name == "Emma"


def test_right_date_of_birth_verifies(session, persona_customer, settings, now):
    lucas = persona_customer("overdue")
    result = verify(session, "conv-1", LUCAS.customer_number, parse_secret("3 March 1979", TODAY), now, settings)
    assert result.outcome == Outcome.VERIFIED
    assert result.customer.customer_id == lucas.id


def test_someone_elses_postcode_does_not_verify(session, settings, now):
    result = verify(session, "conv-1", EMMA.customer_number, Secret(postcode=LUCAS.postcode), now, settings)
    assert result.outcome == Outcome.FAILED
    assert result.customer is None


def test_wrong_date_of_birth_does_not_verify(session, settings, now):
    result = verify(session, "conv-1", EMMA.customer_number, Secret(date_of_birth=date(1985, 2, 15)), now, settings)
    assert result.outcome == Outcome.FAILED


def test_wrong_postcode_counts_down_the_attempts(session, settings, now):
    first = verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    second = verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now + timedelta(seconds=20), settings)
    assert (first.outcome, first.attempts_left) == (Outcome.FAILED, 2)
    assert (second.outcome, second.attempts_left) == (Outcome.FAILED, 1)
    assert first.customer is None and second.customer is None


def test_unknown_customer_number_answers_like_a_wrong_postcode(session, settings, now):
    """Nothing in the answer may tell that the number does not exist."""
    known = [
        verify(session, "conv-known", EMMA.customer_number, WRONG_POSTCODE, now + timedelta(seconds=i), settings)
        for i in range(3)
    ]
    unknown = [
        verify(session, "conv-unknown", UNKNOWN_NUMBER, Secret(postcode=EMMA.postcode), now + timedelta(seconds=i), settings)
        for i in range(3)
    ]
    assert [r.outcome for r in known] == [Outcome.FAILED, Outcome.FAILED, Outcome.LOCKED]
    assert unknown == known


def test_third_failure_locks_the_conversation_and_the_number(session, settings, now):
    for i in range(2):
        verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now + timedelta(seconds=i), settings)
    third = verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now + timedelta(seconds=2), settings)
    assert third.outcome == Outcome.LOCKED
    assert third.customer is None
    assert third.locked_until == now + timedelta(seconds=2) + timedelta(minutes=15)

    later = now + timedelta(minutes=1)
    right = Secret(postcode=EMMA.postcode)
    # The same conversation is refused even with the right details ...
    assert verify(session, "conv-1", EMMA.customer_number, right, later, settings).outcome == Outcome.LOCKED
    # ... also for another customer number ...
    other = verify(session, "conv-1", LUCAS.customer_number, Secret(postcode=LUCAS.postcode), later, settings)
    assert other.outcome == Outcome.LOCKED
    # ... and the number is refused from another conversation too.
    elsewhere = verify(session, "conv-2", EMMA.customer_number, right, later, settings)
    assert elsewhere.outcome == Outcome.LOCKED
    assert elsewhere.customer is None
    # Another customer in another conversation is not affected.
    unaffected = verify(session, "conv-3", LUCAS.customer_number, Secret(postcode=LUCAS.postcode), later, settings)
    assert unaffected.outcome == Outcome.VERIFIED


def test_failures_from_different_conversations_lock_the_number(session, settings, now):
    verify(session, "conv-a", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    verify(session, "conv-b", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    third = verify(session, "conv-c", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    assert third.outcome == Outcome.LOCKED
    later = verify(session, "conv-d", EMMA.customer_number, Secret(postcode=EMMA.postcode), now, settings)
    assert later.outcome == Outcome.LOCKED


def test_lockout_is_stored_in_the_database(session, settings, now):
    for _ in range(3):
        verify(session, "conv-stored", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    session.flush()
    # Read with plain SQL, so it is what a restarted process would find, not the session's memory.
    rows = session.execute(
        text("SELECT subject, subject_key, locked_until FROM verification_lockouts WHERE subject_key IN (:c, :n)"),
        {"c": "conv-stored", "n": EMMA.customer_number},
    ).all()
    assert sorted((subject, key) for subject, key, _ in rows) == [
        ("conversation", "conv-stored"),
        ("customer_number", EMMA.customer_number),
    ]
    until = session.execute(
        select(VerificationLockout.locked_until).where(VerificationLockout.subject_key == EMMA.customer_number)
    ).scalar_one()
    assert until == now + timedelta(minutes=15)
    assert until.tzinfo is not None
    failures = session.execute(
        text("SELECT count(*) FROM verification_failures WHERE conversation_id = :c"), {"c": "conv-stored"}
    ).scalar_one()
    assert failures == 3


def test_lockout_ends_after_fifteen_minutes(session, settings, now):
    for _ in range(3):
        verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    right = Secret(postcode=EMMA.postcode)
    assert verify(session, "conv-1", EMMA.customer_number, right, now + timedelta(minutes=14), settings).outcome == Outcome.LOCKED
    after = verify(session, "conv-1", EMMA.customer_number, right, now + timedelta(minutes=16), settings)
    assert after.outcome == Outcome.VERIFIED
    assert after.customer.customer_number == EMMA.customer_number
    # And the number can be used from another conversation again as well.
    elsewhere = verify(session, "conv-2", EMMA.customer_number, right, now + timedelta(minutes=16), settings)
    assert elsewhere.outcome == Outcome.VERIFIED


def test_lockout_works_with_local_times(session, settings, now):
    """An aware time in Brussels is the same instant as in UTC: the lockout is kept as such."""
    brussels = now.astimezone(ZoneInfo("Europe/Brussels"))
    for _ in range(3):
        result = verify(session, "conv-tz", EMMA.customer_number, WRONG_POSTCODE, brussels, settings)
    assert result.outcome == Outcome.LOCKED
    assert result.locked_until == now + timedelta(minutes=15)
    right = Secret(postcode=EMMA.postcode)
    assert verify(session, "conv-tz", EMMA.customer_number, right, now + timedelta(minutes=14), settings).outcome == Outcome.LOCKED
    assert verify(session, "conv-tz", EMMA.customer_number, right, brussels + timedelta(minutes=16), settings).outcome == Outcome.VERIFIED


def test_old_failures_fall_out_of_the_window(session, settings, now):
    verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    later = verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now + timedelta(minutes=16), settings)
    assert (later.outcome, later.attempts_left) == (Outcome.FAILED, 2)


def test_success_clears_the_conversations_earlier_failures(session, settings, now):
    verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    ok = verify(session, "conv-1", EMMA.customer_number, Secret(postcode=EMMA.postcode), now, settings)
    assert ok.outcome == Outcome.VERIFIED
    # Without the reset this would be the third failure and lock.
    again = verify(session, "conv-1", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    assert (again.outcome, again.attempts_left) == (Outcome.FAILED, 2)


def test_settings_from_the_environment_are_used(session, monkeypatch, now):
    monkeypatch.setenv("SETTLE_VERIFICATION_MAX_FAILURES", "2")
    monkeypatch.setenv("SETTLE_VERIFICATION_LOCKOUT_MINUTES", "5")
    settings = Settings.from_environment()
    assert (settings.verification_max_failures, settings.verification_lockout_minutes) == (2, 5)

    first = verify(session, "conv-env", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    assert (first.outcome, first.attempts_left) == (Outcome.FAILED, 1)
    second = verify(session, "conv-env", EMMA.customer_number, WRONG_POSTCODE, now, settings)
    assert second.outcome == Outcome.LOCKED
    assert second.locked_until == now + timedelta(minutes=5)
    right = Secret(postcode=EMMA.postcode)
    assert verify(session, "conv-env", EMMA.customer_number, right, now + timedelta(minutes=4), settings).outcome == Outcome.LOCKED
    assert verify(session, "conv-env", EMMA.customer_number, right, now + timedelta(minutes=6), settings).outcome == Outcome.VERIFIED


def test_default_settings(monkeypatch):
    for name in ("SETTLE_VERIFICATION_MAX_FAILURES", "SETTLE_VERIFICATION_LOCKOUT_MINUTES", "SETTLE_APP_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_environment()
    assert settings.verification_max_failures == 3
    assert settings.verification_lockout_minutes == 15
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


def test_a_conversation_named_like_a_customer_number_does_not_share_its_lockout(session, settings, now):
    for i in range(3):
        verify(session, "conv-lock", EMMA.customer_number, WRONG_POSTCODE, now + timedelta(seconds=i), settings)
    conversation_named_like_the_number = verify(
        session, EMMA.customer_number, LUCAS.customer_number, Secret(postcode=LUCAS.postcode), now + timedelta(minutes=1), settings
    )
    assert conversation_named_like_the_number.outcome == Outcome.VERIFIED


@pytest.mark.parametrize("token", ["\udd9a", "é.é.é", "\x00"])
def test_a_token_that_is_not_ascii_is_no_token(token):
    assert verify_app_token(None, token, "secret", NOW) is None
