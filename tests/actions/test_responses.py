"""Every response an action can send exists in domain.yml, so a designer's rename can't break a reply silently."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from settle.models import InvoiceStatus
from tests.actions.conftest import DOMAIN, placeholders

ROOT = Path(__file__).parents[2]
ACTION_CODE = "\n".join(path.read_text() for path in (ROOT / "actions").glob("*.py"))
CORE_CODE = "\n".join(path.read_text() for folder in ("settle", "channels", "components") for path in (ROOT / folder).rglob("*.py"))
#: "utter_action" is the key under which Rasa notes, in a bot message's metadata, the response it came from.
NAMED_IN_CODE = sorted(set(re.findall(r'"(utter_[a-z_]*[a-z])"', ACTION_CODE + CORE_CODE)) - {"utter_action"})
REMINDER_POLICY = yaml.safe_load((ROOT / "policy" / "reminders.yml").read_text())
NAMED_IN_POLICY = {stage[field] for key in ("stages", "instalment_stages") for stage in REMINDER_POLICY[key]
                   for field in ("response", "several_bills_response") if field in stage}
NAMED_BY_PREFIX_IN_CODE = set(re.findall(r'f"(utter_[a-z_]+)\{', ACTION_CODE))
DIALOGUE_DATA = "\n".join(path.read_text() for path in (ROOT / "data").rglob("*.yml") if "nlu" not in path.parts)
EXPLANATION_KINDS = ["usage_up", "usage_down", "price_up", "price_down", "one_off", "fee", "fixed_up", "fixed_down"]


@pytest.mark.parametrize("response", NAMED_IN_CODE)
def test_responses_named_in_actions_exist(response):
    assert response in DOMAIN["responses"]


@pytest.mark.parametrize("state", [s.value for s in InvoiceStatus if s != InvoiceStatus.CANCELLED] + ["overdue"])
def test_every_invoice_state_has_a_line_in_the_invoice_list(state):
    assert f"utter_invoice_{state}" in DOMAIN["responses"]


@pytest.mark.parametrize("kind", EXPLANATION_KINDS + ["higher", "lower", "same", "first", "small_change"])
def test_every_bill_explanation_has_a_sentence(kind):
    assert f"utter_explain_bill_{kind}" in DOMAIN["responses"]


def test_every_form_slot_has_a_question_and_a_correction():
    for slot in DOMAIN["forms"]["verify_customer_form"]["required_slots"]:
        assert f"utter_ask_{slot}" in DOMAIN["responses"]
        assert f"utter_invalid_{slot}" in DOMAIN["responses"]


@pytest.mark.parametrize("response", sorted(DOMAIN["responses"]))
def test_every_response_is_used(response):
    """Rasa's own check only sees rules and stories; this one also counts what actions, forms and reminders send."""
    used = (
        f"action: {response}" in DIALOGUE_DATA
        or response in NAMED_IN_CODE
        or response in NAMED_IN_POLICY
        or any(response.startswith(prefix) for prefix in NAMED_BY_PREFIX_IN_CODE)
        or response.removeprefix("utter_ask_") in DOMAIN["slots"]
    )
    assert used, f"{response} is sent by no rule, story, action or form"


@pytest.mark.parametrize("response", sorted(NAMED_IN_POLICY))
def test_every_reminder_stage_has_its_text(response):
    assert response in DOMAIN["responses"]


#: Values the reminder engine passes to every reminder text (settle/outreach/reminders.py content_for).
REMINDER_VALUE_NAMES = set(re.findall(r'"([a-z_]+)": ', (ROOT / "settle" / "outreach" / "reminders.py").read_text()))


def passed_by_code(name: str) -> bool:
    """Whether some action or core code hands over a value of this name: `name=` or a `"name"` key."""
    return re.search(rf"\b{name}\s*=[^=]|[\"']{name}[\"']", ACTION_CODE + CORE_CODE) is not None


@pytest.mark.parametrize("response", sorted(DOMAIN["responses"]))
def test_every_placeholder_of_a_response_is_filled_by_someone(response):
    """A typo such as {totl} in a text fails here, before a customer reads it; the dispatcher in the action tests
    also checks every response it sees sent against the values that came with it."""
    for variation in DOMAIN["responses"][response]:
        for name in placeholders(variation.get("text") or ""):
            filled = name in DOMAIN["slots"] or passed_by_code(name) or (response in NAMED_IN_POLICY and name in REMINDER_VALUE_NAMES)
            assert filled, f"{response} needs {{{name}}}, which no slot, action or core function provides"
