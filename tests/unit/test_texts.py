"""render(): the chat texts of domain.yml, filled in for e-mail and SMS."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from settle.errors import TextError
from settle.outreach.texts import render

ROOT = Path(__file__).resolve().parents[2]
REMINDER_VALUES = {
    "first_name": "Ann",
    "invoice_number": "INV-2026-001234",
    "amount": "€ 84.20",
    "due_date": "21 November 2026",
    "link": "https://pay.settle.example/p/abc123",
    "stage": "nudge",
    "bill_count": "2",
    "bills": "INV-2026-001234 (€ 84.20, 21 November 2026), INV-2026-001301 (€ 61.05, 21 December 2026)",
}


@pytest.fixture
def domain(tmp_path) -> Path:
    path = tmp_path / "domain.yml"
    path.write_text(
        """
version: "3.1"
responses:
  utter_hello:
    - text: "Hi {first_name}, bill {invoice_number} is {amount}."
    - text: "Hello {first_name}!"
  utter_with_channel_first:
    - custom: {kind: card}
    - text: "Plain {amount}"
  utter_no_text:
    - image: "https://example.test/a.png"
  utter_braces:
    - text: "Literal {{braces}} and {amount}"
  utter_broken:
    - text: "Unclosed {amount"
""",
        encoding="utf-8",
    )
    return path


def test_the_first_text_variation_is_filled_with_the_values(domain):
    text = render("utter_hello", {"first_name": "Ann", "invoice_number": "INV-1", "amount": "€ 12.00"}, domain)
    assert text == "Hi Ann, bill INV-1 is € 12.00."


def test_values_not_in_the_text_are_ignored(domain):
    assert render("utter_hello", {"first_name": "A", "invoice_number": "I", "amount": "1", "extra": "x"}, domain) == "Hi A, bill I is 1."


def test_variations_without_text_are_skipped(domain):
    assert render("utter_with_channel_first", {"amount": "€ 5.00"}, domain) == "Plain € 5.00"


def test_doubled_braces_stay_literal(domain):
    assert render("utter_braces", {"amount": "1"}, domain) == "Literal {braces} and 1"


def test_a_missing_value_names_the_response_and_the_value(domain):
    with pytest.raises(TextError) as raised:
        render("utter_hello", {"first_name": "Ann", "amount": "1"}, domain)
    assert isinstance(raised.value, KeyError)
    assert raised.value.response == "utter_hello"
    assert raised.value.missing == "invoice_number"
    assert "utter_hello" in str(raised.value) and "'invoice_number'" in str(raised.value)
    assert not str(raised.value).startswith('"')  # the message as written, not KeyError's quoted repr


@pytest.mark.parametrize("name", ["utter_nowhere", "utter_no_text"])
def test_an_unknown_response_or_one_without_text_is_a_text_error(domain, name):
    with pytest.raises(TextError, match=name):
        render(name, {}, domain)


def test_a_malformed_placeholder_is_a_text_error(domain):
    with pytest.raises(TextError, match="utter_broken"):
        render("utter_broken", {"amount": "1"}, domain)


def test_a_missing_domain_file_is_a_text_error(tmp_path):
    with pytest.raises(TextError, match="can't read the domain file"):
        render("utter_hello", {}, tmp_path / "nowhere.yml")


def test_invalid_yaml_is_a_text_error(tmp_path):
    path = tmp_path / "domain.yml"
    path.write_text("responses: [unclosed\n", encoding="utf-8")
    with pytest.raises(TextError, match="not valid YAML"):
        render("utter_hello", {}, path)


def test_the_domain_file_is_read_once_per_path(domain):
    render("utter_hello", {"first_name": "A", "invoice_number": "I", "amount": "1"}, domain)
    domain.write_text('responses:\n  utter_hello:\n    - text: "changed"\n', encoding="utf-8")
    assert render("utter_hello", {"first_name": "A", "invoice_number": "I", "amount": "1"}, str(domain)).startswith("Hi A")


def _reminder_responses() -> list[str]:
    policy = yaml.safe_load((ROOT / "policy" / "reminders.yml").read_text(encoding="utf-8"))
    stages = (policy.get("stages") or []) + (policy.get("instalment_stages") or [])
    several = [stage["several_bills_response"] for stage in stages if "several_bills_response" in stage]
    return [stage["response"] for stage in stages] + several + ["utter_reminder_email_subject",
                                                                 "utter_reminder_email_subject_several"]


@pytest.mark.parametrize("response", _reminder_responses())
def test_every_reminder_response_exists_in_the_real_domain_and_renders(response):
    text = render(response, REMINDER_VALUES, ROOT / "domain.yml")
    assert text.strip()
    assert "{" not in text and "}" not in text
