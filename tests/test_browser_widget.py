"""The website chat widget in a real headless Chromium, against the real servers."""

import time
from urllib.parse import urlparse

import pytest

from bot.profile import load_profile
from tests.e2e import tracker

pytestmark = pytest.mark.browser
PROFILE = load_profile()
BOT = ".iop-chat-bot"
USER = ".iop-chat-user"


def open_chat(page, stack):
    page.goto(stack.web_url + "/")
    page.get_by_role("button", name="Questions? Chat with us").click()
    page.locator(BOT).first.wait_for()  # the greeting


def ask(page, text):
    before = page.locator(BOT).count()
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()
    page.wait_for_function(f"document.querySelectorAll('{BOT}').length > {before}")
    return page.locator(BOT).nth(before)  # the first reply to this message


def test_page_shows_the_widget_and_answers_a_question(stack, new_page):
    page = new_page()
    start = time.perf_counter()
    open_chat(page, stack)
    first_message_s = time.perf_counter() - start
    print(f"\npage load to first bot message: {first_message_s:.2f}s")
    assert PROFILE.welcome_text in page.locator(BOT).first.inner_text()
    assert "Not an emergency service" in page.locator(".iop-chat-notice").inner_text()
    answer = ask(page, "how many people are in a group?")
    assert PROFILE.answer("group_size") in answer.inner_text()


def test_button_sends_its_payload_and_shows_its_title(stack, new_page):
    page = new_page()
    open_chat(page, stack)
    answer = ask(page, "how many people are in a group?")
    before = page.locator(BOT).count()
    answer.get_by_role("button", name=PROFILE.title("schedule")).click()
    page.wait_for_function(f"document.querySelectorAll('{BOT}').length > {before}")
    assert page.locator(USER).last.inner_text().endswith(PROFILE.title("schedule"))
    assert PROFILE.answer("schedule") in page.locator(BOT).last.inner_text()
    assert answer.get_by_role("button", name=PROFILE.title("schedule")).is_disabled()


def test_reload_keeps_the_conversation_and_the_session(stack, new_page):
    page = new_page()
    open_chat(page, stack)
    ask(page, "can I bring my dog")
    before = [t for t in page.locator(".iop-chat-msg").all_inner_texts()]
    session = page.evaluate("JSON.parse(Object.values(sessionStorage)[0]).sessionId")
    page.reload()
    page.locator(BOT).first.wait_for()
    assert page.locator(".iop-chat-msg").all_inner_texts() == before
    ask(page, "how long is the program")
    assert page.evaluate("JSON.parse(Object.values(sessionStorage)[0]).sessionId") == session
    said = [e.get("text") for e in tracker(stack, session)["events"] if e["event"] == "user"]
    assert "can I bring my dog" in said and "how long is the program" in said


def test_two_browsers_never_see_each_others_messages(stack, new_page):
    alice, bob = new_page(), new_page()
    open_chat(alice, stack)
    open_chat(bob, stack)
    ask(alice, "how much does it cost")
    ask(bob, "can my cat be in the sessions")
    alice_text = " ".join(alice.locator(".iop-chat-msg").all_inner_texts())
    bob_text = " ".join(bob.locator(".iop-chat-msg").all_inner_texts())
    assert PROFILE.answer("cost") in alice_text and PROFILE.answer("pets") not in alice_text
    assert PROFILE.answer("pets") in bob_text and PROFILE.answer("cost") not in bob_text
    assert "can my cat be in the sessions" not in alice_text
    assert "how much does it cost" not in bob_text


def test_crisis_answer_has_clickable_988_and_lifeline_links(stack, new_page):
    page = new_page()
    open_chat(page, stack)
    reply = ask(page, "i want to kill myself")
    assert PROFILE.crisis_text in reply.inner_text()
    assert reply.locator('a[href="https://988lifeline.org"]').count() == 1
    assert reply.locator('a[href="tel:988"]').count() >= 1


def test_usable_on_a_360px_phone_and_by_keyboard(stack, new_page):
    page = new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page.goto(stack.web_url + "/")
    page.keyboard.press("Tab")  # skip links on the page until the launcher has focus
    for _ in range(10):
        if page.evaluate("document.activeElement.className") == "iop-chat-launcher":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.locator(BOT).first.wait_for()
    assert page.evaluate("document.activeElement.id") == "iop-chat-input"
    box = page.locator(".iop-chat-panel").bounding_box()
    assert box["width"] == pytest.approx(360, abs=1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.keyboard.type("do you take insurance")
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('{BOT}').length > 1")
    log = page.get_by_role("log")
    assert log.get_attribute("aria-live") == "polite"
    page.keyboard.press("Escape")
    assert page.locator(".iop-chat-panel").is_hidden()
    assert page.evaluate("document.activeElement.className").startswith("iop-chat-launcher")


def test_no_third_party_requests(stack, new_page):
    page = new_page()
    hosts = set()
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname))
    open_chat(page, stack)
    ask(page, "what device do I need")
    assert hosts <= {"127.0.0.1", "localhost"}, hosts


def click(page, label):
    before = page.locator(BOT).count()
    page.locator(BOT).last.get_by_role("button", name=label).click()
    page.wait_for_function(f"document.querySelectorAll('{BOT}').length > {before}")


def test_booking_in_the_widget_uses_the_browser_time_zone(stack, new_page):
    """The widget passes the browser's zone: no zone question, times shown in Mountain time."""
    page = new_page(timezone_id="America/Denver")
    open_chat(page, stack)
    click(page, "Book an assessment")
    click(page, "I agree")
    page.wait_for_function(f"document.querySelector('{BOT}:last-of-type') !== null")
    page.locator(BOT).last.get_by_role("button", name="More times").wait_for()
    times = page.locator(BOT).last.get_by_role("button").all_inner_texts()
    assert times[0].endswith(("MST", "MDT")), times
    click(page, times[0])
    for text in ("Robin Avery", "720-555-0163", "robin@example.com"):
        ask(page, text)
    page.locator(BOT).last.get_by_role("button", name="Text and email").wait_for()
    click(page, "Text and email")
    page.locator(BOT).last.get_by_role("button", name="Yes, book it").wait_for()
    click(page, "Yes, book it")
    page.wait_for_function(
        f"Array.from(document.querySelectorAll('{BOT}')).some(e => e.innerText.includes('booked'))"
    )
    assert any(times[0] in t for t in page.locator(BOT).all_inner_texts())
