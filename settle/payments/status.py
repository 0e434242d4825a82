"""Did my payment arrive? Read what the customer said they did (when they paid, whether by bank transfer)
so the answer is about that payment, never a "yes" about an older one."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from settle.arrangements.plans import parse_date
from settle.payments.incoming import PaymentSeen

_TRANSFER = re.compile(r"\b(?:bank|transfer\w*|wire\w*|overschrijving|virement)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PaymentClaim:
    """What the customer said about a payment of theirs: the day (if they said one) and whether by transfer."""

    paid_on: date | None
    by_transfer: bool

    @property
    def said_anything(self) -> bool:
        return self.paid_on is not None or self.by_transfer


def read_claim(text: str, today: date) -> PaymentClaim:
    """"i paid yesterday by bank transfer" → yesterday, by transfer. A weekday means the last one ("on friday")."""
    day = parse_date(text, today)
    if day is not None and day > today:
        day = day - timedelta(days=7) if (day - today).days <= 7 else None
    return PaymentClaim(day, bool(_TRANSFER.search(text or "")))


def arrived_since(received: list[PaymentSeen], day: date, zone: ZoneInfo) -> list[PaymentSeen]:
    """The payments received on or after the day the customer paid (in the company's timezone), newest first."""
    return [payment for payment in received if payment.paid_at.astimezone(zone).date() >= day]
