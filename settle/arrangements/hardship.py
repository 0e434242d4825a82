"""Financial difficulty: note only that a customer said so and when, and point them to the public
social-welfare service of their municipality (CPAS in Wallonia, OCMW in Flanders, CPAS/OCMW in Brussels).

The contacts come from `settle/data/social_services.csv`, read once per process. Its columns are
postcode, municipality, name, phone, address, web; every cell is filled. A customer is matched by
postcode, then by municipality name, and otherwise gets the row whose postcode is `*`: a general
pointer that fits anyone. The rows shipped with Settle are demo values for the demo municipalities
(phone numbers of zeros, addresses on "Voorbeeldstraat"/"Rue de l'Exemple", web addresses on the
reserved `.example` domain) so that no made-up contact passes for a real one. Operators replace the
file with the real contacts of the municipalities they serve, keeping the header and the `*` row.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from settle.models import HardshipReport

SOCIAL_SERVICES_FILE = "data/social_services.csv"
#: The postcode of the row that fits every customer no other row matches.
FALLBACK_POSTCODE = "*"
COLUMNS = ("postcode", "municipality", "name", "phone", "address", "web")


@dataclass(frozen=True)
class WelfareService:
    name: str
    phone: str
    address: str
    web: str


@dataclass(frozen=True)
class _Directory:
    by_postcode: dict[str, WelfareService]
    by_municipality: dict[str, WelfareService]
    fallback: WelfareService


def report_hardship(session: Session, customer_id: int, now: datetime, zone: ZoneInfo) -> HardshipReport:
    """Notes that the customer reported financial difficulty; saying it twice in one local day notes it once.

    Nothing but the customer and the moment is stored: what they told us stays in the conversation.
    The day is the one in `zone`, the company's timezone (`SETTLE_TIMEZONE`), as for due dates.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware value")
    local_day = now.astimezone(zone).date()
    day_start = datetime.combine(local_day, time(0, 0), tzinfo=zone)
    day_end = datetime.combine(local_day + timedelta(days=1), time(0, 0), tzinfo=zone)
    existing = session.execute(
        select(HardshipReport)
        .where(
            HardshipReport.customer_id == customer_id,
            HardshipReport.reported_at >= day_start,
            HardshipReport.reported_at < day_end,
        )
        .order_by(HardshipReport.reported_at, HardshipReport.id)
        .limit(1)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    report = HardshipReport(customer_id=customer_id, reported_at=now)
    session.add(report)
    session.flush()
    return report


def recently_reported(session: Session, customer_id: int, since: datetime) -> bool:
    """Whether the customer reported financial difficulty at or after `since`; reminders pause if so."""
    if since.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware value")
    found = session.execute(
        select(HardshipReport.id)
        .where(HardshipReport.customer_id == customer_id, HardshipReport.reported_at >= since)
        .limit(1)
    ).first()
    return found is not None


def welfare_service_for(customer) -> WelfareService:
    """The social-welfare service for the customer's postcode, else their municipality, else the general pointer.

    `customer` is a Customer or anything with `postcode` and `municipality` attributes.
    """
    directory = _directory()
    postcode = (getattr(customer, "postcode", None) or "").strip()
    municipality = _name_key(getattr(customer, "municipality", None) or "")
    return (
        directory.by_postcode.get(postcode)
        or directory.by_municipality.get(municipality)
        or directory.fallback
    )


@lru_cache(maxsize=1)
def _directory() -> _Directory:
    """The contacts file, parsed and checked once per process."""
    text = resources.files("settle").joinpath(SOCIAL_SERVICES_FILE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ValueError(f"{SOCIAL_SERVICES_FILE}: the header must be {','.join(COLUMNS)}")
    by_postcode: dict[str, WelfareService] = {}
    by_municipality: dict[str, WelfareService] = {}
    fallback = None
    for line_number, row in enumerate(reader, start=2):
        values = {column: (row.get(column) or "").strip() for column in COLUMNS}
        empty = [column for column, value in values.items() if not value]
        if empty:
            raise ValueError(f"{SOCIAL_SERVICES_FILE}, line {line_number}: empty {', '.join(empty)}")
        service = WelfareService(values["name"], values["phone"], values["address"], values["web"])
        if values["postcode"] == FALLBACK_POSTCODE:
            fallback = service
            continue
        by_postcode.setdefault(values["postcode"], service)
        by_municipality.setdefault(_name_key(values["municipality"]), service)
    if fallback is None:
        raise ValueError(f"{SOCIAL_SERVICES_FILE}: no row with postcode {FALLBACK_POSTCODE}, the general fallback")
    return _Directory(by_postcode, by_municipality, fallback)


def _name_key(name: str) -> str:
    """Municipality names compared without case, accents or extra spaces: 'liege' finds 'Liège'."""
    without_accents = "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    )
    return " ".join(without_accents.casefold().split())
