"""Reminders by e-mail and SMS speak the customer's language, with the wording designers keep in domain.yml."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from settle.outreach.senders import EmailSender, ReminderContent, SmsSender
from tests.fakes.sms import running_fake_sms
from tests.fakes.smtp import running_smtp_server

DOMAIN = Path(__file__).resolve().parents[2] / "domain.yml"
SMS_KEY = "sms-key-abcdef0123456789"
LINK = "https://pay.settle.example/p/abc123"
#: What the reminder engine passes for a Dutch, a French and an English customer (formatted in their language).
VALUES = {
    "nl": {"amount": "€\xa099,04", "due_date": "26 november 2026"},
    "fr": {"amount": "99,04\xa0€", "due_date": "26 novembre 2026"},
    "en": {"amount": "€99.04", "due_date": "26 November 2026"},
}
SUBJECT = {
    "nl": "Een vriendelijke herinnering voor factuur INV-2026-001234",
    "fr": "Un petit rappel pour la facture INV-2026-001234",
    "en": "A friendly reminder about bill INV-2026-001234",
}
NUDGE_STARTS = {
    "nl": "Dag Ann, factuur INV-2026-001234 van €\xa099,04 moest betaald zijn tegen 26 november 2026.",
    "fr": "Bonjour Ann, la facture INV-2026-001234 de 99,04\xa0€ était à payer pour le 26 novembre 2026.",
    "en": "Hi Ann, bill INV-2026-001234 of €99.04 was due on 26 November 2026.",
}
SEVERAL_STARTS = {
    "nl": "Dag Ann, u hebt 2 openstaande facturen, samen €\xa099,04: INV-1 en INV-2.",
    "fr": "Bonjour Ann, vous avez 2 factures ouvertes, 99,04\xa0€ au total : INV-1 et INV-2.",
    "en": "Hi Ann, you have 2 bills open, €99.04 in all: INV-1 and INV-2.",
}


def content(language: str, **changes) -> ReminderContent:
    base = ReminderContent(
        customer_name="Ann Peeters", email="ann@example.test", phone="+32470123456", conversation_id=None,
        response="utter_reminder_nudge",
        values={"first_name": "Ann", "invoice_number": "INV-2026-001234", "link": LINK, "stage": "nudge",
                "customer_id": "17", **VALUES[language]},
        reminder_token="signed.reminder.token", language=language,
    )
    return replace(base, **changes)


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_email_is_in_the_customers_language(language):
    with running_smtp_server() as smtp:
        EmailSender(smtp.host, smtp.port, "Settle <billing@settle.example>", timeout=2, domain_path=DOMAIN).send(content(language))
    [message] = smtp.messages
    assert message["Subject"] == SUBJECT[language]
    plain = message.get_body(preferencelist=("plain",)).get_content()
    assert plain.startswith(NUDGE_STARTS[language])
    assert LINK in plain
    page = message.get_body(preferencelist=("html",)).get_content()
    assert f'<html lang="{language}">' in page


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_sms_is_in_the_customers_language(language):
    with running_fake_sms(SMS_KEY) as sms:
        SmsSender(sms.url, SMS_KEY, "Settle", timeout=2, domain_path=DOMAIN).send(content(language))
    [message] = sms.messages
    assert message["text"].startswith(NUDGE_STARTS[language])
    assert "0800 12 345" in message["text"]


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_reminder_for_several_bills_is_in_the_customers_language(language):
    several = content(language, response="utter_reminder_nudge_several")
    several = replace(several, values={**several.values, "bill_count": "2", "bills": {"nl": "INV-1 en INV-2",
                                       "fr": "INV-1 et INV-2", "en": "INV-1 and INV-2"}[language]})
    with running_fake_sms(SMS_KEY) as sms:
        SmsSender(sms.url, SMS_KEY, "Settle", timeout=2, domain_path=DOMAIN).send(several)
    assert sms.messages[0]["text"].startswith(SEVERAL_STARTS[language])


def test_a_language_without_its_own_wording_gets_the_english():
    with running_fake_sms(SMS_KEY) as sms:
        SmsSender(sms.url, SMS_KEY, "Settle", timeout=2, domain_path=DOMAIN).send(replace(content("en"), language="de"))
    assert sms.messages[0]["text"].startswith(NUDGE_STARTS["en"])
