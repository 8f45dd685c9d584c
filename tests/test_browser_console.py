"""The coordinator console in real Chromium, next to a person's chat widget: a request for a
person appears in the queue without a reload, and a coordinator claims it."""

import secrets
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.console.accounts import add_coordinator
from tests.e2e import new_sender, say
from tests.test_browser_widget import ask, open_chat

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
RESULTS = Path(__file__).resolve().parents[1] / "results"


def sign_in(page, stack, name="Alex"):
    email = f"{secrets.token_hex(4)}@example.org"
    add_coordinator(email, name, PASSWORD, db_url=stack.env["DATABASE_URL"])
    page.goto(stack.web_url + "/console/")  # redirected to the sign-in page
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Waiting for a person").wait_for()


def test_a_person_asking_for_a_person_appears_live_and_is_claimed(stack, new_page):
    person, coordinator = new_page(), new_page()
    sign_in(coordinator, stack)
    open_chat(person, stack)
    session = person.evaluate("JSON.parse(Object.values(sessionStorage)[0]).sessionId")
    asked = time.perf_counter()
    ask(person, "I'd like to talk to a real person")
    row = coordinator.locator(
        "#queue tbody tr", has=coordinator.locator(f"code:text-is('{session}')")
    )
    row.wait_for(timeout=15_000)  # no reload: the page's event stream brought it
    print(f"\nrequest to queue row: {time.perf_counter() - asked:.2f}s")
    assert "Asked for a person" in row.inner_text()
    row.get_by_role("button", name="Claim").click()
    coordinator.get_by_text("You have this conversation.").wait_for()
    row.get_by_text("With Alex").wait_for()


def test_what_a_person_typed_is_shown_as_text_in_the_console(stack, new_page):
    coordinator = new_page()
    sign_in(coordinator, stack, name="Sam")
    sender = new_sender() + "<img src=x onerror=alert(1)>"
    say(stack, sender, "/request_human")
    coordinator.locator("#queue code", has_text="onerror=alert(1)").first.wait_for(timeout=15_000)
    assert coordinator.locator("#queue img").count() == 0


def test_a_coordinator_takes_over_the_widget_live_and_hands_back(stack, new_page):
    """The issue's walk-through: a person asks for a person, the coordinator claims, both
    talk in real time, the coordinator returns the chat, and the assistant answers again."""
    person, coordinator = new_page(), new_page()
    sign_in(coordinator, stack)
    open_chat(person, stack)
    session = person.evaluate("JSON.parse(Object.values(sessionStorage)[0]).sessionId")
    ask(person, "can I talk to a person")
    row = coordinator.locator(
        "#queue tbody tr", has=coordinator.locator(f"code:text-is('{session}')")
    )
    row.wait_for(timeout=15_000)
    row.get_by_role("link").click()  # open the conversation
    coordinator.get_by_role("button", name="Claim to reply").click()
    started = time.perf_counter()
    person.get_by_text("Alex from our intake team has joined the chat.").wait_for(timeout=5_000)
    print(f"\nclaim to join notice in the widget: {time.perf_counter() - started:.2f}s")

    coordinator.get_by_label("Message to the person").fill("Hi, I'm Alex. What's on your mind?")
    started = time.perf_counter()
    coordinator.get_by_role("button", name="Send").click()
    person.get_by_text("Hi, I'm Alex. What's on your mind?").wait_for(timeout=5_000)
    print(f"coordinator message to widget: {time.perf_counter() - started:.2f}s")

    person.get_by_label("Your message").fill("I wanted to ask about evening groups")
    person.get_by_role("button", name="Send").click()
    coordinator.locator("#transcript li.person", has_text="evening groups").wait_for(timeout=5_000)

    # The console with a live conversation, for the README and the closing note.
    RESULTS.mkdir(exist_ok=True)
    coordinator.screenshot(path=str(RESULTS / "console-takeover.png"), full_page=True)
    coordinator.get_by_role("button", name="Return to the assistant").click()
    person.get_by_text("has handed the chat back to the assistant").wait_for(timeout=5_000)
    reply = ask(person, "how many people are in a group?")
    assert "capped at" in reply.inner_text()


