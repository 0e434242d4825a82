"""The three ways a reminder reaches a customer: their open chat (Rasa), e-mail (SMTP) and SMS (an HTTP API).

Each sender sends one ReminderContent or raises SendError. `retryable` tells the reminder engine whether
the same channel may work later (no answer, a timeout, a 5xx or 429, a temporary SMTP 4xx) or will refuse
again until someone changes something (a 4xx, a refused recipient, no address, no credentials). Messages
are one line and never contain a token, key or password.
"""
from __future__ import annotations

import html
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from settle.errors import SendError, TextError
from settle.outreach.texts import DEFAULT_DOMAIN_FILE, render
from settle.signing import rasa_api_token

#: Refusals that may pass by themselves: a request timeout and rate limiting (and every 5xx).
RETRYABLE_STATUSES = frozenset({408, 429})
#: Rasa answers 409 Conflict while no model is loaded yet, e.g. just after it started.
RASA_RETRYABLE_STATUSES = RETRYABLE_STATUSES | {409}

#: Conversation ids Rasa's HTTP API can address: Rasa 3.6 (Sanic) does not percent-decode the id in
#: the path, so only characters that travel unencoded reach the right conversation.
CONVERSATION_ID = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-][A-Za-z0-9._~!$&'()*+,;=:@/-]*")

#: Four concatenated SMS segments of 153 GSM-7 characters; a longer text is cut at a word.
SMS_MAX_CHARS = 612



@dataclass(frozen=True, kw_only=True)
class ReminderContent:
    """One reminder for one customer: where to reach them, which response to say, and its values."""

    customer_name: str
    email: str | None
    phone: str | None
    conversation_id: str | None
    response: str  # the stage's response name in domain.yml, e.g. utter_reminder_nudge
    subject_response: str = "utter_reminder_email_subject"
    values: dict[str, str]  # invoice_number, amount, due_date, link, stage, first_name…
    reminder_token: str
    #: The customer's language (customers.language): the e-mail and SMS use that variation of the texts.
    language: str = "en"
    #: The line e-mail and SMS end with (not the chat, where the customer can just say so): how to stop these
    #: reminders, with `opt_out_link`; or, for a formal notice sent despite an opt-out, why it still came.
    footer_response: str | None = None
    opt_out_link: str | None = None


class Sender(Protocol):
    channel: str

    def send(self, content: ReminderContent) -> None:
        """Sends the reminder, or raises SendError."""


class ChatSender:
    """Puts the reminder in the customer's open chat through Rasa's HTTP API (`rasa run --enable-api --auth-token`)."""

    channel = "chat"
    intent = "EXTERNAL_reminder"

    def __init__(self, rasa_url: str, api_token: str | None, timeout: float = 10, http: requests.Session | None = None) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.api_token = api_token
        self.timeout = timeout
        self.http = http or requests.Session()

    def send(self, content: ReminderContent) -> None:
        """Triggers EXTERNAL_reminder in the conversation; Rasa answers on the channel the customer last used."""
        if not content.conversation_id:
            raise SendError("no chat conversation to remind the customer in", retryable=False)
        trigger_intent(
            self.http, self.rasa_url, self.api_token, content.conversation_id, self.intent,
            {**content.values, "reminder_token": content.reminder_token, "reminder_response": content.response},
            purpose="trigger the reminder", timeout=self.timeout,
        )


def trigger_intent(
    http: requests.Session,
    rasa_url: str,
    api_token: str | None,
    conversation_id: str,
    intent: str,
    entities: dict | None = None,
    purpose: str = "reach the chat",
    timeout: float = 10,
) -> None:
    """Triggers one of Settle's external intents in a conversation through Rasa's HTTP API; what the
    bot says goes to the channel the customer last used (their open chat).

    Raises:
        SendError: the conversation can't be addressed, no token is set, or Rasa did not take it.
    """
    _check_addressable(conversation_id, api_token)
    _post(
        http,
        f"{rasa_url.rstrip('/')}/conversations/{conversation_id}/trigger_intent",
        service="Rasa",
        purpose=f"{purpose} in conversation {conversation_id}",
        secret=api_token,
        timeout=timeout,
        retryable_statuses=RASA_RETRYABLE_STATUSES,
        params={"output_channel": "latest", "token": api_token},
        json={"name": intent, "entities": entities or {}},
    )


def conversation_events(
    http: requests.Session, rasa_url: str, api_token: str | None, conversation_id: str, timeout: float = 10
) -> list[dict]:
    """Every event of a conversation (all its sessions) through Rasa's HTTP API, as its tracker store keeps them.

    Raises:
        SendError: the conversation can't be addressed, no token is set, or Rasa did not answer with a tracker.
    """
    _check_addressable(conversation_id, api_token)
    response = _request(
        http, "get", f"{rasa_url.rstrip('/')}/conversations/{conversation_id}/tracker", service="Rasa",
        purpose=f"read conversation {conversation_id}", secret=api_token or "", timeout=timeout,
        retryable_statuses=RASA_RETRYABLE_STATUSES, params={"include_events": "ALL", "token": api_token},
    )
    try:
        events = response.json().get("events")
    except (ValueError, AttributeError):
        events = None
    if not isinstance(events, list):
        raise SendError(f"Rasa answered without the events of conversation {conversation_id}", retryable=True)
    return [event for event in events if isinstance(event, dict)]


def _check_addressable(conversation_id: str, api_token: str | None) -> None:
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise SendError(
            f"the chat conversation id {conversation_id[:80]!r} has characters Rasa's HTTP API can't address",
            retryable=False,
        )
    if not api_token:
        raise SendError("no Rasa API token is set (RASA_API_TOKEN), so the chat can't be reached", retryable=False)


class EmailSender:
    """Sends the reminder by e-mail over SMTP: the chat text as plain text, and the same text as simple HTML."""

    channel = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10,
        domain_path: str | Path = DEFAULT_DOMAIN_FILE,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.domain_path = domain_path

    def send(self, content: ReminderContent) -> None:
        """Delivers one e-mail; with starttls the server's certificate must be trusted by the system."""
        if not content.email:
            raise SendError("the customer has no e-mail address", retryable=False)
        message = self.message(content)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message, from_addr=parseaddr(self.sender)[1], to_addrs=[content.email])
        except (OSError, smtplib.SMTPException) as error:
            raise self._error(error) from error

    def message(self, content: ReminderContent) -> EmailMessage:
        """The e-mail: plain text first, HTML as the preferred alternative, with the link as a real link."""
        text = _text(content.response, content.values, self.domain_path, content.language)
        footer = _footer(content, self.domain_path)
        if footer:
            text = f"{text}\n\n{footer}"
        subject = " ".join(_text(content.subject_response, content.values, self.domain_path, content.language).split())
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "settle.invalid"
        message = EmailMessage()
        try:
            message["Subject"] = subject
            message["From"] = self.sender
            message["To"] = formataddr((content.customer_name or "", content.email or ""))
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = make_msgid(domain=domain)
            message["Auto-Submitted"] = "auto-generated"
            if content.opt_out_link:  # the mail program's own "unsubscribe" button, in one click (RFC 8058)
                message["List-Unsubscribe"] = f"<{content.opt_out_link}>"
                message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        except (ValueError, TypeError) as error:
            raise SendError(f"the e-mail headers can't be written: {error}", retryable=False) from None
        message.set_content(text)
        message.add_alternative(self._html(text, subject, [content.values.get("link"), content.opt_out_link],
                                           content.language), subtype="html")
        return message

    def _html(self, text: str, subject: str, links: list[str | None], language: str) -> str:
        """The same text, escaped, in a plain readable page; the links become <a>s (only http and https)."""
        body = html.escape(text)
        for link in links:
            if not link or urlsplit(link).scheme not in ("http", "https"):
                continue
            anchor = f'<a href="{html.escape(link)}">{html.escape(link)}</a>'
            if html.escape(link) in body:
                body = body.replace(html.escape(link), anchor)
            else:
                body += "\n\n" + anchor
        paragraphs = "\n".join("<p>" + part.strip().replace("\n", "<br>\n") + "</p>" for part in body.split("\n\n") if part.strip())
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{html.escape(language)}">\n'
            '<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(subject)}</title>\n</head>\n"
            '<body style="margin:0; padding:16px; font-family:Arial, Helvetica, sans-serif; font-size:16px; line-height:1.5; color:#1a1a1a; background:#ffffff;">\n'
            f'<div role="article" aria-label="{html.escape(subject)}" style="max-width:40em;">\n'
            f"{paragraphs}\n"
            "</div>\n</body>\n</html>\n"
        )

    def _error(self, error: Exception) -> SendError:
        where = f"the mail server {self.host}:{self.port}"
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            answers = list(error.recipients.values())
            retryable = bool(answers) and all(400 <= code < 500 for code, _ in answers)
            detail = "; ".join(f"{code} {_decode(reply)}" for code, reply in answers)
            return self._scrubbed(f"{where} refused the recipient: {detail}", retryable)
        if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
            return self._scrubbed(f"{where} could not be reached or hung up: {type(error).__name__}", True)
        if isinstance(error, smtplib.SMTPResponseException):
            retryable = 400 <= error.smtp_code < 500
            return self._scrubbed(f"{where} refused the e-mail: {error.smtp_code} {_decode(error.smtp_error)}", retryable)
        if isinstance(error, smtplib.SMTPNotSupportedError):
            return self._scrubbed(f"{where} does not support what Settle asked for: {error}", False)
        if isinstance(error, smtplib.SMTPException):
            return self._scrubbed(f"{where} could not take the e-mail: {error}", False)
        if isinstance(error, ssl.SSLCertVerificationError):
            return self._scrubbed(f"{where} has a TLS certificate that can't be trusted: {error.verify_message}", False)
        return self._scrubbed(f"{where} could not be reached: {type(error).__name__}", True)

    def _scrubbed(self, message: str, retryable: bool) -> SendError:
        return SendError(_one_line(message, self.password), retryable)


