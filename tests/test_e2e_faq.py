"""The FAQ through the real Rasa and action servers: plan types, unfilled topics, two
questions at once, follow-ups and the "Did you mean …?" rule (bot.faq)."""

import pytest

from bot.profile import load_profile
from tests.e2e import new_sender, say, texts

pytestmark = pytest.mark.e2e
PROFILE = load_profile()


@pytest.mark.parametrize(
    "question, topic",
    [
        ("do you take medicare?", "medicare"),
        ("my insurance is through medicaid, can I still come", "medicaid"),
        ("does tricare cover this program", "tricare"),
        ("is an hmo plan ok", "hmo_plans"),
    ],
)
def test_insurance_questions_are_answered_for_the_plan_named(stack, question, topic):
    # Medicare and Medicaid are not accepted in the sample profile: never a "yes".
    said = texts(say(stack, new_sender(), question))
    assert said == [PROFILE.answer(topic)]
    if topic in ("medicare", "medicaid"):
        assert "can't accept" in said[0]


def test_an_unfilled_topic_is_honest_and_offers_a_person(stack):
    messages = say(stack, new_sender(), "do you have spanish speaking therapists")
    assert texts(messages) == [PROFILE.message("unknown")]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_human"]


def test_two_questions_in_one_message_get_both_answers(stack):
    said = texts(say(stack, new_sender(), "how big are the groups and how much does it cost?"))
    assert said == [PROFILE.answer("group_size"), PROFILE.answer("cost")]


def test_a_follow_up_is_read_with_the_question_before(stack):
    sender = new_sender()
    assert texts(say(stack, sender, "do you take medicare?")) == [PROFILE.answer("medicare")]
    assert texts(say(stack, sender, "what about medicaid")) == [PROFILE.answer("medicaid")]


def test_a_question_the_models_disagree_on_gets_did_you_mean(stack):
    # Staff per group: ratios or group size? Asked, not guessed.
    messages = say(stack, new_sender(), "how many staff per group")
    said = texts(messages)
    assert said[0] in (PROFILE.fallback.did_you_mean, PROFILE.answer("ratios"))
    assert said[0] != PROFILE.answer("group_size")
