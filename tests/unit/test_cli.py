"""The `settle` command as an operator runs it: clear output, clear failures, nothing half done."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from settle.db import session_factory
from settle.models import Customer, Invoice, InvoiceStatus
from settle.payments.incoming import open_cents
from settle.payments.transfer import structured_communication
from settle.tooling.cli import main
from settle.tooling.seed import PERSONAS
from tests.conftest import HISTORY_ENDS, seeded_sqlite
from tests.unit.test_bank_statements import Entry, camt053

LUCAS = next(p for p in PERSONAS if p.shape == "overdue")


@pytest.fixture
def database(tmp_path, monkeypatch) -> str:
    url = seeded_sqlite(tmp_path / "settle.db", customers=10)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def lucas_oldest_open(url: str) -> tuple[str, Decimal]:
    with session_factory(url).begin() as session:
        invoice = session.execute(
            select(Invoice).join(Customer).where(Customer.customer_number == LUCAS.customer_number, Invoice.status == InvoiceStatus.OPEN)
            .order_by(Invoice.due_date)
        ).scalars().first()
        return invoice.number, Decimal(open_cents(session, invoice)) / 100


def test_import_statement_records_once_and_reports(database, tmp_path, capsys):
    number, amount = lucas_oldest_open(database)
    statement = tmp_path / "statement.xml"
    statement.write_bytes(camt053(Entry(amount=amount, strd=structured_communication(number))))

    assert main(["import-statement", str(statement)]) == 0
    assert "1 matched" in capsys.readouterr().out
    with session_factory(database).begin() as session:
        assert session.execute(select(Invoice.status).where(Invoice.number == number)).scalar_one() == InvoiceStatus.PAID

    assert main(["import-statement", str(statement)]) == 0
    assert "1 already imported" in capsys.readouterr().out


def test_import_statement_refuses_a_file_that_is_no_statement(database, tmp_path, capsys):
    garbage = tmp_path / "notes.xml"
    garbage.write_text("<html>not a bank statement</html>")
    assert main(["import-statement", str(garbage)]) == 1
    assert "Nothing was recorded" in capsys.readouterr().err
    assert main(["import-statement", str(tmp_path / "missing.xml")]) == 1
    assert "can't read" in capsys.readouterr().err


def test_setup_migrates_and_seeds_only_an_empty_database(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert main(["setup", "--customers", "12", "--today", "2026-11-22"]) == 0
    assert main(["setup", "--customers", "12"]) == 0
    assert "already there" in capsys.readouterr().out
    with session_factory(f"sqlite:///{tmp_path / 'fresh.db'}").begin() as session:
        assert session.execute(select(func.count()).select_from(Customer)).scalar_one() == 12


def test_app_token_needs_the_secret(monkeypatch, capsys):
    monkeypatch.delenv("SETTLE_APP_TOKEN_SECRET", raising=False)
    assert main(["app-token", LUCAS.customer_number]) == 1
    assert "SETTLE_APP_TOKEN_SECRET" in capsys.readouterr().err


def test_remind_dry_run_stores_and_sends_nothing(database, capsys):
    from settle.models import OutboxMessage, Reminder

    assert main(["remind", "--dry-run", "--now", "2026-11-27"]) == 0
    out = capsys.readouterr().out
    assert "Would claim:" in out and "nudge" in out and "nothing was stored or sent" in out
    with session_factory(database).begin() as session:
        after_the_history = Reminder.created_at >= HISTORY_ENDS
        assert session.execute(select(func.count()).select_from(Reminder).where(after_the_history)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(OutboxMessage).join(Reminder).where(after_the_history)).scalar_one() == 0


def test_remind_refuses_a_broken_policy(database, tmp_path, monkeypatch, capsys):
    broken = tmp_path / "reminders.yml"
    broken.write_text("version: 1\nstages: []\n")
    monkeypatch.setenv("SETTLE_REMINDER_POLICY_FILE", str(broken))
    assert main(["remind"]) == 1
    assert "Nothing was sent" in capsys.readouterr().err


def test_agent_add_stores_an_agent_who_can_log_in(database, monkeypatch, capsys):
    from io import StringIO

    from settle.handoff.agents import authenticate

    monkeypatch.setattr("sys.stdin", StringIO("a-long-enough-password\n"))
    assert main(["agent", "add", "Dana@Settle.example", "--name", "Dana", "--password-stdin"]) == 0
    assert "Dana <dana@settle.example> (agent) can now log in at /agent" in capsys.readouterr().out
    with session_factory(database).begin() as session:
        assert authenticate(session, "dana@settle.example", "a-long-enough-password").name == "Dana"


def test_agent_add_gives_the_role_asked_for(database, monkeypatch, capsys):
    from io import StringIO

    from settle.handoff.agents import authenticate

    monkeypatch.setattr("sys.stdin", StringIO("a-long-enough-password\n"))
    assert main(["agent", "add", "ops@settle.example", "--name", "Ops", "--role", "operations", "--password-stdin"]) == 0
    assert "Ops <ops@settle.example> (operations) can now log in at /agent" in capsys.readouterr().out
    with session_factory(database).begin() as session:
        assert authenticate(session, "ops@settle.example", "a-long-enough-password").role == "operations"
    with pytest.raises(SystemExit):
        main(["agent", "add", "boss@settle.example", "--name", "Boss", "--role", "admin", "--password-stdin"])


@pytest.mark.parametrize("email, password, says", [
    ("sam@settle.example", "a-long-enough-password", "already an agent"),  # the demo agent
    ("not-an-address", "a-long-enough-password", "is not an e-mail address"),
    ("new@settle.example", "short", "at least 10 characters"),
])
def test_agent_add_refuses_politely_and_changes_nothing(database, monkeypatch, capsys, email, password, says):
    from io import StringIO

    from settle.models import Agent

    monkeypatch.setattr("sys.stdin", StringIO(password + "\n"))
    with session_factory(database).begin() as session:
        before = session.execute(select(func.count()).select_from(Agent)).scalar_one()
    assert main(["agent", "add", email, "--name", "Someone", "--password-stdin"]) == 1
    error = capsys.readouterr().err
    assert says in error and "nothing was changed" in error and "Traceback" not in error
    with session_factory(database).begin() as session:
        assert session.execute(select(func.count()).select_from(Agent)).scalar_one() == before


def test_run_refuses_unreadable_office_hours_before_starting_anything(database, monkeypatch, capsys, tmp_path):
    model = tmp_path / "models" / "settle.tar.gz"
    model.parent.mkdir()
    model.write_bytes(b"not started anyway")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SETTLE_OFFICE_HOURS", "weekdays nine to five")
    monkeypatch.setenv("SETTLE_DEMO", "1")
    monkeypatch.setenv("SETTLE_LINK_SECRET", "cli-test-link-secret")
    monkeypatch.setenv("SETTLE_SESSION_SECRET", "cli-test-session-secret")
    for name, file in (("SETTLE_POLICY_FILE", "arrangements.yml"), ("SETTLE_REMINDER_POLICY_FILE", "reminders.yml"),
                       ("SETTLE_REDIRECTS_FILE", "redirects.yml")):
        monkeypatch.setenv(name, str(Path(__file__).parents[2] / "policy" / file))
    assert main(["run"]) == 1
    error = capsys.readouterr().err
    assert "office hours: can't read 'weekdays nine to five'" in error and "SETTLE_OFFICE_HOURS" in error


def test_bench_refuses_an_nlu_test_file_it_cannot_score_before_running_anything(tmp_path, capsys):
    notes = tmp_path / "notes.yml"
    notes.write_text("shopping:\n  - milk\n")
    broken = tmp_path / "broken.json"
    broken.write_text('{"rasa_nlu_data": {"common_examples": [{"text": "hi"}]}}')
    for path, says in [(tmp_path / "missing.yml", "there is no NLU test file"), (notes, "is not a Rasa NLU file"),
                       (broken, "'intent' is missing or malformed")]:
        assert main(["bench", "--only", "nlu", "--nlu-test", str(path)]) == 1
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err


def test_run_refuses_the_sandbox_provider_unless_the_demo_is_on(database, monkeypatch, capsys, tmp_path):
    model = tmp_path / "models" / "settle.tar.gz"
    model.parent.mkdir()
    model.write_bytes(b"not started anyway")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SETTLE_DEMO", raising=False)
    monkeypatch.setenv("SETTLE_PAYMENT_PROVIDER", "sandbox")
    assert main(["run"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "SETTLE_PAYMENT_PROVIDER" in line and "SETTLE_DEMO=1" in line
    assert not (tmp_path / "var").exists()  # refused before anything was made or started


def test_kpis_writes_every_figure_of_the_period_as_csv(database, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SETTLE_NOW", "2026-11-22T10:00:00+00:00")
    number, amount = lucas_oldest_open(database)
    statement = tmp_path / "statement.xml"
    statement.write_bytes(camt053(Entry(amount=amount, strd=structured_communication(number), booked="2026-11-20")))
    assert main(["import-statement", str(statement)]) == 0
    out = tmp_path / "figures.csv"

    assert main(["kpis", "--from", "2026-11-20", "--to", "2026-11-20", "--csv", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    table = list(csv.DictReader(out.open()))
    collected = next(row for row in table if row["figure"] == "collected_total")
    assert (collected["value"], collected["unit"]) == (str(amount.quantize(Decimal("0.01"))), "EUR")
    conversion = next(row for row in table if row["figure"] == "links_paid")
    assert (conversion["value"], conversion["note"]) == ("", "no cases: nothing to divide by")
    with session_factory(database).begin() as session:
        spoken = session.execute(select(Customer.language).where(Customer.customer_number == LUCAS.customer_number)).scalar_one()
    other = next(language for language in ("en", "nl", "fr") if language != spoken)
    for language, received in ((spoken, str(amount.quantize(Decimal("0.01")))), (other, "0.00")):
        assert main(["kpis", "--from", "2026-11-20", "--to", "2026-11-20", "--language", language, "--csv", str(out)]) == 0
        table = list(csv.DictReader(out.open()))
        assert next(row for row in table if row["figure"] == "language")["value"] == language
        assert next(row for row in table if row["figure"] == "collected_total")["value"] == received  # Lucas's money


def test_kpis_refuses_a_period_backwards(database, tmp_path, capsys):
    assert main(["kpis", "--from", "2026-11-30", "--to", "2026-11-01", "--csv", str(tmp_path / "no.csv")]) == 1
    assert "before it starts" in capsys.readouterr().err
    assert not (tmp_path / "no.csv").exists()


def test_run_refuses_a_redirects_file_without_a_topic(database, monkeypatch, capsys, tmp_path):
    model = tmp_path / "models" / "settle.tar.gz"
    model.parent.mkdir()
    model.write_bytes(b"not started anyway")
    broken = tmp_path / "redirects.yml"
    broken.write_text("version: 1\ntopics:\n  outage:\n    phone: '0800 1'\n    web_page: https://example.be\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SETTLE_DEMO", "1")
    monkeypatch.setenv("SETTLE_LINK_SECRET", "cli-test-link-secret")
    monkeypatch.setenv("SETTLE_SESSION_SECRET", "cli-test-session-secret")
    for name, file in (("SETTLE_POLICY_FILE", "arrangements.yml"), ("SETTLE_REMINDER_POLICY_FILE", "reminders.yml")):
        monkeypatch.setenv(name, str(Path(__file__).parents[2] / "policy" / file))
    monkeypatch.setenv("SETTLE_REDIRECTS_FILE", str(broken))
    assert main(["run"]) == 1
    error = capsys.readouterr().err
    assert "redirects.yml: topics: missing: moving_house" in error and "Fix the policy file" in error


def test_settle_remind_over_the_demo_data_sends_each_customer_one_message_whatever_their_bills(tmp_path, monkeypatch, capsys):
    from collections import Counter
    from email.utils import parseaddr

    from settle.models import Reminder
    from tests.fakes.rasa import running_fake_rasa
    from tests.fakes.sms import running_fake_sms
    from tests.fakes.smtp import running_smtp_server

    url = seeded_sqlite(tmp_path / "demo.db", customers=200)
    with session_factory(url).begin() as session:  # demo namesakes share an address: give each their own
        for customer in session.execute(select(Customer)).scalars():
            customer.email, customer.phone = f"customer{customer.id}@example.test", f"+32470{customer.id:06d}"
    with running_fake_rasa("cli-rasa-token") as rasa, running_smtp_server() as smtp, running_fake_sms("cli-sms-key") as sms:
        for name, value in (("DATABASE_URL", url), ("SETTLE_RASA_URL", rasa.url), ("RASA_API_TOKEN", "cli-rasa-token"),
                            ("SETTLE_SMTP_HOST", smtp.host), ("SETTLE_SMTP_PORT", str(smtp.port)),
                            ("SETTLE_SMS_API_URL", sms.url), ("SETTLE_SMS_API_KEY", "cli-sms-key")):
            monkeypatch.setenv(name, value)
        assert main(["remind", "--now", "2026-11-23T09:00"]) == 0  # Monday morning after the demo's Sunday
        with session_factory(url).begin() as session:
            by_address = {address: customer_id for customer_id, email, phone in
                          session.execute(select(Customer.id, Customer.email, Customer.phone)) for address in (email, phone)}
            stages = {}
            for customer_id, stage in session.execute(select(Reminder.customer_id, Reminder.stage).where(Reminder.created_at >= HISTORY_ENDS)):
                stages.setdefault(customer_id, set()).add(stage)
        reached = Counter(int(body["entities"]["customer_id"]) for _, body in rasa.triggered)
        reached.update(by_address[parseaddr(message["To"])[1]] for message in smtp.messages)
        reached.update(by_address[message["to"]] for message in sms.messages)

    assert len(reached) > 50 and max(reached.values()) == 1, reached.most_common(3)
    several_stages = [customer_id for customer_id, named in stages.items() if len(named) > 1]
    assert several_stages and all(reached[customer_id] == 1 for customer_id in several_stages)
    assert "Sent:" in capsys.readouterr().out
