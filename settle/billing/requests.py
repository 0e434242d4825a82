"""Two questions in one message ("i want to pay and also know why its so high", "je veux payer et savoir pourquoi
c'est si cher"). The intent classifier gives one intent per message, and the action server cannot ask the model
about a part of a message, so the message is split on joining words and each part is matched against a short
list of words per account question in English, Dutch and French. Only the read-only account questions are
listed: their answers can be given one after the other without a form. docs/dialogue-design.md says why."""
from __future__ import annotations

import re

from settle.words import plain

#: What joins two requests: "and (also)", "en (ook)", "et (aussi)", "also", "plus", a "?" or ";" between them.
_JOINERS = re.compile(
    r"\?+\s*|;\s*|\s+(?:and\s+also|and\s+then|and|also|plus|as\s+well\s+as|en\s+ook|en\s+dan|en|ook|"
    r"et\s+aussi|et\s+puis|et|aussi|ainsi\s+que)\s+"
)

#: Words that make a part of a message one account question, by intent; checked in this order.
QUESTION_WORDS: dict[str, tuple[str, ...]] = {
    "explain_bill": (
        r"\bwhy\b.*\b(?:high|higher|much|more|expensive|gone\s+up|went\s+up|increase)", r"\bso\s+(?:high|much|expensive)\b",
        r"\bexplain\b", r"\bwaarom\b", r"\bzo\s+(?:hoog|duur|veel)\b", r"\bhoger\b", r"\bleg\b.*\buit\b",
        r"\bpourquoi\b", r"\bsi\s+(?:cher|eleve|elevee)\b", r"\bplus\s+(?:cher|eleve)", r"\bexpliqu",
    ),
    "check_due_date": (
        r"\bwhen\b.*\b(?:due|pay|deadline)\b", r"\bdue\s+date\b", r"\bdeadline\b", r"\bwanneer\b.*\b(?:betalen|vervalt|betaald)\b",
        r"\bvervaldag\b", r"\bvervaldatum\b", r"\bquand\b.*\b(?:payer|echeance|du)\b", r"\bdate\s+(?:limite|d'echeance)\b",
        r"\bquand\s+dois", r"\bwhen\s+is\s+it\s+due\b",
    ),
    "check_payment_status": (
        r"\b(?:did|have)\s+(?:you|u)\s+(?:get|got|receive|received)\b", r"\barrived?\b", r"\bontvangen\b", r"\baangekomen\b",
        r"\bbien\s+recu\b", r"\bavez[\s-]vous\s+recu\b", r"\barrive\b",
    ),
    "request_invoice_copy": (
        r"\bcopy\b", r"\bpdf\b", r"\bkopie\b", r"\bcopie\b", r"\bduplicat",
    ),
    "list_invoices": (
        r"\b(?:all|list)\b.*\b(?:bills|invoices)\b", r"\bmy\s+(?:bills|invoices)\b", r"\b(?:al\s+)?mijn\s+facturen\b",
        r"\bmes\s+factures\b", r"\btoutes\s+mes\s+factures\b",
    ),
    "check_balance": (
        r"\bhow\s+much\b.*\b(?:owe|left|open|to\s+pay)\b", r"\bwhat\s+do\s+i\s+owe\b", r"\bbalance\b", r"\bi\s+owe\b",
        r"\bhoeveel\b.*\b(?:betalen|open|schuld)\b", r"\bsaldo\b", r"\bcombien\b.*\b(?:dois|doit|reste|payer)\b", r"\bsolde\b",
    ),
    "pay_bill": (
        r"\b(?:want|like|wanna|need)\s+to\s+pay\b", r"\bpay\s+(?:now|it|my|the|online)\b", r"\bpayment\s+link\b",
        r"\b(?:wil|wil\s+graag|zou\s+graag)\b.*\bbetalen\b", r"\bbetaallink\b", r"\bnu\s+betalen\b",
        r"\b(?:veux|voudrais|aimerais)\s+payer\b", r"\blien\s+de\s+paiement\b", r"\bpayer\s+maintenant\b",
    ),
}
_COMPILED = {intent: [re.compile(pattern) for pattern in patterns] for intent, patterns in QUESTION_WORDS.items()}


def parts_of(message: str) -> list[str]:
    """The message cut at its joining words, without empty parts."""
    return [part.strip(" ,.!") for part in _JOINERS.split(plain(message or "")) if part.strip(" ,.!")]


def question_in(part: str) -> str | None:
    """The account question a part of a message asks, by its words, or None."""
    return next((intent for intent, patterns in _COMPILED.items() if any(p.search(part) for p in patterns)), None)


def other_questions(message: str, answered: str) -> list[str]:
    """The account questions a message asks besides the one answered, in the order asked; none when the message
    is one request. Only a message that joins two parts can ask two things: "why is it so high" alone asks one."""
    parts = parts_of(message)
    if len(parts) < 2:
        return []
    asked = [question_in(part) for part in parts]
    return [intent for intent in dict.fromkeys(asked) if intent is not None and intent != answered]
