"""The reminder senders against local fakes over real sockets: what arrives, and how each failure is reported."""
from __future__ import annotations

import socket
import time
from contextlib import contextmanager
from dataclasses import replace
from email.utils import parseaddr
from pathlib import Path

import pytest

from settle.config import Settings
from settle.errors import SendError
from settle.outreach.senders import ChatSender, EmailSender, ReminderContent, Sender, SmsSender, senders_from, sms_text
from tests.fakes.rasa import running_fake_rasa
from tests.fakes.sms import running_fake_sms
from tests.fakes.smtp import running_smtp_server

RASA_TOKEN = "rasa-token-0123456789abcdef"
SMS_KEY = "sms-key-abcdef0123456789"
WRONG = "wrong-secret-9876543210"
LINK = "https://pay.settle.example/p/abc123?x=1&y=2"
#: aiosmtpd warns that AUTH without TLS is unsafe: true, and fine on loopback in a test.
NO_TLS_AUTH_WARNING = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
DOMAIN = """
responses:
  utter_reminder_nudge:
    - text: "Hi {first_name}, bill {invoice_number} of {amount} was due on {due_date}. Pay here: {link} Reply if it's hard <now>."
  utter_reminder_no_link:
    - text: "Hi {first_name}, bill {invoice_number} is open."
  utter_reminder_long:
    - text: "{long} {link}"
  utter_reminder_email_subject:
    - text: "Reminder: bill {invoice_number}"
  utter_reminder_bad_subject:
    - text: "Reminder {nowhere}"
"""


@pytest.fixture
def domain(tmp_path) -> Path:
    path = tmp_path / "domain.yml"
    path.write_text(DOMAIN, encoding="utf-8")
    return path


def content(**changes) -> ReminderContent:
    base = ReminderContent(
        customer_name="Ann Peeters",
        email="ann@example.test",
        phone="+32470123456",
        conversation_id="conv-ann-1",
        response="utter_reminder_nudge",
        values={
            "first_name": "Ann",
            "invoice_number": "INV-2026-001234",
            "amount": "€ 84.20",
            "due_date": "21 November 2026",
            "link": LINK,
            "stage": "nudge",
            "customer_id": "17",
        },
        reminder_token="signed.reminder.token",
    )
    return replace(base, **changes)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def silent_server():
    """A port that accepts connections (the kernel's backlog) but never answers: every read times out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def assert_clean(error: SendError, *secrets: str) -> None:
    message = str(error)
    assert "\n" not in message
    for secret in secrets:
        assert secret not in message


# --- chat (Rasa) -----------------------------------------------------------------------------------------


@pytest.fixture
def rasa():
    with running_fake_rasa(RASA_TOKEN, intents={"EXTERNAL_reminder", "greet"}) as fake:
        yield fake


def test_chat_triggers_the_reminder_intent_in_the_conversation(rasa):
    ChatSender(rasa.url, RASA_TOKEN, timeout=2).send(content())
    [(conversation_id, body)] = rasa.triggered
    assert conversation_id == "conv-ann-1"
    assert body["name"] == "EXTERNAL_reminder"
    assert body["entities"] == {
        "first_name": "Ann",
        "invoice_number": "INV-2026-001234",
        "amount": "€ 84.20",
        "due_date": "21 November 2026",
        "link": LINK,
        "stage": "nudge",
        "customer_id": "17",
        "reminder_token": "signed.reminder.token",
        "reminder_response": "utter_reminder_nudge",
    }
    [request] = rasa.requests
    assert request.method == "POST"
    assert request.path == "/conversations/conv-ann-1/trigger_intent"
    assert request.query == {"output_channel": "latest", "token": RASA_TOKEN}
    assert request.headers["Content-Type"] == "application/json"


def test_chat_sends_the_conversation_id_as_rasa_reads_it(rasa):
    """Rasa 3.6 doesn't percent-decode the id, so it goes unencoded (slashes, @, + and : included)."""
    ChatSender(rasa.url + "/", RASA_TOKEN, timeout=2).send(content(conversation_id="web/ann@x.org+1:2"))
    assert rasa.triggered[0][0] == "web/ann@x.org+1:2"
    assert rasa.requests[0].path == "/conversations/web/ann@x.org+1:2/trigger_intent"


