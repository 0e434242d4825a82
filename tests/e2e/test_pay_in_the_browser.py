"""The whole 'pay now' journey: a link in the chat, paid in a real browser, confirmed in the chat."""
from __future__ import annotations

import re
import uuid

from settle.tooling.seed import PERSONAS

NOOR = next(p for p in PERSONAS if p.shape == "partly_paid")


def test_pay_from_the_chat_in_the_browser_and_the_bot_confirms(stack, browser):
    me = f"e2e-pay-{uuid.uuid4()}"
    stack.say(me, "I want to pay my bill")
    stack.say(me, NOOR.customer_number)
    stack.say(me, NOOR.postcode)
    replies = stack.say(me, NOOR.date_of_birth.strftime("%d/%m/%Y"))
    link_reply = next(reply for reply in replies if "/pay/" in reply)
    link = re.search(r"(http://\S+/pay/\S+)", link_reply).group(1)
    amount = re.search(r"pay (€[\d,]+\.\d\d)", link_reply).group(1)

    page = browser.new_page()
    page.goto(link)
    assert amount in page.locator("#amount-to-pay").inner_text()
    qr = page.locator("figure.qr svg")
    assert qr.count() >= 1 and qr.first.is_visible()
    page.get_by_role("button", name=re.compile("Pay online")).click()
    page.wait_for_url(re.compile(r"/sandbox/checkout/"))
    assert amount in page.content()
    page.get_by_role("button", name=f"Pay {amount}").click()
    page.wait_for_url(re.compile(r"/done$"))
    assert "This bill is paid" in page.locator("h1").inner_text()
    page.close()

    replies = stack.say(me, "did you get my payment?")
    assert any("we received" in reply and amount in reply for reply in replies), replies
    assert any("Nothing is open anymore" in reply for reply in replies), replies
