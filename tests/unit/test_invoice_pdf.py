"""The PDF copy of an invoice: one A4 page whose text says what the bill says and how to pay it.

The text is read back from the PDF with pypdf, so the checks see what a reader of the file sees.
"""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from settle.billing import pdf as invoice_pdf
from settle.billing.pdf import render_invoice_pdf
from settle.models import Invoice
from settle.money import euros, format_euros
from settle.payments.transfer import structured_communication

A4_POINTS = (595.28, 841.89)


def latest_invoice(session, customer) -> Invoice:
    return session.execute(
        select(Invoice).where(Invoice.customer_id == customer.id).order_by(Invoice.issue_date.desc()).limit(1)
    ).scalar_one()


def read_pdf(data: bytes) -> tuple[int, str, tuple[float, float]]:
    """Pages, text of the first page, and its size in points."""
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    return len(reader.pages), page.extract_text(), (float(page.mediabox.width), float(page.mediabox.height))


def spaced(text: str) -> str:
    """Text with its non-breaking spaces (U+00A0, U+202F) and line breaks as plain spaces."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def grouped(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


@pytest.fixture
def without_unicode_font(monkeypatch):
    """As on a machine without matplotlib's DejaVu font: the copy falls back to a core PDF font."""
    monkeypatch.setattr(invoice_pdf, "_font_files", lambda: None)


def test_copy_of_latest_invoice_is_one_a4_page_with_everything_on_the_bill(session, persona_customer, settings):
    customer = persona_customer("one_off")
    invoice = latest_invoice(session, customer)

    data = render_invoice_pdf(invoice, settings)

    assert data.startswith(b"%PDF-")
    pages, text, size = read_pdf(data)
    assert pages == 1
    assert size == pytest.approx(A4_POINTS, abs=0.5)
    assert settings.company_name in text
    assert "Invoice copy" in text
    assert invoice.number in text
    assert f"{customer.first_name} {customer.last_name}" in text
    assert customer.customer_number in text
    assert f"{customer.postcode} {customer.municipality}" in text
    assert len(invoice.lines) >= 4
    for line in invoice.lines:
        assert line.description in text
        assert format_euros(euros(line.amount_cents)) in text
    assert format_euros(euros(invoice.total_cents)) in text
    assert structured_communication(invoice.number) in text
    assert grouped(settings.company_iban) in text
    assert settings.company_bic in text
    assert settings.support_phone in text and settings.support_email in text


def test_dates_are_written_out(session, persona_customer, settings):
    invoice = latest_invoice(session, persona_customer("usage_up"))

    _, text, _ = read_pdf(render_invoice_pdf(invoice, settings))

    assert "1 October 2026 to 31 October 2026" in text
    assert "5 November 2026" in text
    assert "26 November 2026" in text


def test_quantity_shows_its_unit_and_unit_price_keeps_its_decimals(session, persona_customer, settings):
    invoice = latest_invoice(session, persona_customer("usage_up"))
    usage = next(line for line in invoice.lines if line.unit == "kWh")

    _, text, _ = read_pdf(render_invoice_pdf(invoice, settings))

    assert f"{usage.quantity.normalize():f} kWh" in text
    assert "€0.312 per kWh" in text
    assert "€9.50 per month" in text
    assert "6%" in text


def test_accented_names_are_written_as_they_are(session, persona_customer, settings):
    customer = persona_customer("one_off")  # lives in Liège
    customer.first_name, customer.last_name = "Zoë", "Müller-Łukasiewicz"
    invoice = latest_invoice(session, customer)

    pages, text, _ = read_pdf(render_invoice_pdf(invoice, settings))

    assert pages == 1
    assert "Zoë Müller-Łukasiewicz" in text
    assert "4000 Liège" in text