@pytest.mark.parametrize("conversation_id", ["a b", "ä", "a?b", "a#b", "a%20b", "/a"])
def test_chat_refuses_an_id_rasa_would_read_as_another_conversation(rasa, conversation_id):
    with pytest.raises(SendError, match="can't address") as raised:
        ChatSender(rasa.url, RASA_TOKEN).send(content(conversation_id=conversation_id))
    assert raised.value.retryable is False
    assert rasa.requests == []


def test_chat_token_reaches_rasa_intact_whatever_its_characters():
    token = "tok+en/with=odd&chars"
    with running_fake_rasa(token) as rasa:
        ChatSender(rasa.url, token, timeout=2).send(content())
        assert rasa.requests[0].query["token"] == token


def test_chat_with_a_wrong_token_is_not_retryable_and_hides_the_token(rasa):
    with pytest.raises(SendError) as raised:
        ChatSender(rasa.url, WRONG, timeout=2).send(content())
    assert raised.value.retryable is False
    assert "401" in str(raised.value) and "not authenticated" in str(raised.value)
    assert_clean(raised.value, WRONG, RASA_TOKEN)
    assert rasa.triggered == []


def test_chat_to_a_domain_without_the_intent_is_not_retryable():
    with running_fake_rasa(RASA_TOKEN, intents={"greet"}) as rasa:
        with pytest.raises(SendError, match="404") as raised:
            ChatSender(rasa.url, RASA_TOKEN, timeout=2).send(content())
    assert raised.value.retryable is False


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (502, True), (503, True), (429, True), (409, True), (400, False), (403, False)])
def test_chat_refusals_are_retryable_only_when_they_may_pass(rasa, status, retryable):
    rasa.fail_next(status)
    with pytest.raises(SendError) as raised:
        ChatSender(rasa.url, RASA_TOKEN, timeout=2).send(content())
    assert raised.value.retryable is retryable
    assert str(status) in str(raised.value)
    assert_clean(raised.value, RASA_TOKEN)


def test_chat_with_rasa_down_is_retryable_and_hides_the_token():
    with pytest.raises(SendError, match="could not be reached") as raised:
        ChatSender(f"http://127.0.0.1:{free_port()}", RASA_TOKEN, timeout=2).send(content())
    assert raised.value.retryable is True
    assert_clean(raised.value, RASA_TOKEN)


def test_chat_that_gets_no_answer_in_time_is_retryable():
    with silent_server() as port:
        started = time.monotonic()
        with pytest.raises(SendError, match="did not answer in time") as raised:
            ChatSender(f"http://127.0.0.1:{port}", RASA_TOKEN, timeout=0.1).send(content())
    assert raised.value.retryable is True
    assert time.monotonic() - started < 2
    assert_clean(raised.value, RASA_TOKEN)


@pytest.mark.parametrize("conversation_id", [None, ""])
def test_chat_without_a_conversation_is_not_retryable_and_calls_nobody(rasa, conversation_id):
    with pytest.raises(SendError, match="no chat conversation") as raised:
        ChatSender(rasa.url, RASA_TOKEN).send(content(conversation_id=conversation_id))
    assert raised.value.retryable is False
    assert rasa.requests == []


def test_chat_without_a_token_is_not_retryable_and_calls_nobody(rasa):
    with pytest.raises(SendError, match="RASA_API_TOKEN") as raised:
        ChatSender(rasa.url, None).send(content())
    assert raised.value.retryable is False
    assert rasa.requests == []


# --- e-mail (SMTP) ---------------------------------------------------------------------------------------


@pytest.fixture
def smtp():
    with running_smtp_server() as server:
        yield server


def email_sender(smtp, domain, **options) -> EmailSender:
    return EmailSender(smtp.host, smtp.port, "Settle Energy <billing@settle.example>", timeout=2, domain_path=domain, **options)