class SmsSender:
    """Sends the reminder as an SMS through an HTTP API: POST {"from", "to", "text"} with a bearer key."""

    channel = "sms"

    def __init__(
        self,
        api_url: str,
        api_key: str | None,
        sender: str,
        timeout: float = 10,
        http: requests.Session | None = None,
        domain_path: str | Path = DEFAULT_DOMAIN_FILE,
    ) -> None:
        self.api_url = api_url
        self.api_key = api_key
        self.sender = sender
        self.timeout = timeout
        self.http = http or requests.Session()
        self.domain_path = domain_path

    def send(self, content: ReminderContent) -> None:
        """Sends one SMS; the provider accepting it (any 2xx) counts as sent."""
        if not content.phone:
            raise SendError("the customer has no mobile number", retryable=False)
        if not self.api_key:
            raise SendError("no SMS API key is set (SETTLE_SMS_API_KEY), so no SMS can be sent", retryable=False)
        footer = _footer(content, self.domain_path)
        room = SMS_MAX_CHARS - (len(footer) + 1 if footer else 0)  # the way to stop is never cut off
        text = sms_text(_text(content.response, content.values, self.domain_path, content.language), room)
        if footer:
            text = f"{text}\n{footer}"
        _post(
            self.http,
            self.api_url,
            service="The SMS service",
            purpose="send the SMS",
            secret=self.api_key,
            timeout=self.timeout,
            headers={"Authorization": f"Bearer {self.api_key}"},
            json={"from": self.sender, "to": content.phone, "text": text},
        )


