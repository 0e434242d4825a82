"""Nothing kept holds a card number or a verification answer: a real chat over REST, then every file the stack
wrote (the tracker store, Settle's database, the logs) read byte for byte, and the agent console's pages."""
from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

import requests
from sqlalchemy import select
from sqlalchemy.engine import make_url

from settle.db import session_factory
from settle.identity.verification import issue_app_token
from settle.models import Customer
from settle.tooling.seed import DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, PERSONAS
from tests.conftest import NOW
from tests.e2e.conftest import APP_TOKEN_SECRET, RASA_API_TOKEN, signed
from tests.e2e.test_agent_takeover import escalation_of

CARD = "4111 1111 1111 1111"
CARD_AGAIN = "5555-5555-5555-4444"  # typed while an agent has the chat
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def spellings(postcode: str, born: date) -> dict[str, re.Pattern[bytes]]:
    """How each secret can be written down: the card numbers in any spacing, the postcode as a number of its
    own, the date of birth as typed and as stored."""
    def card(number: str) -> re.Pattern[bytes]:
        digits = re.sub(r"\D", "", number)
        return re.compile(r"[ \-]?".join(re.escape(group) for group in re.findall(".{4}", digits) or [digits]).encode())

    return {
        "card number": card(CARD),
        "second card number": card(CARD_AGAIN),
        "postcode": re.compile(rf"(?<![0-9]){postcode}(?![0-9])".encode()),
        "date of birth": re.compile("|".join([born.strftime("%d/%m/%Y"), born.isoformat()]).encode()),
    }


def occurrences(work: Path, patterns: dict[str, re.Pattern[bytes]]) -> dict[tuple[str, str], int]:
    """How often each secret appears in each file under the stack's work directory."""
    found = {}
    for path in sorted(work.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for name, pattern in patterns.items():
                found[(path.name, name)] = len(pattern.findall(data))
    return found


def a_customer_of_our_own(stack, work: Path) -> Customer:
    """A customer no other test uses whose postcode shows up nowhere yet but in the customers table."""
    with session_factory(stack.database_url).begin() as session:
        customers = session.execute(select(Customer).order_by(Customer.id.desc())).scalars().all()
        session.expunge_all()
    personas = {persona.customer_number for persona in PERSONAS} | {persona.postcode for persona in PERSONAS}
    for customer in customers:
        if customer.customer_number in personas or customer.postcode in personas or customer.postcode[:2] in ("19", "20"):
            continue
        seen = occurrences(work, {"postcode": spellings(customer.postcode, customer.date_of_birth)["postcode"]})
        if not any(count for (file, _), count in seen.items() if file != "settle.db"):
            return customer
    raise AssertionError("every seeded customer's postcode is already somewhere in the logs")


def console(stack) -> requests.Session:
    """The demo agent, logged in to the console."""
    agent = requests.Session()
    login = agent.get(f"{stack.web_url}/agent/login", timeout=30)
    token = CSRF.search(login.text)[1]
    logged_in = agent.post(f"{stack.web_url}/agent/login", timeout=30,
                           data={"email": DEMO_AGENT_EMAIL, "password": DEMO_AGENT_PASSWORD, "csrf_token": token, "next": "/agent"})
    assert logged_in.ok and "Conversations" in logged_in.text
    return agent


def test_no_card_number_and_no_verification_answer_is_kept_anywhere(stack):
    work = Path(make_url(stack.database_url).database).parent
    customer = a_customer_of_our_own(stack, work)
    secrets = spellings(customer.postcode, customer.date_of_birth)
    before = occurrences(work, secrets)
    me = signed(f"e2e-storage-{uuid.uuid4()}")

    stack.say(me, f"my card is {CARD}")
    stack.say(me, "what is my balance")
    stack.say(me, customer.customer_number)
    replies = stack.say(me, customer.postcode)
    if any("birth" in reply for reply in replies):  # the form asks for both
        replies = stack.say(me, customer.date_of_birth.strftime("%d/%m/%Y"))
    assert any(customer.first_name in reply for reply in replies), replies  # verified
    stack.say(me, "can I talk to a real person please")
    escalation_id = escalation_of(stack, me)

    agent = console(stack)
    page = agent.get(f"{stack.web_url}/agent/conversations/{escalation_id}", timeout=30)
    assert page.ok and "what is my balance" in page.text  # the transcript is there
    claimed = agent.post(f"{stack.web_url}/agent/conversations/{escalation_id}/claim", timeout=30,
                         data={"csrf_token": CSRF.search(page.text)[1]})
    assert claimed.ok
    stack.say(me, f"the card I paid with is {CARD_AGAIN}")
    pages = [agent.get(f"{stack.web_url}/agent/conversations/{escalation_id}{part}", timeout=30).text for part in ("", "/messages")]
    assert "the card I paid with is" in pages[1]  # the relayed message reached the agent
    tracker = requests.get(f"{stack.rasa_url}/conversations/{me}/tracker", params={"token": RASA_API_TOKEN}, timeout=30).text

    for name, pattern in secrets.items():
        for shown, text in [("the conversation page", pages[0]), ("the messages", pages[1]), ("Rasa's tracker", tracker)]:
            assert not pattern.search(text.encode()), f"the {name} is on {shown}"
    after = occurrences(work, secrets)
    leaked = {key: count for key, count in after.items() if count > before.get(key, 0)}
    assert not leaked, f"kept in the clear (file, secret): {leaked}"


def test_an_apps_token_is_not_kept_either(stack):
    work = Path(make_url(stack.database_url).database).parent
    customer = a_customer_of_our_own(stack, work)
    token = issue_app_token(customer.customer_number, APP_TOKEN_SECRET, NOW)
    me = signed(f"e2e-storage-{uuid.uuid4()}")

    replies = stack.say(me, "what is my balance", metadata={"auth_token": token, "language": "en"})  # the app in English

    assert any("In total you have" in reply for reply in replies), replies  # verified by the token
    tracker = requests.get(f"{stack.rasa_url}/conversations/{me}/tracker", params={"token": RASA_API_TOKEN}, timeout=30).text
    assert token not in tracker
    kept = {path.name for path in work.rglob("*") if path.is_file() and token.encode() in path.read_bytes()}
    assert not kept, f"the app's token is kept in {kept}"
