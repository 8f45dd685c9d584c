"""The crisis answer survives faults, and the conversation goes on kindly after it (issue 12).

- The 988/911 text is a response of the Rasa server itself: it goes out with the action
  server stopped and with the app database unreachable.
- After the offer of a person, "yes" (or "please", "ok", "someone call me") leads to a
  call-back request a coordinator sees; "no" gets a gentle close that keeps 988 in sight.
"""

import os
import signal

import pytest

from bot.consent import CONSENT
from bot.handoff import PRIORITY_CRISIS, for_conversation
from bot.profile import load_profile
from tests.e2e import new_sender, say, texts, tracker

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
CRISIS = "I want to kill myself"


def _callbacks(sender, db_url):
    from sqlalchemy import select

    from bot.scheduling.models import Callback
    from bot.store import session

    with session(db_url) as s:
        return list(s.execute(select(Callback).where(Callback.conversation_id == sender)).scalars())


def test_yes_after_the_crisis_offer_takes_a_call_back_request(stack):
    sender = new_sender("offer")
    said = texts(say(stack, sender, CRISIS))
    assert said == [PROFILE.crisis_text, PROFILE.crisis_followup], said
    said = texts(say(stack, sender, "yes"))
    assert CONSENT.text in said, said  # personal details only after consent
    said = texts(say(stack, sender, CONSENT.agree))
    assert any("phone number" in t for t in said), said
    assert any("911" in t for t in said), said  # the way to help now is repeated
    said = texts(say(stack, sender, "512-555-0142"))
    assert any("good time" in t for t in said), said
    said = texts(say(stack, sender, "as soon as possible"))
    assert any("saved your request for our intake team and marked it urgent" in t for t in said), (
        said
    )
    db_url = stack.env["DATABASE_URL"]
    [callback] = _callbacks(sender, db_url)
    assert callback.contact["phone"] == "+15125550142"
    reasons = [(e.priority, e.reason) for e in for_conversation(sender, db_url)]
    assert (PRIORITY_CRISIS, "callback_requested") in reasons


@pytest.mark.parametrize("reply", ["please", "ok", "someone call me", "Yes, please"])
def test_other_ways_of_saying_yes_to_the_offer(stack, reply):
    sender = new_sender("offer")
    say(stack, sender, CRISIS)
    said = texts(say(stack, sender, reply))
    assert CONSENT.text in said, said
    assert tracker(stack, sender)["active_loop"].get("name") == "intake_form"


def test_no_after_the_crisis_offer_gets_a_gentle_close(stack):
    sender = new_sender("offer")
    say(stack, sender, CRISIS)
    said = texts(say(stack, sender, "no"))
    assert said == [PROFILE.crisis_close], said
    assert "988" in said[0]
    # The offer is over: a later "yes" is an ordinary yes, not a call-back request.
    assert CONSENT.text not in texts(say(stack, sender, "yes"))


def test_the_crisis_answer_needs_only_the_rasa_server(stack):
    actions = next(p for p in stack.processes if p.name == "action server")
    os.killpg(actions.popen.pid, signal.SIGKILL)
    actions.popen.wait(timeout=15)
    try:
        for text in (CRISIS, "my boyfriend took a bunch of pills and he's not waking up"):
            said = texts(say(stack, new_sender("down"), text))
            assert said and said[0] == PROFILE.crisis_text, said
    finally:
        stack.restart_actions({})
    said = texts(say(stack, new_sender("back"), CRISIS))
    assert said == [PROFILE.crisis_text, PROFILE.crisis_followup], said


def test_the_crisis_answer_with_the_database_unreachable(stack):
    db_url = stack.env["DATABASE_URL"]
    stack.restart_actions({"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/unreachable"})
    try:
        sender = new_sender("nodb")
        said = texts(say(stack, sender, CRISIS))
        # 988/911 first; then the offer, without claiming a flag nobody recorded.
        assert said == [PROFILE.crisis_text, PROFILE.crisis_offer_unflagged], said
    finally:
        stack.restart_actions({"DATABASE_URL": db_url})
    assert for_conversation(sender, db_url) == []
