"""Rate limits through the real servers (own stack, short windows): insurance checks per
conversation and overall, hit and released, with no clearinghouse call over a limit; a
booking locked after repeated wrong details."""

import time

import pytest

from bot.coverage import checks_for
from bot.limits import SLOW_DOWN
from bot.profile import load_profile
from tests.conftest import always_staffed
from tests.e2e import buttons, new_sender, say, texts
from tests.test_e2e_booking import book, code_in
from tests.test_e2e_channels import Chat, run_async

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
WINDOW = 75  # seconds: long enough for the checks below (on a busy machine), short enough
LIMITS = (
    f"coverage_checks_per_conversation=2/{WINDOW}s,coverage_checks_overall=3/{WINDOW}s,"
    "booking_proof_failures_per_booking=2/1h,"
    f"messages_per_conversation=3/{WINDOW}s"
)
JANE = ["Aetna", "PPO", "AETNA12345", "my own", "Jane", "Doe", "04/04/2004"]
REFUSED = "can't run another insurance check"


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory):
    from scripts.stack import Stack, scratch_environment

    state = tmp_path_factory.mktemp("limits")
    env = scratch_environment(
        state, {"PROGRAM_PROFILE": str(always_staffed(state)), "RATE_LIMITS": LIMITS}
    )
    running = Stack(env, log_dir=state / "log").start()
    yield running
    running.stop()


def check(stack, sender, answers=JANE, first=False):
    said = say(stack, sender, "/check_insurance")
    if first:
        said = say(stack, sender, "I agree")
    for text in answers:
        said = say(stack, sender, text)
    return texts(said), said


def test_insurance_checks_are_limited_per_conversation_and_overall_then_released(
    limited_stack,
):
    stack, db = limited_stack, limited_stack.env["DATABASE_URL"]
    a, b, c = new_sender("lim-a"), new_sender("lim-b"), new_sender("lim-c")
    said, _ = check(stack, a, first=True)
    opened = time.monotonic()  # the windows opened during that check, before this
    assert "estimate, not a guarantee of payment" in " ".join(said)
    said, _ = check(stack, a)
    assert "estimate, not a guarantee of payment" in " ".join(said)
    # A third check in this conversation: refused at once, before any question.
    said, messages = check(stack, a, answers=[])
    assert REFUSED in " ".join(said) and PROFILE.facts.program.phone in " ".join(said)
    assert "/request_human" in buttons(messages[-1])
    assert len(checks_for(a, db)) == 2

    # B starts under the overall limit; C's check fills it before B's last answer: B's
    # check is refused at the call, and no clearinghouse call is made for it.
    check(stack, b, answers=JANE[:-1], first=True)
    said, _ = check(stack, c, first=True)
    assert "estimate" in " ".join(said)
    said = texts(say(stack, b, JANE[-1]))
    assert REFUSED in " ".join(said), said
    assert checks_for(b, db) == [] and len(checks_for(c, db)) == 1

    assert time.monotonic() - opened < WINDOW  # all of the above inside the windows
    # The windows close WINDOW seconds after A's first check: A may check again.
    time.sleep(max(0.0, WINDOW + 1 - (time.monotonic() - opened)))
    said, _ = check(stack, a)
    assert "estimate, not a guarantee of payment" in " ".join(said), said
    assert len(checks_for(a, db)) == 3


def test_a_booking_is_locked_after_wrong_details_even_for_the_right_ones(limited_stack):
    stack = limited_stack
    code = code_in(book(stack, new_sender("lim-book"))[1])
    guesser = new_sender("lim-guess")
    say(stack, guesser, "/reschedule_appointment")
    say(stack, guesser, code)
    assert "once more" in " ".join(texts(say(stack, guesser, "(512) 555-0199")))
    say(stack, guesser, code)
    locked = " ".join(texts(say(stack, guesser, "(512) 555-0198")))
    assert "can't look this one up right now" in locked
    assert PROFILE.facts.program.phone in locked
    owner = new_sender("lim-owner")
    say(stack, owner, "/reschedule_appointment")
    say(stack, owner, code)
    said = " ".join(texts(say(stack, owner, "(512) 555-0142")))  # the right phone
    assert "can't look this one up right now" in said, said


def test_widget_messages_are_limited_per_conversation_but_a_crisis_always_gets_through(
    limited_stack,
):
    async def scenario() -> None:
        chat = Chat(limited_stack.rasa_url)
        await chat.open()
        for question in ["how many people are in a group?", "how long is it?", "cost?"]:
            await chat.say(question)
            assert SLOW_DOWN not in await chat.texts()
        await chat.say("and do you take aetna?")  # the fourth in the window
        assert await chat.texts() == [SLOW_DOWN]
        await chat.say("i just want to kill myself")
        crisis = " ".join(await chat.texts())
        assert SLOW_DOWN not in crisis and "988" in crisis and "911" in crisis
        await chat.close()

    run_async(scenario())