def test_email_arrives_with_subject_addresses_and_both_parts(smtp, domain):
    email_sender(smtp, domain).send(content())
    [message] = smtp.messages
    assert message["Subject"] == "Reminder: bill INV-2026-001234"
    assert parseaddr(message["To"]) == ("Ann Peeters", "ann@example.test")
    assert parseaddr(message["From"]) == ("Settle Energy", "billing@settle.example")
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@settle.example>")
    assert message["Date"] and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    [delivery] = smtp.delivered
    assert delivery.mail_from == "billing@settle.example"
    assert delivery.rcpt_tos == ["ann@example.test"]


def test_email_plain_text_is_the_chat_text(smtp, domain):
    email_sender(smtp, domain).send(content())
    plain = smtp.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert plain.strip() == (
        f"Hi Ann, bill INV-2026-001234 of € 84.20 was due on 21 November 2026. Pay here: {LINK} Reply if it's hard <now>."
    )


def test_email_html_is_the_same_text_escaped_with_a_clickable_link(smtp, domain):
    email_sender(smtp, domain).send(content())
    page = smtp.messages[0].get_body(preferencelist=("html",)).get_content()
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in page
    assert "<title>Reminder: bill INV-2026-001234</title>" in page
    escaped_link = LINK.replace("&", "&amp;")
    assert f'<a href="{escaped_link}">{escaped_link}</a>' in page
    assert "Reply if it&#x27;s hard &lt;now&gt;." in page
    assert "<now>" not in page
    assert "Hi Ann, bill INV-2026-001234 of € 84.20 was due on 21 November 2026." in page


def test_email_html_adds_the_link_when_the_text_has_none(smtp, domain):
    email_sender(smtp, domain).send(content(response="utter_reminder_no_link"))
    page = smtp.messages[0].get_body(preferencelist=("html",)).get_content()
    assert f'<a href="{LINK.replace("&", "&amp;")}">' in page


def test_email_html_never_links_to_anything_but_http(smtp, domain):
    values = {**content().values, "link": "javascript:alert(1)"}
    email_sender(smtp, domain).send(content(values=values))
    page = smtp.messages[0].get_body(preferencelist=("html",)).get_content()
    assert "<a " not in page and "javascript:alert(1)" in page


@NO_TLS_AUTH_WARNING
def test_email_logs_in_when_credentials_are_set(domain):
    with running_smtp_server(credentials=("settle", "s3cret-pass")) as smtp:
        email_sender(smtp, domain, username="settle", password="s3cret-pass").send(content())
        assert len(smtp.messages) == 1


@NO_TLS_AUTH_WARNING
def test_email_with_a_wrong_password_is_not_retryable_and_hides_it(domain):
    with running_smtp_server(credentials=("settle", "s3cret-pass")) as smtp:
        with pytest.raises(SendError, match="535") as raised:
            email_sender(smtp, domain, username="settle", password="wrong-pass-123").send(content())
        assert smtp.messages == []
    assert raised.value.retryable is False
    assert_clean(raised.value, "wrong-pass-123", "s3cret-pass")


def test_email_to_a_refused_recipient_is_not_retryable(smtp, domain):
    smtp.refuse("ann@example.test")
    with pytest.raises(SendError, match="refused the recipient: 550") as raised:
        email_sender(smtp, domain).send(content())
    assert raised.value.retryable is False
    assert smtp.messages == []


def test_email_to_a_temporarily_refused_recipient_is_retryable(smtp, domain):
    smtp.refuse("ann@example.test", "450 4.2.0 Greylisted, try again later")
    with pytest.raises(SendError, match="450") as raised:
        email_sender(smtp, domain).send(content())
    assert raised.value.retryable is True


@pytest.mark.parametrize(("reply", "retryable"), [("451 4.3.0 Try again later", True), ("554 5.6.0 Message rejected", False)])
def test_email_refused_at_data_is_retryable_only_for_4xx(smtp, domain, reply, retryable):
    smtp.fail_next(reply)
    with pytest.raises(SendError, match=reply[:3]) as raised:
        email_sender(smtp, domain).send(content())
    assert raised.value.retryable is retryable


def test_email_with_the_server_down_is_retryable(domain):
    sender = EmailSender("127.0.0.1", free_port(), "billing@settle.example", timeout=2, domain_path=domain)
    with pytest.raises(SendError, match="could not be reached") as raised:
        sender.send(content())
    assert raised.value.retryable is True