def sms_text(text: str, limit: int = SMS_MAX_CHARS) -> str:
    """The text as is when it fits, else cut at the last word boundary before the limit, ending in "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    if boundary > limit // 2:
        cut = cut[:boundary]
    return cut.rstrip() + "…"


def senders_from(settings: Any) -> dict[str, Sender]:
    """The three senders configured from Settings, by channel name."""
    senders: list[Sender] = [
        ChatSender(settings.rasa_url, rasa_api_token(settings)),
        EmailSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        ),
        SmsSender(settings.sms_api_url, settings.sms_api_key, settings.sms_sender),
    ]
    return {sender.channel: sender for sender in senders}


def _text(response: str, values: Mapping[str, Any], domain_path: str | Path, language: str) -> str:
    """The response's text in the customer's language, or a SendError: a missing wording won't appear by trying again."""
    try:
        return render(response, values, domain_path, language)
    except TextError as error:
        raise SendError(f"the reminder text can't be made: {error}", retryable=False) from None


def _footer(content: ReminderContent, domain_path: str | Path) -> str:
    """The reminder's last line in the customer's language, or "" when it has none."""
    if not content.footer_response:
        return ""
    return _text(content.footer_response, {**content.values, "opt_out_link": content.opt_out_link or ""}, domain_path,
                 content.language)


def _post(http: requests.Session, url: str, **kwargs: Any) -> None:
    """One POST; any 2xx is success, everything else a SendError that never contains `secret`."""
    _request(http, "post", url, **kwargs)


def _request(
    http: requests.Session,
    method: str,
    url: str,
    *,
    service: str,
    purpose: str,
    secret: str,
    timeout: float,
    retryable_statuses: frozenset[int] = RETRYABLE_STATUSES,
    **kwargs: Any,
) -> requests.Response:
    """One request; a 2xx answer is returned, everything else is a SendError that never contains `secret`."""
    try:
        response = http.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.Timeout as error:
        raise SendError(_one_line(f"{service} did not answer in time to {purpose}: {type(error).__name__}", secret), retryable=True) from None
    except requests.RequestException as error:
        raise SendError(_one_line(f"{service} could not be reached to {purpose}: {type(error).__name__}", secret), retryable=True) from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    retryable = status >= 500 or status in retryable_statuses
    raise SendError(_one_line(f"{service} refused to {purpose}: {_refusal(response)}", secret), retryable=retryable)


def _refusal(response: requests.Response) -> str:
    """The status and what the service said, e.g. "401 Unauthorized — User is not authenticated."."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    detail = None
    if isinstance(problem, dict):
        for key in ("message", "detail", "error", "title"):
            if isinstance(problem.get(key), str) and problem[key]:
                detail = problem[key]
                break
        else:
            nested = problem.get("error")
            if isinstance(nested, dict) and isinstance(nested.get("message"), str):
                detail = nested["message"]
    answer = f"{response.status_code} {response.reason or ''}".strip()
    return answer + (f" — {detail[:200]}" if detail else "")


def _decode(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _one_line(message: str, secret: str | None) -> str:
    message = " ".join(message.split())
    return message.replace(secret, "***") if secret else message
