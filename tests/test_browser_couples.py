"""Couples enrollment in two real browser tabs (headless Chromium, separate browser
profiles, as two partners on two devices): the invitation link opens the chat already
joining, and the quick exit leaves nothing of the chat on the screen or in the tab."""

import re
import time

import pytest

from bot import couples
from bot.consent import CONSENT
from tests.e2e import tracker
from tests.test_browser_widget import BOT, USER, ask, open_chat

pytestmark = pytest.mark.browser
EXIT = "https://www.google.com/"


def click(page, name):
    """Tap the newest button of that name, once the reply that carries it has come."""
    button = page.locator(f"{BOT} button:enabled").filter(has_text=name).last
    button.wait_for()
    button.click()


def shown(page, text):
    page.wait_for_function(f"document.querySelector('.iop-chat-log').innerText.includes({text!r})")


def test_two_tabs_enroll_as_a_couple_and_the_quick_exit_clears_the_chat(stack, new_page):
    a = new_page()
    open_chat(a, stack)
    ask(a, "my husband and I want to sign up together as a couple")
    # The couples answer (how couples take part) offers to enroll.
    click(a, "Enroll as a couple")
    click(a, CONSENT.agree)
    click(a, CONSENT.couples.agree)
    shown(a, "#couple=")
    link = a.locator(f"{BOT} a[href*='#couple=']").first.get_attribute("href")
    code = re.search(r"code ([0-9A-Z]{4}-[0-9A-Z]{4})", a.locator(".iop-chat-log").inner_text())
    assert code, "the code is shown with the link"

    # The partner opens the link on their own device: the chat opens, already joining.
    b = new_page()
    b.route(EXIT + "**", lambda route: route.fulfill(body="<title>Weather</title>elsewhere"))
    b.goto(link)
    b.locator(USER).first.wait_for()
    assert "#couple=" not in b.url  # gone from the address bar and the tab's history
    assert b.locator(USER).first.inner_text().endswith("I'm joining my partner")
    click(b, CONSENT.agree)
    click(b, CONSENT.couples.agree)
    shown(b, "linked with your partner")
    conversation = b.evaluate("JSON.parse(Object.values(sessionStorage)[0]).sessionId")
    assert couples.couple_id_of(conversation, stack.env["DATABASE_URL"]) is not None

    # The private questions, with a quick exit in the question and in the header.
    ask(b, "private questions")
    shown(b, "somewhere private")
    assert b.locator(".iop-chat-exit").is_visible()
    click(b, "Quick exit")
    b.wait_for_url(EXIT)
    # Back on the site (or after a reload): an empty, new chat; nothing of the old one.
    b.goto(link.split("#")[0])  # the same site the link opened
    kept = b.evaluate("JSON.parse(Object.values(sessionStorage)[0] || 'null')")
    assert kept is None or (kept["messages"] == [] and kept["sessionId"] is None), kept
    b.get_by_role("button", name="Questions? Chat with us").click()
    b.locator(BOT).first.wait_for()
    log = b.locator(".iop-chat-log").inner_text()
    assert "joining" not in log and "private" not in log and "linked" not in log
    assert b.evaluate("JSON.parse(Object.values(sessionStorage)[0]).sessionId") != conversation
    # The assistant was told: the old conversation's last message is the quick exit.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        latest = tracker(stack, conversation)["latest_message"]
        if latest.get("text") == "/quick_exit":
            break
        time.sleep(0.3)
    assert latest.get("text") == "/quick_exit"
    assert not couples.safety_checked(conversation, stack.env["DATABASE_URL"])
