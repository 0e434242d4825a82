"""Opting out of reminders: the latest choice per channel decides, the engine leaves opted-out channels out (a formal
notice still goes by e-mail), and e-mail and SMS carry a signed link to stop them. Dates as in test_reminders.py:
Monday 23 November 2026 in Brussels; the policy's review stage (25 days late) is the formal notice."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from settle.db import session_factory
from settle.errors import LinkProblem, SendError, UnknownChannel
from settle.models import OptOutSource
from settle.outreach.opt_outs import (
    channels_named,
    choices,
    customer_of_link,
    opt_out_link,
    opted_out_channels,
    record_choice,
)
from settle.outreach.reminders import content_for, record_attempt, run
from settle.outreach.senders import EmailSender, SmsSender
from tests.unit import test_reminders
from tests.unit.test_reminders import (
    ARRANGEMENTS,
    MONDAY,
    POLICY,
    FakeSender,
    at,
    due_on,
    messages_of,
    new_customer,
    new_invoice,
    queued,
)

#: The reminder tests' fixtures: their settings (link secret, public address) and an empty database on each backend.
settings = test_reminders.settings
empty_database = test_reminders.empty_database

LINK, CHAT, CONSOLE = OptOutSource.LINK, OptOutSource.CHAT, OptOutSource.CONSOLE


def choose(session, customer, channel, opted_out=True, source=CHAT, minutes=0):
    return record_choice(session, customer.id, channel, opted_out, source, at(MONDAY - timedelta(days=1), 9, minutes))


# -- what a choice means ----------------------------------------------------------------------------------------


def test_the_latest_choice_per_channel_decides_and_all_covers_every_channel(session):
    customer = new_customer(session)
    assert choose(session, customer, "sms") == {"sms"}
    assert choose(session, customer, "all", minutes=1) == {"chat", "email", "sms"}
    assert choose(session, customer, "email", opted_out=False, minutes=2) == {"chat", "sms"}  # e-mail back only
    assert choose(session, customer, "all", opted_out=False, minutes=3) == frozenset()
    assert opted_out_channels(session, [customer.id]) == {}  # nothing opted out: not listed


def test_every_choice_is_kept_with_its_moment_channel_and_source(session):
    customer = new_customer(session)
    choose(session, customer, "sms", source=LINK)
    choose(session, customer, "sms", opted_out=False, source=CONSOLE, minutes=5)
    kept = choices(session, customer.id)
    assert [(c.channel, c.opted_out, c.source, c.at) for c in kept] == [
        ("sms", False, CONSOLE, at(MONDAY - timedelta(days=1), 9, 5)),
        ("sms", True, LINK, at(MONDAY - timedelta(days=1), 9, 0)),
    ]


def test_an_unknown_channel_is_refused_and_nothing_is_kept(session):
    customer = new_customer(session)
    with pytest.raises(UnknownChannel):
        choose(session, customer, "pigeon")
    assert choices(session, customer.id) == []


@pytest.mark.parametrize("said, channels", [
    ("no more SMS please", ("sms",)),
    ("stop met die sms'jes", ("sms",)),
    ("arrêtez les rappels par sms", ("sms",)),
    ("plus de textos svp", ("sms",)),
    ("stop texting me", ("sms",)),
    ("stop emailing me reminders", ("email",)),
    ("geen herinneringsmails meer", ("email",)),
    ("plus de rappels par courriel", ("email",)),
    ("no reminders in the chat please", ("chat",)),
    ("stop sending me reminders", ("all",)),
    ("ik wil geen herinneringen meer", ("all",)),
    ("stop the sms and the emails", ("email", "sms")),
])
def test_the_channels_are_read_from_the_customers_words(said, channels):
    assert sorted(channels_named(said)) == sorted(channels)


# -- the engine -------------------------------------------------------------------------------------------------


def test_the_first_message_skips_an_opted_out_channel_for_the_next_in_the_order(session):
    customer = new_customer(session, channel="sms")
    choose(session, customer, "sms")
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    message, = messages_of(session, reminder.id)
    assert (message.channel, message.status) == ("chat", "pending")  # sms preferred, then chat


def test_a_customer_opted_out_everywhere_gets_no_message_but_the_reminder_is_kept(session):
    customer = new_customer(session)
    choose(session, customer, "all")
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=10))
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    assert reminder.stage == "second" and messages_of(session, reminder.id) == []


def test_the_formal_notice_still_goes_by_e_mail_to_a_customer_opted_out_everywhere(session, settings):
    customer = new_customer(session)
    choose(session, customer, "all")
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=25))
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    assert (reminder.stage, reminder.flagged_for_review) == ("review", True)
    message, = messages_of(session, reminder.id)
    assert (message.channel, message.status) == ("email", "pending")
    content = content_for(session, message, settings, at(MONDAY), POLICY)
    assert (content.footer_response, content.opt_out_link) == ("utter_reminder_formal_notice_footer", None)
    text = EmailSender("localhost", 25, "Settle <bills@example.com>").message(content).get_body(("plain",)).get_content()
    assert "formal notice" in text and "stop" not in text.lower()


def test_the_formal_notice_respects_an_opt_out_of_one_channel(session):
    customer = new_customer(session, channel="email")
    choose(session, customer, "email")
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=25))
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    message, = messages_of(session, reminder.id)
    assert message.channel == "chat"


def test_a_formal_notice_to_a_customer_without_e_mail_opted_out_everywhere_is_not_sent(session):
    customer = new_customer(session, email=None)
    choose(session, customer, "all")
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=25))
    reminder, = [r for r in due_on(session, MONDAY) if r.subject_id == invoice.id]
    assert reminder.flagged_for_review and messages_of(session, reminder.id) == []  # the person reviewing writes


def test_fallback_skips_an_opted_out_channel(session):
    customer = new_customer(session)
    choose(session, customer, "email")
    message = queued(session, customer, new_invoice(session, customer, 8000, MONDAY - timedelta(days=1)))
    record_attempt(session, message, SendError("refused", retryable=False), at(MONDAY), POLICY)
    assert [(m.channel, m.status) for m in messages_of(session, message.reminder_id)] == [("chat", "failed"), ("sms", "pending")]


def test_a_message_queued_before_an_opt_out_goes_to_the_next_allowed_channel_or_nowhere(empty_database, settings):
    factory = session_factory(empty_database)
    with factory.begin() as session:
        ann = new_customer(session, first_name="Ann", channel="sms")
        queued(session, ann, new_invoice(session, ann, 8000, MONDAY - timedelta(days=1)), "sms")
        ben = new_customer(session, first_name="Ben", channel="sms", chat=False, email=None)
        queued(session, ben, new_invoice(session, ben, 8000, MONDAY - timedelta(days=1)), "sms")
        choose(session, ann, "sms")
        choose(session, ben, "sms")
    senders = {channel: FakeSender(channel) for channel in ("chat", "email", "sms")}
    summary = run(factory, POLICY, ARRANGEMENTS, senders, settings, at(MONDAY))
    assert senders["sms"].sent == []
    assert [c.values["first_name"] for c in senders["chat"].sent] == ["Ann"]
    assert (summary.fell_back, summary.opted_out) == (1, 1)
    assert "Not sent (opted out of every channel): 1" in summary.lines()


def test_a_run_counts_customers_it_did_not_message_because_they_opted_out(empty_database, settings):
    factory = session_factory(empty_database)
    with factory.begin() as session:
        cas = new_customer(session, first_name="Cas")
        new_invoice(session, cas, 8000, MONDAY - timedelta(days=1))
        choose(session, cas, "all")
    summary = run(factory, POLICY, ARRANGEMENTS, {"chat": FakeSender("chat")}, settings, at(MONDAY))
    assert summary.claimed == {"nudge": 1} and summary.sent == {} and summary.opted_out == 1


# -- the link in e-mail and SMS ---------------------------------------------------------------------------------


def test_e_mail_and_sms_end_with_a_signed_link_to_stop_them_on_that_channel(session, settings):
    customer = new_customer(session, language="nl")
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    email = content_for(session, queued(session, customer, invoice, "email"), settings, at(MONDAY), POLICY)
    assert email.opt_out_link == opt_out_link(settings, customer.id, "email")
    message = EmailSender("localhost", 25, "Settle <bills@example.com>").message(email)
    assert message["List-Unsubscribe"] == f"<{email.opt_out_link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Zet ze hier stop: {email.opt_out_link}" in message.get_body(("plain",)).get_content()
    assert f'<a href="{email.opt_out_link}">' in message.get_body(("html",)).get_content()
    sms = content_for(session, queued(session, customer, invoice, "sms", stage="second"), settings, at(MONDAY), POLICY)
    assert sms.opt_out_link.startswith("https://pay.example/reminders/stop/") and sms.opt_out_link.split(".")[-2] == "sms"


def test_a_long_sms_is_cut_but_never_its_way_to_stop(session, settings):
    customer = new_customer(session)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    content = content_for(session, queued(session, customer, invoice, "sms"), settings, at(MONDAY), POLICY)
    content = replace(content, values={**content.values, "first_name": "A" * 700})  # a text far over four SMS

    class Http:
        def request(self, method, url, **kwargs):
            self.sent = kwargs["json"]["text"]
            return type("Answer", (), {"status_code": 202})()

    http = Http()
    SmsSender("https://sms.example", "key", "Settle", http=http).send(content)  # type: ignore[arg-type]
    assert len(http.sent) <= 612 and http.sent.endswith(f"No more SMS reminders? {content.opt_out_link}")


def test_the_chat_reminder_has_no_link_to_stop_it(session, settings):
    customer = new_customer(session)
    invoice = new_invoice(session, customer, 8000, MONDAY - timedelta(days=1))
    content = content_for(session, queued(session, customer, invoice, "chat"), settings, at(MONDAY), POLICY)
    assert (content.footer_response, content.opt_out_link) == (None, None)


def test_an_opt_out_link_opens_only_with_settles_signature(session, settings):
    customer = new_customer(session)
    link = opt_out_link(settings, customer.id, "sms")
    token = link.rsplit("/", 1)[1]
    assert customer_of_link(session, settings, token) == (customer, "sms")
    forged_channel = token.replace(".sms.", ".email.")
    other_customer = f"{customer.id + 1}{token[len(str(customer.id)):]}"
    other_secret = opt_out_link(replace(settings, link_secret="another-secret"), customer.id, "sms").rsplit("/", 1)[1]
    for bad in (forged_channel, other_customer, other_secret, "", "1.sms.x", token + "x"):
        with pytest.raises(LinkProblem):
            customer_of_link(session, settings, bad)
