"""Financial difficulty: only that and when is stored, and the right social-welfare service is found."""
from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, inspect, select

import settle
from settle.arrangements import hardship, services
from settle.arrangements.hardship import WelfareService, recently_reported, report_hardship, welfare_service_for
from settle.clock import FixedClock
from settle.config import Settings
from settle.db import session_factory
from settle.models import Customer, Escalation, EscalationReason, HardshipReport
from settle.tooling.seed import MUNICIPALITIES, PERSONAS
from settle.unit_of_work import UnitOfWork
from tests.conftest import HISTORY_ENDS, seeded_sqlite

CSV_PATH = Path(settle.__file__).parent / "data" / "social_services.csv"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
FALLBACK = WelfareService(
    name="the social welfare service (CPAS/OCMW) of your municipality",
    phone="+32 800 00 000",
    address="the town hall of your municipality",
    web="https://social-services.example",
)


@pytest.fixture
def brussels() -> ZoneInfo:
    return ZoneInfo("Europe/Brussels")


def csv_rows() -> list[dict[str, str]]:
    with CSV_PATH.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def somewhere(postcode: str, municipality: str) -> SimpleNamespace:
    return SimpleNamespace(postcode=postcode, municipality=municipality)


def reports_of(session, customer_id: int) -> list[HardshipReport]:
    return session.execute(
        select(HardshipReport).where(HardshipReport.customer_id == customer_id).order_by(HardshipReport.id)
    ).scalars().all()


# --- the contacts file ---------------------------------------------------------------------------

def test_the_file_has_the_documented_columns_all_filled():
    with CSV_PATH.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    assert header == ["postcode", "municipality", "name", "phone", "address", "web"]
    assert rows
    for row in rows:
        assert len(row) == 6, row
        assert all(cell.strip() for cell in row), row


def test_the_file_holds_demo_contacts_only():
    for row in csv_rows():
        assert row["web"].startswith("https://"), row
        host = row["web"].removeprefix("https://").split("/")[0]
        assert host.endswith(".example"), row
        country, *rest = row["phone"].split()
        assert country == "+32"
        assert "".join(rest[1:]).strip("0") == "", f"not a zeros-only demo number: {row['phone']}"


def test_there_is_exactly_one_fallback_row():
    fallbacks = [row for row in csv_rows() if row["postcode"] == "*"]
    assert len(fallbacks) == 1
    assert (fallbacks[0]["name"], fallbacks[0]["phone"], fallbacks[0]["web"]) == (FALLBACK.name, FALLBACK.phone, FALLBACK.web)


@pytest.mark.parametrize("postcode, municipality, region", MUNICIPALITIES)
def test_every_seeded_municipality_has_its_own_service(postcode, municipality, region):
    rows = [row for row in csv_rows() if row["postcode"] == postcode]
    assert len(rows) == 1
    row = rows[0]
    assert row["municipality"] == municipality
    service = welfare_service_for(somewhere(postcode, municipality))
    assert service == WelfareService(row["name"], row["phone"], row["address"], row["web"])
    assert service != FALLBACK
    expected_kind = {"Flanders": "OCMW", "Wallonia": "CPAS", "Brussels": "CPAS/OCMW"}[region]
    assert service.name.startswith(expected_kind)
    if region != "Brussels":
        assert "CPAS/OCMW" not in service.name


# --- matching ------------------------------------------------------------------------------------

def test_the_postcode_decides_first():
    service = welfare_service_for(somewhere("9000", "Liège"))
    assert service.name == "OCMW Gent"
    assert service.web == "https://ocmw-gent.example"


def test_an_unknown_postcode_is_matched_by_municipality_name_ignoring_case_and_accents():
    assert welfare_service_for(somewhere("4999", "  liege ")).name == "CPAS de Liège"
    assert welfare_service_for(somewhere("", "Liège")).name == "CPAS de Liège"


def test_an_unknown_postcode_and_municipality_get_the_general_pointer():
    assert welfare_service_for(somewhere("9999", "Atlantis")) == FALLBACK


def test_missing_fields_get_the_general_pointer():
    assert welfare_service_for(SimpleNamespace(postcode=None, municipality=None)) == FALLBACK


def test_a_seeded_customer_gets_the_service_of_their_municipality(persona_customer):
    louis = persona_customer("disputed")  # 3000 Leuven
    assert welfare_service_for(louis) == WelfareService(
        "OCMW Leuven", "+32 16 00 00 00", "Voorbeeldstraat 1, 3000 Leuven", "https://ocmw-leuven.example"
    )
    emma = persona_customer("usage_up")  # 1000 Brussel
    assert welfare_service_for(emma).name == "CPAS/OCMW Bruxelles-Brussel"


def test_the_file_is_read_once_per_process():
    welfare_service_for(somewhere("9000", "Gent"))
    misses = hardship._directory.cache_info().misses
    welfare_service_for(somewhere("4000", "Liège"))
    welfare_service_for(somewhere("9999", "Atlantis"))
    assert hardship._directory.cache_info().misses == misses


# --- reporting -----------------------------------------------------------------------------------

def test_a_report_stores_only_the_customer_and_the_moment(session, persona_customer, brussels):
    lucas = persona_customer("overdue")
    report = report_hardship(session, lucas.id, NOW, brussels)
    assert (report.customer_id, report.reported_at) == (lucas.id, NOW)
    stored = reports_of(session, lucas.id)
    assert [(r.id, r.customer_id, r.reported_at) for r in stored] == [(report.id, lucas.id, NOW)]
    columns = {column["name"] for column in inspect(session.connection()).get_columns("hardship_reports")}
    assert columns == {"id", "customer_id", "reported_at"}


