"""Customers' choices about reminders: opting out on one channel (chat, e-mail, SMS) or on all of them, and back in.

Every choice is a row of its own (when, which channel, from where: the chat, the link in a reminder, or a person
in the console), never overwritten: for each channel the latest choice naming it or "all" decides. The reminder
engine leaves opted-out channels out of a customer's order; a formal notice (a stage with `formal_notice` in
policy/reminders.yml) still goes by e-mail when every channel is opted out, as docs/reminders-opt-out.md explains.

The link in an e-mail or SMS reminder is signed for the customer and the channel it came on; it does not expire
(an old SMS must still let the customer stop) and opens a page that asks before it changes anything, because mail
scanners open every link they see.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from settle.config import Settings
from settle.errors import LinkProblem, UnknownChannel
from settle.models import Customer, OptOutSource, ReminderChoice
from settle.policy import CHANNELS
from settle.signing import link_secret, sign, signature_matches

#: The channel value of a choice that covers every channel.
ALL = "all"
_TOKEN = re.compile(r"^(?P<customer>[0-9]{1,12})\.(?P<channel>[a-z]{3,5})\.(?P<signature>[A-Za-z0-9_-]{20,64})$")
#: Words that name a channel in a message, in English, Dutch and French ("sms'jes", "texto", "courriel" ...).
_CHANNEL_WORDS = {
    "sms": re.compile(r"\b(\w*sms\w*|text\w*|gsm|berichtjes?)\b", re.IGNORECASE),
    "email": re.compile(r"\b(e-?mail\w*|\w*mails?|courriels?|mailtjes?)\b", re.IGNORECASE),
    "chat": re.compile(r"\b(chat\w*|app|appli\w*)\b", re.IGNORECASE),
}


@dataclass(frozen=True)
class Choice:
    """One recorded choice, as the console lists them."""

    channel: str
    opted_out: bool
    source: OptOutSource
    at: datetime
    by: str | None


def _known(channel: str) -> str:
    if channel not in (*CHANNELS, ALL):
        raise UnknownChannel(channel)
    return channel


def record_choice(session: Session, customer_id: int, channel: str, opted_out: bool, source: OptOutSource,
                  now: datetime, agent_id: int | None = None) -> frozenset[str]:
    """Keeps a customer's opt-out (or opt-in) on `channel` ("all" for every one); gives the channels now opted out.

    Raises:
        UnknownChannel: `channel` is none of chat, email, sms or all.
    """
    session.add(ReminderChoice(customer_id=customer_id, channel=_known(channel), opted_out=opted_out,
                               source=OptOutSource(source), agent_id=agent_id, created_at=now))
    session.flush()
    return opted_out_channels(session, [customer_id]).get(customer_id, frozenset())


def opted_out_channels(session: Session, customer_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """For each of these customers who opted out anywhere, the channels whose latest choice (theirs or "all") says no."""
    ids = list(set(customer_ids))
    latest: dict[int, dict[str, bool]] = {}
    for start in range(0, len(ids), 500):  # a bounded IN list, however many customers a run reminds
        rows = session.execute(
            select(ReminderChoice.customer_id, ReminderChoice.channel, ReminderChoice.opted_out)
            .where(ReminderChoice.customer_id.in_(ids[start:start + 500]))
            .order_by(ReminderChoice.created_at, ReminderChoice.id)
        ).all()
        for customer_id, channel, opted_out in rows:
            state = latest.setdefault(customer_id, {})
            for one in CHANNELS if channel == ALL else (channel,):
                state[one] = opted_out
    return {customer_id: frozenset(c for c, out in state.items() if out) for customer_id, state in latest.items()
            if any(state.values())}


def choices(session: Session, customer_id: int) -> list[Choice]:
    """Every choice the customer made, newest first."""
    rows = session.execute(
        select(ReminderChoice).where(ReminderChoice.customer_id == customer_id)
        .order_by(ReminderChoice.created_at.desc(), ReminderChoice.id.desc())
    ).scalars().all()
    return [Choice(row.channel, row.opted_out, OptOutSource(row.source), row.created_at, row.agent.name if row.agent else None)
            for row in rows]


def channels_named(text: str) -> tuple[str, ...]:
    """The channels a message names ("no more SMS please" → sms; "no texts or e-mails" → sms, email), or ("all",)
    when it names none."""
    return tuple(channel for channel, words in _CHANNEL_WORDS.items() if words.search(text or "")) or (ALL,)


# -- the link in a reminder --------------------------------------------------------------------------


def opt_out_link(settings: Settings, customer_id: int, channel: str) -> str:
    """The signed address of the page where the customer stops reminders on `channel` (the one the link came on)."""
    signature = sign(link_secret(settings), "opt-out", customer_id, _known(channel))
    return f"{settings.public_url}/reminders/stop/{customer_id}.{channel}.{signature}"


def customer_of_link(session: Session, settings: Settings, token: str) -> tuple[Customer, str]:
    """The customer and channel an opt-out link was made for.

    Raises:
        LinkProblem: "unknown" for a token that was not signed by Settle (or names nobody).
    """
    found = _TOKEN.match(token or "")
    if found is None or found["channel"] not in CHANNELS or not signature_matches(
            link_secret(settings), found["signature"], "opt-out", int(found["customer"]), found["channel"]):
        raise LinkProblem("unknown")
    customer = session.get(Customer, int(found["customer"]))
    if customer is None:
        raise LinkProblem("unknown")
    return customer, found["channel"]
