"""The EPC QR code for paying an invoice by transfer: its payload, its limits, and the picture.

Expected values are written out by hand or computed with plain arithmetic here, not with settle's code.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from decimal import Decimal

import pytest

from settle.payments.epc_qr import epc_payload, qr_svg
from settle.payments.transfer import check_digits, parse_structured_communication, structured_communication

SVG = "{http://www.w3.org/2000/svg}"
NAME = "Settle Energy"
IBAN = "BE71096123456769"
BIC = "GKCCBEBB"


def test_payload_line_by_line():
    payload = epc_payload(NAME, "be71 0961 2345 6769", "gkccbebb", Decimal("123.45"), "+++202/6000/12320+++")

    assert payload.split("\n") == [
        "BCD",
        "002",
        "1",
        "SCT",
        "GKCCBEBB",
        "Settle Energy",
        "BE71096123456769",
        "EUR123.45",
        "",
        "",
        "+++202/6000/12320+++",
    ]
    assert not payload.endswith("\n")


def test_payload_for_an_invoice_uses_its_structured_communication():
    payload = epc_payload(NAME, IBAN, BIC, Decimal("80.00"), structured_communication("INV-2026-000123"))

    # 2026000123 = 97 * 20886599 + 20, so the check digits are 20.
    assert 2026000123 % 97 == 20
    assert payload.split("\n")[10] == "+++202/6000/12320+++"


def test_an_empty_bic_is_allowed_in_version_002():
    assert epc_payload(NAME, IBAN, "", Decimal("1.00"), "x").split("\n")[4] == ""


def test_without_remittance_trailing_empty_lines_are_left_out():
    assert epc_payload(NAME, IBAN, BIC, Decimal("5.00"), "") == "BCD\n002\n1\nSCT\nGKCCBEBB\nSettle Energy\nBE71096123456769\nEUR5.00"


@pytest.mark.parametrize(
    "amount, written",
    [
        (Decimal("12.3"), "EUR12.30"),
        (Decimal("0.01"), "EUR0.01"),
        (Decimal("12"), "EUR12.00"),
        (Decimal("1E+2"), "EUR100.00"),
        (Decimal("1234567.89"), "EUR1234567.89"),
        (Decimal("999999999.99"), "EUR999999999.99"),
    ],
)
def test_amount_has_two_decimals_and_no_grouping(amount, written):
    assert epc_payload(NAME, IBAN, BIC, amount, "x").split("\n")[7] == written


@pytest.mark.parametrize(
    "amount",
    [Decimal("0"), Decimal("0.00"), Decimal("-5.00"), Decimal("0.009"), Decimal("12.345"),
     Decimal("1000000000.00"), Decimal("NaN"), Decimal("Infinity"), 12.3],
)
def test_amount_outside_the_range_or_with_fractions_of_a_cent_is_refused(amount):
    with pytest.raises(ValueError):
        epc_payload(NAME, IBAN, BIC, amount, "x")


@pytest.mark.parametrize(
    "iban",
    ["BE68539007547034", "BE72000000001616", "DE89370400440532013000", "GB82WEST12345698765432", "be68 5390 0754 7034"],
)
def test_well_known_valid_ibans_are_accepted(iban):
    assert epc_payload(NAME, iban, "", Decimal("1.00"), "").split("\n")[6] == iban.replace(" ", "").upper()


def test_iban_check_by_hand():
    # ISO 13616: move the first four characters to the end, letters become 10..35, and mod 97 must be 1.
    # BE68539007547034 -> 539007547034 B(11) E(14) 68
    assert int("539007547034" + "11" + "14" + "68") % 97 == 1
    # BE71096123456769 -> 096123456769 B(11) E(14) 71
    assert int("096123456769" + "11" + "14" + "71") % 97 == 1
    assert int("096123456768" + "11" + "14" + "71") % 97 != 1


@pytest.mark.parametrize("iban", ["BE71096123456768", "BE17096123456769", "GB82WEST12345698765433"])
def test_iban_with_wrong_check_digits_is_refused(iban):
    with pytest.raises(ValueError, match="check digits"):
        epc_payload(NAME, iban, BIC, Decimal("1.00"), "x")


@pytest.mark.parametrize("iban", ["", "BE71", "BE71-0961-2345-6769", "1271096123456769", "BE71096123456769" + "1" * 19])
def test_text_that_is_no_iban_is_refused(iban):
    with pytest.raises(ValueError, match="not an IBAN"):
        epc_payload(NAME, iban, BIC, Decimal("1.00"), "x")


def test_malformed_bic_is_refused():
    with pytest.raises(ValueError, match="BIC"):
        epc_payload(NAME, IBAN, "GKCC", Decimal("1.00"), "x")


def test_name_of_70_characters_fits_and_71_does_not():
    assert epc_payload("N" * 70, IBAN, BIC, Decimal("1.00"), "x").split("\n")[5] == "N" * 70
    with pytest.raises(ValueError, match="beneficiary name"):
        epc_payload("N" * 71, IBAN, BIC, Decimal("1.00"), "x")


def test_an_empty_name_is_refused():
    with pytest.raises(ValueError, match="beneficiary name"):
        epc_payload("  ", IBAN, BIC, Decimal("1.00"), "x")


def test_remittance_of_140_characters_fits_and_141_does_not():
    assert epc_payload(NAME, IBAN, BIC, Decimal("1.00"), "R" * 140).split("\n")[10] == "R" * 140
    with pytest.raises(ValueError, match="remittance"):
        epc_payload(NAME, IBAN, BIC, Decimal("1.00"), "R" * 141)


@pytest.mark.parametrize("field", ["name", "remittance"])
def test_a_line_break_cannot_shift_the_fields(field):
    values = {"name": NAME, "remittance": "x"}
    values[field] = "first\nSCT"
    with pytest.raises(ValueError, match="line break"):
        epc_payload(values["name"], IBAN, BIC, Decimal("1.00"), values["remittance"])


def test_the_whole_payload_is_at_most_331_bytes():
    # 70 two-byte letters and 140 three-byte euro signs are within the character limits, not the byte limit.
    with pytest.raises(ValueError, match="331"):
        epc_payload("é" * 70, IBAN, BIC, Decimal("1.00"), "€" * 140)
    largest = epc_payload("N" * 70, "GB82WEST12345698765432", "GKCCBEBBXXX", Decimal("999999999.99"), "€" * 53)
    assert len(largest.encode("utf-8")) <= 331


# -- Belgian structured communications, checked against examples worked out by hand -------------------


@pytest.mark.parametrize(
    "base, expected",
    [
        (108068171, 83),  # +++010/8068/17183+++
        (1234567890, 2),  # 1234567890 = 97 * 12727504 + 2
        (2026000123, 20),  # 2026000123 = 97 * 20886599 + 20
        (97, 97),  # a remainder of 0 is written as 97
        (0, 97),
    ],
)
def test_check_digits_against_hand_worked_examples(base, expected):
    assert check_digits(base) == expected


def test_hand_worked_arithmetic():
    assert 108068171 == 97 * 1114104 + 83
    assert 1234567890 == 97 * 12727504 + 2
    assert 2026000123 == 97 * 20886599 + 20


@pytest.mark.parametrize(
    "text",
    ["+++010/8068/17183+++", "***010/8068/17183***", "+++ 010 / 8068 / 17183 +++", "010806817183", "010/8068/17183"],
)
def test_a_valid_communication_is_read_in_every_usual_writing(text):
    assert parse_structured_communication(text) == "010806817183"


@pytest.mark.parametrize("text", ["+++010/8068/17184+++", "010806817182", "+++000/0000/00000+++", "", "12345"])
def test_a_communication_with_wrong_check_digits_is_not_read(text):
    assert parse_structured_communication(text) is None


def test_the_communication_of_an_invoice_number_carries_its_digits():
    assert structured_communication("INV-2026-000123") == "+++202/6000/12320+++"
    assert structured_communication("INV-2025-000097") == "+++202/5000/09764+++"
    assert 2025000097 % 97 == 64


# -- the picture ---------------------------------------------------------------------------------------


def _svg_root(svg: str):
    return ElementTree.fromstring(svg)


def test_svg_is_an_inline_svg_element_with_a_view_box_and_path_data():
    svg = qr_svg(epc_payload(NAME, IBAN, BIC, Decimal("12.30"), "+++202/6000/12320+++"))

    assert svg.startswith("<svg")
    assert "<?xml" not in svg
    root = _svg_root(svg)
    assert root.tag == f"{SVG}svg"
    assert re.fullmatch(r"0 0 (\d+) \1", root.get("viewBox"))
    paths = root.findall(f"{SVG}path")
    assert len(paths) == 1
    assert re.match(r"^(M\d+,\d+H\d+V\d+H\d+z)+$", paths[0].get("d"))
    assert 'id="' not in svg  # several codes on one page must not share an id


def test_svg_has_a_white_background_and_the_four_module_quiet_zone():
    root = _svg_root(qr_svg("BCD\n002\n1\nSCT"))
    assert root.find(f"{SVG}rect").get("fill") == "#ffffff"
    cells = _dark_modules(root)
    assert min(x for x, _ in cells) == 4 and min(y for _, y in cells) == 4
    size = int(root.get("viewBox").split()[2])
    assert max(x for x, _ in cells) == size - 5 and max(y for _, y in cells) == size - 5


def test_svg_title_for_screen_readers_is_escaped():
    root = _svg_root(qr_svg("BCD", title="Pay €12.30 <now>"))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Pay €12.30 <now>"


def test_the_largest_payload_stays_within_qr_version_13():
    payload = epc_payload("N" * 70, "GB82WEST12345698765432", "GKCCBEBBXXX", Decimal("999999999.99"), "R" * 140)
    size = int(_svg_root(qr_svg(payload)).get("viewBox").split()[2])
    version = (size - 8 - 17) // 4
    assert version <= 13


def _dark_modules(root) -> set[tuple[int, int]]:
    d = root.find(f"{SVG}path").get("d")
    return {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", d)}


@pytest.mark.parametrize(
    "name, remittance",
    [(NAME, "+++202/6000/12320+++"), ("Énergie Bruxelloise — Façade", "Facture Ø €"), ("N" * 70, "R" * 140)],
)
def test_the_svg_decodes_back_to_the_payload(name, remittance):
    """Draws the SVG's modules as pixels and reads them with an independent decoder (zxing-cpp)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    image_module = pytest.importorskip("PIL.Image")
    payload = epc_payload(name, IBAN, BIC, Decimal("12.30"), remittance)
    root = _svg_root(qr_svg(payload))
    size = int(root.get("viewBox").split()[2])
    scale = 6
    image = image_module.new("L", (size * scale, size * scale), 255)
    for x, y in _dark_modules(root):
        image.paste(0, (x * scale, y * scale, (x + 1) * scale, (y + 1) * scale))

    result = zxingcpp.read_barcode(image)

    assert result is not None
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.text == payload
    assert result.ec_level == "M"