def test_a_second_report_the_same_day_returns_the_first(session, persona_customer, brussels):
    lucas = persona_customer("overdue")
    first = report_hardship(session, lucas.id, NOW, brussels)
    again = report_hardship(session, lucas.id, NOW + timedelta(hours=5), brussels)
    assert again.id == first.id
    assert again.reported_at == NOW
    assert len(reports_of(session, lucas.id)) == 1


def test_a_report_on_another_day_is_a_new_one(session, persona_customer, brussels):
    lucas = persona_customer("overdue")
    report_hardship(session, lucas.id, NOW, brussels)
    report_hardship(session, lucas.id, NOW + timedelta(days=1), brussels)
    assert len(reports_of(session, lucas.id)) == 2


def test_the_day_is_the_day_in_belgium_not_in_utc(session, persona_customer, brussels):
    lucas = persona_customer("overdue")
    report_hardship(session, lucas.id, NOW, brussels)
    # 23:30 UTC on 22 November is already 00:30 on 23 November in Brussels (UTC+1 in winter).
    late = datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc)
    second = report_hardship(session, lucas.id, late, brussels)
    assert second.reported_at == late
    assert len(reports_of(session, lucas.id)) == 2


def test_reports_of_different_customers_are_kept_apart(session, persona_customer, brussels):
    lucas, noor = persona_customer("overdue"), persona_customer("partly_paid")
    first = report_hardship(session, lucas.id, NOW, brussels)
    other = report_hardship(session, noor.id, NOW, brussels)
    assert other.id != first.id
    assert other.customer_id == noor.id


def test_a_naive_time_is_refused(session, persona_customer, brussels):
    lucas = persona_customer("overdue")
    with pytest.raises(ValueError):
        report_hardship(session, lucas.id, datetime(2026, 11, 22, 10, 0), brussels)
    with pytest.raises(ValueError):
        recently_reported(session, lucas.id, datetime(2026, 11, 22, 10, 0))
    count = session.execute(select(func.count()).select_from(HardshipReport)).scalar_one()
    assert count == 0


def test_recently_reported_looks_from_since_on(session, persona_customer, brussels):
    lucas, noor = persona_customer("overdue"), persona_customer("partly_paid")
    assert not recently_reported(session, lucas.id, NOW - timedelta(days=30))
    report_hardship(session, lucas.id, NOW, brussels)
    assert recently_reported(session, lucas.id, NOW - timedelta(days=30))
    assert recently_reported(session, lucas.id, NOW)
    assert not recently_reported(session, lucas.id, NOW + timedelta(seconds=1))
    assert not recently_reported(session, noor.id, NOW - timedelta(days=30))


def test_the_day_is_the_one_in_the_zone_given(session, persona_customer):
    lucas = persona_customer("overdue")
    report_hardship(session, lucas.id, NOW, ZoneInfo("UTC"))
    late = datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc)
    assert report_hardship(session, lucas.id, late, ZoneInfo("UTC")).reported_at == NOW


# --- the use case: hardship and a person, in one transaction -------------------------------------

CHAT = [{"who": "customer", "text": "I lost my job and can't pay", "at": NOW.isoformat()}]


@pytest.fixture
def fresh_url(tmp_path) -> str:
    """A database of its own, since the use case commits."""
    return seeded_sqlite(tmp_path / "settle.db", customers=10)


def unit_of_work_on(url: str, **changes) -> UnitOfWork:
    return UnitOfWork(replace(Settings.from_environment(), database_url=url, **changes), FixedClock(NOW))


def emma_id(url: str) -> int:
    number = next(p for p in PERSONAS if p.shape == "usage_up").customer_number
    with session_factory(url)() as session:
        return session.execute(select(Customer.id).where(Customer.customer_number == number)).scalar_one()


def recorded(url: str) -> tuple[list[HardshipReport], list[Escalation]]:
    with session_factory(url)() as session:
        return (
            session.execute(select(HardshipReport).where(HardshipReport.reported_at >= HISTORY_ENDS)).scalars().all(),
            session.execute(select(Escalation).where(Escalation.created_at >= HISTORY_ENDS).order_by(Escalation.id)).scalars().all(),
        )


def test_hardship_is_recorded_together_with_the_hand_over(fresh_url):
    emma = emma_id(fresh_url)
    service = services.report_hardship(unit_of_work_on(fresh_url), emma, "chat-hardship", CHAT, ["report_hardship"])
    assert service.name == "CPAS/OCMW Bruxelles-Brussel"
    reports, escalations = recorded(fresh_url)
    assert [(r.customer_id, r.reported_at) for r in reports] == [(emma, NOW)]
    [escalation] = escalations
    assert (escalation.reason, escalation.customer_id) == (EscalationReason.HARDSHIP, emma)
    assert escalation.conversation_id == "chat-hardship"
    assert json.loads(escalation.context_json)["bot_tried"] == ["report_hardship"]
    assert json.loads(escalation.transcript_json)[0]["text"] == CHAT[0]["text"]


def test_nothing_is_recorded_when_the_hand_over_fails(fresh_url):
    with pytest.raises(ValueError):  # office hours nobody can read: the hand-over can't be made
        uow = unit_of_work_on(fresh_url, office_hours="whenever")
        services.report_hardship(uow, emma_id(fresh_url), "chat-hardship", CHAT, [])
    assert recorded(fresh_url) == ([], [])


def test_before_verification_only_the_hand_over_is_recorded(fresh_url):
    service = services.report_hardship(unit_of_work_on(fresh_url), None, "chat-anonymous", CHAT, [])
    assert service == FALLBACK
    reports, [escalation] = recorded(fresh_url)
    assert reports == [] and escalation.customer_id is None and escalation.reason == EscalationReason.HARDSHIP