def test_partly_paid_invoice_shows_what_was_paid_and_what_is_still_open(session, persona_customer, settings):
    invoice = latest_invoice(session, persona_customer("partly_paid"))
    total = euros(invoice.total_cents)
    paid = euros(sum(payment.amount_cents for payment in invoice.payments))
    assert 0 < paid < total

    _, text, _ = read_pdf(render_invoice_pdf(invoice, settings))

    assert f"Total {format_euros(total)}" in text
    assert f"Already paid {format_euros(paid)}" in text
    assert f"Still to pay {format_euros(total - paid)}" in text
    assert f"Amount {format_euros(total - paid)}" in text
    assert structured_communication(invoice.number) in text


def test_paid_invoice_says_nothing_is_left_and_gives_no_transfer_details(session, persona_customer, settings):
    invoice = latest_invoice(session, persona_customer("all_paid"))

    _, text, _ = read_pdf(render_invoice_pdf(invoice, settings))

    assert "Still to pay €0.00" in text
    assert "nothing left to pay" in text
    assert "How to pay" not in text
    assert structured_communication(invoice.number) not in text


def test_without_the_unicode_font_amounts_read_eur(session, persona_customer, settings, without_unicode_font):
    customer = persona_customer("partly_paid")
    customer.first_name, customer.last_name = "Zoë", "Łukasiewicz"
    invoice = latest_invoice(session, customer)

    data = render_invoice_pdf(invoice, settings)

    pages, text, _ = read_pdf(data)
    assert pages == 1
    assert f"EUR {euros(invoice.total_cents):,.2f}" in text
    assert "€" not in text
    assert "Zoë ?ukasiewicz" in text
    assert structured_communication(invoice.number) in text


def test_the_font_comes_from_disk():
    fonts = invoice_pdf._font_files()
    assert fonts is not None, "matplotlib's DejaVu Sans should be installed with rasa"
    assert all(path.is_file() for path in fonts)


@pytest.mark.parametrize(("language", "words", "dates", "prices"), [
    ("nl", ("Kopie van de factuur", "Klantnummer", "Vervaldag", "Nog te betalen", "Betalen met een overschrijving",
            "Vaste vergoeding", "Btw 6%", "Vermeld uw klantnummer"),
     "1 oktober 2026 tot 31 oktober 2026", ("€\u00a00,312 per kWh", "€\u00a09,50 per maand", "6%")),
    ("fr", ("Copie de la facture", "Numéro de client", "Échéance", "Reste à payer", "Payer par virement",
            "Redevance fixe", "TVA 6\u00a0%", "Mentionnez votre numéro de client"),
     "du 1 octobre 2026 au 31 octobre 2026", ("0,312\u00a0€ par kWh", "9,50\u00a0€ par mois", "6\u00a0%")),
])
def test_a_copy_in_the_customers_language_reads_as_belgians_write(session, persona_customer, settings, language, words,
                                                                  dates, prices):
    invoice = latest_invoice(session, persona_customer("usage_up"))

    pages, text, _ = read_pdf(render_invoice_pdf(invoice, settings, language))

    assert pages == 1
    read = spaced(text)  # the table's cells come back with plain spaces
    for word in words + prices:
        assert spaced(word) in read, word
    assert dates in text
    assert format_euros(euros(invoice.total_cents), language) in text  # non-breaking, as written
    assert "Invoice copy" not in text and "Still to pay" not in text and "Standing charge" not in text


def test_french_thousands_keep_their_narrow_space_and_the_core_font_gets_a_plain_one(session, persona_customer, settings,
                                                                                       monkeypatch):
    invoice = latest_invoice(session, persona_customer("usage_up"))
    invoice.lines[0].amount_cents = 123_456  # €1,234.56: French groups its thousands with U+202F
    amount = format_euros(euros(123_456), "fr")
    assert "\u202f" in amount

    _, text, _ = read_pdf(render_invoice_pdf(invoice, settings, "fr"))
    assert "1 234,56 €" in spaced(text)  # DejaVu Sans has the narrow no-break space

    monkeypatch.setattr(invoice_pdf, "_font_files", lambda: None)
    pages, text, _ = read_pdf(render_invoice_pdf(invoice, settings, "fr"))
    assert pages == 1
    assert "1 234,56 EUR" in spaced(text) and "€" not in text
    assert "?" not in text.replace("Des questions\u00a0?", "")  # nothing the core font can't show became a "?"