def claimed_in_the_console(person, coordinator, stack):
    """A person asks for a person in the widget; the coordinator opens it and claims it."""
    open_chat(person, stack)
    session = person.evaluate("JSON.parse(Object.values(sessionStorage)[0]).sessionId")
    ask(person, "can I talk to a person")
    row = coordinator.locator(
        "#queue tbody tr", has=coordinator.locator(f"code:text-is('{session}')")
    )
    row.wait_for(timeout=15_000)
    row.get_by_role("link").click()
    coordinator.get_by_role("button", name="Claim to reply").click()
    person.get_by_text("Alex from our intake team has joined the chat.").wait_for(timeout=5_000)


def test_each_side_sees_when_the_other_is_typing(stack, new_page):
    person, coordinator = new_page(), new_page()
    sign_in(coordinator, stack)
    claimed_in_the_console(person, coordinator, stack)
    team_typing = person.locator(".iop-chat-team-typing")

    # The coordinator types: the widget says so (the Rasa server's coordinator_typing event).
    coordinator.get_by_label("Message to the person").press_sequentially("Let me check", delay=20)
    team_typing.get_by_text("Someone from the intake team is typing…").wait_for(timeout=5_000)
    assert team_typing.get_attribute("aria-live") == "polite"
    # Emptying the box takes it away again.
    coordinator.get_by_label("Message to the person").fill("")
    person.wait_for_function(
        "document.querySelector('.iop-chat-team-typing').textContent === ''", timeout=5_000
    )
    # Typing and then pausing: it goes by itself after about 6 s without a refresh.
    coordinator.get_by_label("Message to the person").fill("Let me")
    team_typing.get_by_text("Someone from the intake team is typing…").wait_for(timeout=5_000)
    shown = time.perf_counter()
    person.wait_for_function(
        "document.querySelector('.iop-chat-team-typing').textContent === ''", timeout=10_000
    )
    assert time.perf_counter() - shown > 4
    # And the message itself replaces it.
    coordinator.get_by_label("Message to the person").fill("Evening groups start at 6.")
    team_typing.get_by_text("Someone from the intake team is typing…").wait_for(timeout=5_000)
    coordinator.get_by_role("button", name="Send").click()
    person.get_by_text("Evening groups start at 6.").wait_for(timeout=5_000)
    assert team_typing.inner_text() == ""

    # The person types: the console says so, and stops saying it once they are quiet.
    person.get_by_label("Your message").press_sequentially("I was wondering", delay=20)
    status = coordinator.locator("#person-typing")
    expect(status).to_have_text("The person is typing…", timeout=5_000)
    # (The console's CSP allows no eval, so no wait_for_function on its pages.)
    expect(status).to_have_text("", timeout=10_000)


# Counts the console's beeps: every Web Audio oscillator the page starts.
COUNT_BEEPS = """
window.beeps = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function () {
  window.beeps += 1;
  return start.apply(this, arguments);
};
"""


def test_a_crisis_in_a_widget_raises_the_queue_alert(stack, new_page):
    person, coordinator = new_page(), new_page()
    coordinator.add_init_script(COUNT_BEEPS)
    sign_in(coordinator, stack)
    open_chat(person, stack)
    session = person.evaluate("JSON.parse(Object.values(sessionStorage)[0]).sessionId")
    said = "i want to kill myself tonight"
    ask(person, said)
    row = coordinator.locator(
        "#queue tbody tr.crisis", has=coordinator.locator(f"code:text-is('{session}')")
    )
    row.wait_for(timeout=15_000)
    escalation = row.get_attribute("data-id")
    banner = coordinator.get_by_role("alert")
    expect(banner.get_by_role("link", name="Open the conversation")).to_have_attribute(
        "href", f"/console/conversation/{escalation}", timeout=5_000
    )
    assert banner.is_visible() and "Crisis: suicidal" in banner.inner_text()
    assert said not in banner.inner_text() and session not in banner.inner_text()  # no PHI
    expect(coordinator).to_have_title("(!) Crisis – Intake console")
    assert coordinator.evaluate("window.beeps") >= 1
    banner.get_by_role("button", name="Dismiss").click()
    assert banner.is_hidden()
    expect(coordinator).to_have_title("Queue · Intake console")

    # A console opened while the crisis waits shows the banner at once.
    later = new_page()
    sign_in(later, stack, name="Sam")
    opened = later.get_by_role("alert").get_by_role("link", name="Open the conversation")
    opened.wait_for()
    opened.click()  # to a crisis conversation's page
    later.get_by_role("heading", name="Private notes").wait_for()