def test_email_to_a_server_that_never_greets_is_retryable(domain):
    with silent_server() as port:
        sender = EmailSender("127.0.0.1", port, "billing@settle.example", timeout=0.1, domain_path=domain)
        with pytest.raises(SendError) as raised:
            sender.send(content())
    assert raised.value.retryable is True


def test_email_with_starttls_against_a_server_without_it_is_not_retryable(smtp, domain):
    with pytest.raises(SendError, match="STARTTLS") as raised:
        email_sender(smtp, domain, starttls=True).send(content())
    assert raised.value.retryable is False
    assert smtp.messages == []


@pytest.mark.parametrize("email", [None, ""])
def test_email_without_an_address_is_not_retryable_and_connects_nowhere(domain, email):
    sender = EmailSender("127.0.0.1", free_port(), "billing@settle.example", domain_path=domain)
    with pytest.raises(SendError, match="no e-mail address") as raised:
        sender.send(content(email=email))
    assert raised.value.retryable is False


def test_email_with_a_header_breaking_address_is_not_retryable(smtp, domain):
    with pytest.raises(SendError, match="headers") as raised:
        email_sender(smtp, domain).send(content(email="ann@example.test\r\nBcc: eve@example.test"))
    assert raised.value.retryable is False
    assert smtp.messages == []


def test_email_whose_subject_lacks_a_value_is_not_retryable(smtp, domain):
    with pytest.raises(SendError, match="nowhere") as raised:
        email_sender(smtp, domain).send(content(subject_response="utter_reminder_bad_subject"))
    assert raised.value.retryable is False
    assert smtp.messages == []


# --- SMS -------------------------------------------------------------------------------------------------


@pytest.fixture
def sms():
    with running_fake_sms(SMS_KEY) as fake:
        yield fake


def sms_sender(sms, domain, key: str | None = SMS_KEY, **options) -> SmsSender:
    return SmsSender(sms.url, key, "Settle", timeout=2, domain_path=domain, **options)


def test_sms_posts_the_chat_text_with_the_bearer_key(sms, domain):
    sms_sender(sms, domain).send(content())
    [message] = sms.messages
    assert message["from"] == "Settle"
    assert message["to"] == "+32470123456"
    assert message["text"] == (
        f"Hi Ann, bill INV-2026-001234 of € 84.20 was due on 21 November 2026. Pay here: {LINK} Reply if it's hard <now>."
    )
    assert message["id"].startswith("sms_") and message["status"] == "queued"
    [request] = sms.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["Authorization"] == f"Bearer {SMS_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert set(request.body) == {"from", "to", "text"}


def test_a_long_sms_is_cut_at_a_word_and_still_accepted(sms, domain):
    long = " ".join(["word"] * 200)
    sms_sender(sms, domain).send(content(response="utter_reminder_long", values={**content().values, "long": long}))
    text = sms.messages[0]["text"]
    assert len(text) <= 612
    assert text.endswith("word…")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("short text", "short text"),
        ("a" * 612, "a" * 612),
        ("word " * 150, ("word " * 122).rstrip() + "…"),
        ("x" * 700, "x" * 611 + "…"),  # no space to cut at: cut hard rather than lose most of the text
    ],
)
def test_sms_text_cuts_only_what_is_too_long(text, expected):
    assert sms_text(text) == expected
    assert len(sms_text(text)) <= 612


def test_sms_with_a_wrong_key_is_not_retryable_and_hides_the_key(sms, domain):
    with pytest.raises(SendError, match="401") as raised:
        sms_sender(sms, domain, key=WRONG).send(content())
    assert raised.value.retryable is False
    assert "invalid API key" in str(raised.value)
    assert_clean(raised.value, WRONG, SMS_KEY)
    assert sms.messages == []


