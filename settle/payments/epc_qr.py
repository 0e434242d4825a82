"""The EPC QR code ("SEPA credit transfer", EPC069-12): a banking app scans it and fills in the transfer.

The payload is the plain text the European Payments Council specifies; the picture is an inline SVG.
Belgian structured communications (+++123/4567/89012+++) are not ISO 11649 creditor references, so
they go in the unstructured remittance field, written the way Belgian banks recognise them.
"""
from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage

from settle.money import CENT

MAX_NAME = 70
MAX_IBAN = 34
MAX_UNSTRUCTURED = 140
MAX_PAYLOAD_BYTES = 331
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")

IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
BIC_SHAPE = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>\s*")


def epc_payload(name: str, iban: str, bic: str, amount: Decimal, remittance: str) -> str:
    """The EPC069-12 version 002 payload for a transfer of `amount` euros to `iban`, UTF-8 encoded.

    Raises ValueError when a field would make a code that banking apps reject or misread.
    """
    name = _field("beneficiary name", name, MAX_NAME)
    if not name:
        raise ValueError("the beneficiary name is required")
    remittance = _field("remittance information", remittance, MAX_UNSTRUCTURED)
    lines = [
        "BCD",
        "002",
        "1",  # character set: UTF-8
        "SCT",
        normalise_bic(bic),
        name,
        normalise_iban(iban),
        f"EUR{_amount(amount)}",
        "",  # purpose
        "",  # structured remittance: for ISO 11649 (RF) references only
        remittance,
        "",  # beneficiary to originator information
    ]
    while lines and lines[-1] == "":
        lines.pop()
    payload = "\n".join(lines)
    size = len(payload.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"the EPC QR payload is {size} bytes; at most {MAX_PAYLOAD_BYTES} are allowed")
    return payload


def normalise_iban(iban: str) -> str:
    """The IBAN without spaces, in capitals, after checking its shape and its mod-97 check digits (ISO 13616)."""
    compact = re.sub(r"\s+", "", iban or "").upper()
    if not IBAN_SHAPE.match(compact) or len(compact) > MAX_IBAN:
        raise ValueError(f"{iban!r} is not an IBAN: two letters, two check digits, then 11 to 30 letters or digits")
    rearranged = compact[4:] + compact[:4]
    as_number = int("".join(str(int(character, 36)) for character in rearranged))
    if as_number % 97 != 1:
        raise ValueError(f"the IBAN {compact} has wrong check digits (mod 97 is {as_number % 97}, not 1)")
    return compact


def normalise_bic(bic: str) -> str:
    """The BIC in capitals; empty is allowed (version 002 makes it optional inside the EEA)."""
    compact = re.sub(r"\s+", "", bic or "").upper()
    if compact and not BIC_SHAPE.match(compact):
        raise ValueError(f"{bic!r} is not a BIC: 8 or 11 letters and digits")
    return compact


def qr_svg(payload: str, title: str | None = None) -> str:
    """The payload as a QR code in an <svg> element to put inline in a page.

    Error correction M as EPC069-12 requires, a quiet zone of four modules and a white background so
    that the code scans on dark pages too. With `title`, the SVG names itself for screen readers.
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, image_factory=_WhiteSvgPathImage)
    code.add_data(payload.encode("utf-8"))
    code.make(fit=True)
    image = code.make_image()
    image.path.attrib.pop("id", None)  # several codes on one page must not share an id
    root = image.get_image()
    root.set("shape-rendering", "crispEdges")
    if title:
        root.set("role", "img")
        title_element = root.makeelement("title", {})
        title_element.text = title
        root.insert(0, title_element)
    return XML_DECLARATION.sub("", image.to_string(encoding="unicode"))


class _WhiteSvgPathImage(SvgPathImage):
    background = "#ffffff"


def _field(label: str, value: str, limit: int) -> str:
    value = (value or "").strip()
    if "\n" in value or "\r" in value:
        raise ValueError(f"the {label} may not contain a line break")
    if len(value) > limit:
        raise ValueError(f"the {label} has {len(value)} characters; at most {limit} are allowed")
    return value


def _amount(amount: Decimal) -> str:
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{amount!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"{amount} is not an amount")
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise ValueError(f"the amount must be from {MIN_AMOUNT} to {MAX_AMOUNT} euros, not {amount}")
    if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
        raise ValueError(f"the amount {amount} has more than two decimals")
    return f"{amount.quantize(CENT):f}"
