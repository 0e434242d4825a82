"""A printable one-page PDF copy of an invoice, for customers who ask for their bill again.

The text uses DejaVu Sans, which ships with matplotlib (installed with Rasa), because the PDF core
fonts are Latin-1 only and cannot show the euro sign. Without it the copy falls back to a core font
and writes "EUR 12.34". Nothing here touches the network or the database beyond the invoice's
loaded lines, payments and customer.
"""
from __future__ import annotations

import importlib.util
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from settle.clock import format_date
from settle.config import Settings
from settle.models import Invoice, InvoiceLine
from settle.money import euros, format_euros
from settle.payments.transfer import structured_communication

FONT_FAMILY = "DejaVu"
FALLBACK_FAMILY = "Helvetica"
MARGIN = 18
COLUMN_WIDTHS = (76, 32, 34, 32)  # description, quantity, unit price, amount: 174 mm of A4's 210
GREY = (90, 90, 90)


@lru_cache(maxsize=1)
def _font_files() -> tuple[Path, Path] | None:
    """DejaVu Sans regular and bold from matplotlib's data folder, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).with_name("mpl-data") / "fonts" / "ttf"
    regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
    if not regular.is_file():
        return None
    return regular, bold if bold.is_file() else regular


class _InvoiceDocument(FPDF):
    """An A4 page that writes text in the Unicode font when there is one, in a core font otherwise."""

    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        fonts = _font_files()
        self.has_unicode_font = fonts is not None
        if fonts:
            self.add_font(FONT_FAMILY, "", str(fonts[0]))
            self.add_font(FONT_FAMILY, "B", str(fonts[1]))
        self.text_family = FONT_FAMILY if self.has_unicode_font else FALLBACK_FAMILY
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN)

    def plain(self, text: str) -> str:
        """Text the current font can show: core fonts get "EUR" for "€" and "?" for other non-Latin-1 letters."""
        if self.has_unicode_font:
            return text
        return text.replace("€", "EUR ").encode("latin-1", "replace").decode("latin-1")

    def style(self, size: float, bold: bool = False, grey: bool = False) -> None:
        self.set_font(self.text_family, "B" if bold else "", size)
        self.set_text_color(*(GREY if grey else (0, 0, 0)))

    def line_of_text(self, text: str, height: float = 5.5, width: float = 0, align: str = "L") -> None:
        self.cell(width, height, self.plain(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str, height: float = 5.5) -> None:
        self.multi_cell(0, height, self.plain(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def label_and_value(self, label: str, value: str, label_width: float = 42, bold: bool = False) -> None:
        self.style(10, grey=True)
        self.cell(label_width, 6, self.plain(label))
        self.style(10, bold=bold)
        self.cell(0, 6, self.plain(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def total_row(self, label: str, value: str, bold: bool = False) -> None:
        """A label and an amount lined up under the table's amount column."""
        self.set_x(self.l_margin + COLUMN_WIDTHS[0])
        self.style(10, bold=bold, grey=not bold)
        self.cell(COLUMN_WIDTHS[1] + COLUMN_WIDTHS[2], 6, self.plain(label), align="R")
        self.style(10, bold=bold)
        self.cell(COLUMN_WIDTHS[3], 6, self.plain(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str) -> None:
        self.ln(5)
        self.style(12, bold=True)
        self.line_of_text(text, height=7)
        self.style(10)


def render_invoice_pdf(invoice: Invoice, settings: Settings) -> bytes:
    """A one-page A4 copy of the invoice with what is still open and how to pay it by bank transfer."""
    customer = invoice.customer
    total = euros(invoice.total_cents)
    paid = euros(sum(payment.amount_cents for payment in invoice.payments))
    still_to_pay = total - paid

    pdf = _InvoiceDocument()
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author(settings.company_name)
    pdf.add_page()

    pdf.style(18, bold=True)
    pdf.cell(0, 9, pdf.plain(settings.company_name))
    pdf.style(14, bold=True, grey=True)
    pdf.line_of_text("Invoice copy", height=9, align="R")
    pdf.ln(6)

    pdf.label_and_value("Invoice number", invoice.number, bold=True)
    pdf.label_and_value("Customer", f"{customer.first_name} {customer.last_name}")
    pdf.label_and_value("Customer number", customer.customer_number)
    pdf.label_and_value("Postcode", f"{customer.postcode} {customer.municipality}")
    pdf.label_and_value("Period", f"{format_date(invoice.period_start)} to {format_date(invoice.period_end)}")
    pdf.label_and_value("Issue date", format_date(invoice.issue_date))
    pdf.label_and_value("Due date", format_date(invoice.due_date))

    pdf.heading("What you pay for")
    _lines_table(pdf, invoice.lines)

    pdf.ln(2)
    pdf.total_row("Total", format_euros(total), bold=True)
    pdf.total_row("Already paid", format_euros(paid))
    if still_to_pay >= 0:
        pdf.total_row("Still to pay", format_euros(still_to_pay), bold=True)
    else:
        pdf.total_row("Paid too much", format_euros(-still_to_pay), bold=True)

    if still_to_pay > 0:
        pdf.heading("How to pay by bank transfer")
        pdf.label_and_value("Amount", format_euros(still_to_pay), bold=True)
        pdf.label_and_value("To", settings.company_name)
        pdf.label_and_value("IBAN", _grouped_iban(settings.company_iban))
        pdf.label_and_value("BIC", settings.company_bic)
        pdf.label_and_value("Communication", structured_communication(invoice.number), bold=True)
        pdf.ln(1)
        pdf.style(10, grey=True)
        pdf.paragraph(
            f"Please pay by {format_date(invoice.due_date)} if you can. Copy the communication exactly, "
            "with the + signs, so your payment is matched to this invoice straight away."
        )
    else:
        pdf.ln(3)
        pdf.style(10)
        pdf.paragraph("There is nothing left to pay on this invoice.")

    pdf.heading("Questions?")
    pdf.paragraph(
        f"Call us on {settings.support_phone} or email {settings.support_email}. "
        f"Mention your customer number {customer.customer_number}."
    )
    return bytes(pdf.output())


def _lines_table(pdf: _InvoiceDocument, lines: list[InvoiceLine]) -> None:
    """Description, quantity with unit, unit price and amount of every line, as printed on the bill."""
    pdf.style(10)
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    with pdf.table(
        col_widths=COLUMN_WIDTHS,
        width=sum(COLUMN_WIDTHS),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=heading,
        borders_layout="HORIZONTAL_LINES",
        line_height=6.5,
        first_row_as_headings=True,
    ) as table:
        table.row([pdf.plain(text) for text in ("Description", "Quantity", "Unit price", "Amount")])
        for line in lines:
            quantity, unit_price = _quantity_and_price(line)
            table.row([pdf.plain(text) for text in (line.description, quantity, unit_price,
                                                     format_euros(euros(line.amount_cents)))])


def _quantity_and_price(line: InvoiceLine) -> tuple[str, str]:
    """'1,234 kWh' and '€0.312 per kWh'; a rate on an amount in euros (VAT) reads '€123.45' and '6%'."""
    if line.unit.upper() == "EUR":
        return format_euros(line.quantity), f"{_plain_number(line.unit_price * 100)}%"
    return f"{_plain_number(line.quantity)} {line.unit}", f"{_unit_price(line.unit_price)} per {line.unit}"


def _plain_number(value: Decimal) -> str:
    """A decimal without trailing zeros, with thousands separators: 1,234.5."""
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _unit_price(value: Decimal) -> str:
    """A price per unit in euros with at least two decimals and no trailing zeros beyond: €0.312, €9.50."""
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):,f}"
    whole, _, fraction = digits.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{sign}€{whole}.{fraction}"


def _grouped_iban(iban: str) -> str:
    """An IBAN as printed on paper: groups of four characters."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