def test_sms_the_service_cannot_send_is_not_retryable(sms, domain):
    with pytest.raises(SendError, match="422") as raised:
        SmsSender(sms.url, SMS_KEY, " ", timeout=2, domain_path=domain).send(content())
    assert raised.value.retryable is False
    assert "'from' is required" in str(raised.value)


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (404, False)])
def test_sms_refusals_are_retryable_only_when_they_may_pass(sms, domain, status, retryable):
    sms.fail_next(status)
    with pytest.raises(SendError) as raised:
        sms_sender(sms, domain).send(content())
    assert raised.value.retryable is retryable
    assert str(status) in str(raised.value)
    assert_clean(raised.value, SMS_KEY)
    assert sms.messages == []


def test_sms_after_a_failure_goes_through(sms, domain):
    sms.fail_next(503)
    with pytest.raises(SendError):
        sms_sender(sms, domain).send(content())
    sms_sender(sms, domain).send(content())
    assert len(sms.messages) == 1


def test_sms_with_the_service_down_is_retryable(domain):
    with pytest.raises(SendError, match="could not be reached") as raised:
        SmsSender(f"http://127.0.0.1:{free_port()}/v1/messages", SMS_KEY, "Settle", timeout=2, domain_path=domain).send(content())
    assert raised.value.retryable is True
    assert_clean(raised.value, SMS_KEY)


def test_sms_that_gets_no_answer_in_time_is_retryable(domain):
    with silent_server() as port:
        with pytest.raises(SendError, match="did not answer in time") as raised:
            SmsSender(f"http://127.0.0.1:{port}/v1/messages", SMS_KEY, "Settle", timeout=0.1, domain_path=domain).send(content())
    assert raised.value.retryable is True


@pytest.mark.parametrize("phone", [None, ""])
def test_sms_without_a_phone_is_not_retryable_and_calls_nobody(sms, domain, phone):
    with pytest.raises(SendError, match="no mobile number") as raised:
        sms_sender(sms, domain).send(content(phone=phone))
    assert raised.value.retryable is False
    assert sms.requests == []


def test_sms_without_a_key_is_not_retryable_and_calls_nobody(sms, domain):
    with pytest.raises(SendError, match="SETTLE_SMS_API_KEY") as raised:
        sms_sender(sms, domain, key=None).send(content())
    assert raised.value.retryable is False
    assert sms.requests == []


def test_sms_whose_text_lacks_a_value_is_not_retryable_and_calls_nobody(sms, domain):
    values = {key: value for key, value in content().values.items() if key != "amount"}
    with pytest.raises(SendError, match="'amount'") as raised:
        sms_sender(sms, domain).send(content(values=values))
    assert raised.value.retryable is False
    assert sms.requests == []


# --- from the settings -----------------------------------------------------------------------------------


def test_senders_from_settings_builds_one_sender_per_channel(monkeypatch):
    monkeypatch.setenv("SETTLE_RASA_URL", "http://rasa.internal:5005/")
    monkeypatch.setenv("RASA_API_TOKEN", "tok")
    monkeypatch.setenv("SETTLE_SMTP_HOST", "mail.internal")
    monkeypatch.setenv("SETTLE_SMTP_PORT", "2525")
    monkeypatch.setenv("SETTLE_SMTP_STARTTLS", "true")
    monkeypatch.setenv("SETTLE_SMTP_USERNAME", "settle")
    monkeypatch.setenv("SETTLE_SMS_API_KEY", "key")
    senders = senders_from(Settings.from_environment())
    assert set(senders) == {"chat", "email", "sms"}
    assert all(sender.channel == channel for channel, sender in senders.items())
    chat, email, sms = senders["chat"], senders["email"], senders["sms"]
    assert isinstance(chat, ChatSender) and (chat.rasa_url, chat.api_token) == ("http://rasa.internal:5005", "tok")
    assert isinstance(email, EmailSender)
    assert (email.host, email.port, email.starttls, email.username) == ("mail.internal", 2525, True, "settle")
    assert isinstance(sms, SmsSender) and (sms.api_key, sms.sender) == ("key", "Settle")


def test_every_sender_fits_the_protocol():
    def channel_of(sender: Sender) -> str:
        return sender.channel

    assert channel_of(ChatSender("http://x", None)) == "chat"
    assert channel_of(EmailSender("x", 25, "a@b.c")) == "email"
    assert channel_of(SmsSender("http://x", None, "S")) == "sms"
