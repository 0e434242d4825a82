"""A printable one-page PDF copy of an invoice, for customers who ask for their bill again.

The text uses DejaVu Sans, which ships with matplotlib (installed with Rasa), because the PDF core
fonts are Latin-1 only and cannot show the euro sign. Without it the copy falls back to a core font
and writes "EUR 12.34". Nothing here touches the network or the database beyond the invoice's
loaded lines, payments and customer.
"""
from __future__ import annotations

import importlib.util
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel.numbers import format_currency, format_decimal, format_percent
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from settle.clock import format_date
from settle.config import Settings
from settle.locales import locale_for
from settle.models import Invoice, InvoiceLine
from settle.money import euros, format_euros
from settle.payments.transfer import structured_communication
from settle.translations import translations_for

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
        """Text the current font can show: core fonts get "EUR" for "€", a no-break space for the narrow one
        that French amounts group thousands with (1\u202f234,56 €), and "?" for other non-Latin-1 letters."""
        if self.has_unicode_font:
            return text
        text = text.replace("\u202f", "\u00a0").replace("€", "EUR ")
        return text.encode("latin-1", "replace").decode("latin-1")

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


def render_invoice_pdf(invoice: Invoice, settings: Settings, language: str = "en") -> bytes:
    """A one-page A4 copy of the invoice with what is still open and how to pay it by bank transfer, in
    `language` ("nl", "fr" or "en") with its amounts, dates and numbers written as its readers write them."""
    _ = translations_for(language).gettext
    customer = invoice.customer
    total = euros(invoice.total_cents)
    paid = euros(sum(payment.amount_cents for payment in invoice.payments))
    still_to_pay = total - paid

    def amount(value: Decimal) -> str:
        return format_euros(value, language)

    def day(value: date) -> str:
        return format_date(value, language)

    pdf = _InvoiceDocument()
    pdf.set_title(_("Invoice %(number)s") % {"number": invoice.number})
    pdf.set_author(settings.company_name)
    pdf.set_lang(language)
    pdf.add_page()

    pdf.style(18, bold=True)
    pdf.cell(0, 9, pdf.plain(settings.company_name))
    pdf.style(14, bold=True, grey=True)
    pdf.line_of_text(_("Invoice copy"), height=9, align="R")
    pdf.ln(6)

    pdf.label_and_value(_("Invoice number"), invoice.number, bold=True)
    pdf.label_and_value(_("Customer"), f"{customer.first_name} {customer.last_name}")
    pdf.label_and_value(_("Customer number"), customer.customer_number)
    pdf.label_and_value(_("Postcode"), f"{customer.postcode} {customer.municipality}")
    pdf.label_and_value(_("Period"), _("%(start)s to %(end)s") % {"start": day(invoice.period_start), "end": day(invoice.period_end)})
    pdf.label_and_value(_("Issue date"), day(invoice.issue_date))
    pdf.label_and_value(_("Due date"), day(invoice.due_date))

    pdf.heading(_("What you pay for"))
    _lines_table(pdf, invoice.lines, language)

    pdf.ln(2)
    pdf.total_row(_("Total"), amount(total), bold=True)
    pdf.total_row(_("Already paid"), amount(paid))
    if still_to_pay >= 0:
        pdf.total_row(_("Still to pay"), amount(still_to_pay), bold=True)
    else:
        pdf.total_row(_("Paid too much"), amount(-still_to_pay), bold=True)

    if still_to_pay > 0:
        pdf.heading(_("How to pay by bank transfer"))
        pdf.label_and_value(_("Amount"), amount(still_to_pay), bold=True)
        pdf.label_and_value(_("To"), settings.company_name)
        pdf.label_and_value("IBAN", _grouped_iban(settings.company_iban))
        pdf.label_and_value("BIC", settings.company_bic)
        pdf.label_and_value(_("Communication"), structured_communication(invoice.number), bold=True)
        pdf.ln(1)
        pdf.style(10, grey=True)
        pdf.paragraph(
            _("Please pay by %(day)s if you can. Copy the communication exactly, with the + signs, so your payment "
              "is matched to this invoice straight away.") % {"day": day(invoice.due_date)}
        )
    else:
        pdf.ln(3)
        pdf.style(10)
        pdf.paragraph(_("There is nothing left to pay on this invoice."))

    pdf.heading(_("Questions?"))
    pdf.paragraph(
        _("Call us on %(phone)s or email %(email)s. Mention your customer number %(customer_number)s.")
        % {"phone": settings.support_phone, "email": settings.support_email, "customer_number": customer.customer_number}
    )
    return bytes(pdf.output())


def _lines_table(pdf: _InvoiceDocument, lines: list[InvoiceLine], language: str) -> None:
    """Description, quantity with unit, unit price and amount of every line, as printed on the bill."""
    _ = translations_for(language).gettext
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
        table.row([pdf.plain(text) for text in (_("Description"), _("Quantity"), _("Unit price"), _("Amount"))])
        for line in lines:
            quantity, unit_price = _quantity_and_price(line, language)
            # The billing system's words for a line ("Standing charge") in the reader's language when the catalog has them.
            table.row([pdf.plain(text) for text in (_(line.description), quantity, unit_price,
                                                     format_euros(euros(line.amount_cents), language))])


def _quantity_and_price(line: InvoiceLine, language: str) -> tuple[str, str]:
    """'1,234 kWh' and '€0.312 per kWh' (nl: '1.234 kWh', '€ 0,312 per kWh'); a rate on an amount in euros
    (VAT) reads '€123.45' and '6%'."""
    locale = locale_for(language)
    if line.unit.upper() == "EUR":
        return format_euros(line.quantity, language), format_percent(line.unit_price, locale=locale, decimal_quantization=False)
    _ = translations_for(language).gettext
    unit = _(line.unit)
    quantity = format_decimal(line.quantity.normalize(), locale=locale, decimal_quantization=False)
    price = format_currency(line.unit_price.normalize(), "EUR", locale=locale, decimal_quantization=False)
    return f"{quantity} {unit}", _("%(price)s per %(unit)s") % {"price": price, "unit": unit}


def _grouped_iban(iban: str) -> str:
    """An IBAN as printed on paper: groups of four characters."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
