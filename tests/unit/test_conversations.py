"""Conversation ids Settle issued, and nobody else can make."""
from __future__ import annotations

import pytest

from settle.identity import conversations
from settle.signing import sign

KEY = conversations.conversation_key(b"link-secret")


def test_an_issued_id_is_random_signed_and_checks_out():
    first, second = conversations.issue(KEY), conversations.issue(KEY)
    assert first != second
    assert conversations.is_issued(KEY, first) and conversations.is_issued(KEY, second)


def test_a_chosen_name_is_signed_too():
    issued = conversations.issue(KEY, "e2e-test-1")
    assert issued.startswith("e2e-test-1.") and conversations.is_issued(KEY, issued)


@pytest.mark.parametrize(
    "forged",
    [
        "0123456789abcdef0123456789abcdef",  # what the widget's socket used to accept
        "alice",
        "alice.",
        ".signature",
        "",
        None,
        42,
        ["alice.x"],
    ],
)
def test_ids_nobody_issued_are_refused(forged):
    assert not conversations.is_issued(KEY, forged)


def test_a_tampered_name_or_signature_is_refused():
    issued = conversations.issue(KEY, "alice")
    name, _, signature = issued.partition(".")
    assert not conversations.is_issued(KEY, f"mallory.{signature}")
    assert not conversations.is_issued(KEY, f"{name}.{signature[:-1]}A")
    assert not conversations.is_issued(conversations.conversation_key(b"another-secret"), issued)


def test_the_key_is_separated_from_the_link_secret():
    """A signature made with the link secret itself (a payment link's) is never a conversation id."""
    link_signed = f"alice.{sign(b'link-secret', 'conversation', 'alice')}"
    assert not conversations.is_issued(KEY, link_signed)


@pytest.mark.parametrize("name", ["has space", "a.b", "x" * 101, "ünïcode"])
def test_names_outside_the_safe_alphabet_are_not_signed(name):
    with pytest.raises(ValueError):
        conversations.issue(KEY, name)
