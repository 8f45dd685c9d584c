"""Which FAQ answer a question gets: the plan type named decides insurance answers, and an
unsure classifier never answers a topic."""

import pytest

from bot.coverage.parsing import mentioned_plan
from bot.faq import answer_topic, confident


@pytest.mark.parametrize(
    "text, plan",
    [
        ("do you take medicare?", "medicare"),
        ("I'm on a Medicare Advantage PPO", "medicare"),
        ("my insurance is through medicaid, can I still come", "medicaid"),
        ("we have state insurance", "medicaid"),
        ("does tricare cover this", "tricare"),
        ("I have VA benefits", "tricare"),
        ("is an HMO ok", "hmo"),
        ("what about EPOs", "epo"),
        ("I have a ppo through work", "ppo"),
        ("do I need medical detox first", None),
        ("how much does it cost", None),
        ("I'm a veteran", None),
        # Everyday words that are also Medicaid program names.
        ("can we chip in together for the cost", None),
        ("is the star of the program the group therapy", None),
        ("do you take the chip program for my teen", "medicaid"),
        ("texas star plus?", "medicaid"),
        ("is apple health accepted", "medicaid"),
        ("my daughter is on CHIP, would that cover it", "medicaid"),
        ("we have masshealth", "medicaid"),
        ("can you chip away at my anxiety", None),
        ("i have a chip on my shoulder about therapy", None),
    ],
)
def test_the_plan_a_question_names(text, plan):
    assert mentioned_plan(text) == plan


@pytest.mark.parametrize(
    "topic, text, answered",
    [
        ("insurance", "do you take medicare?", "medicare"),
        ("ppo_coverage", "is tricare accepted", "tricare"),
        ("cost", "how much would it be with my HMO", "hmo_plans"),
        ("veterans", "do you take VA insurance", "tricare"),
        ("insurance", "do you take aetna?", "insurance"),
        ("insurance", "do you take POS plans", "insurance"),
        # Outside insurance topics the plan name changes nothing.
        ("privacy", "will medicaid find out what I say", "privacy"),
        ("schedule", "what days are groups", "schedule"),
    ],
)
def test_insurance_questions_are_answered_for_the_plan_named(topic, text, answered):
    assert answer_topic(topic, text) == answered


def test_an_unsure_or_close_call_is_not_answered():
    assert confident([{"name": "faq_cost", "confidence": 0.95}, {"confidence": 0.03}])
    assert not confident([{"name": "faq_cost", "confidence": 0.5}, {"confidence": 0.1}])
    assert not confident([{"name": "faq_cost", "confidence": 0.62}, {"confidence": 0.5}])
    assert not confident([])


def test_two_questions_are_both_answered_even_when_the_classifier_is_sure_of_one():
    """The classifier, sure of the first question, must not swallow the second (the real
    second opinion, trained from data/nlu, reads each clause)."""
    from bot.faq import choose

    ranking = [
        {"name": "faq_session_length", "confidence": 0.95},
        {"name": "faq_pets", "confidence": 0.03},
        {"name": "faq_schedule", "confidence": 0.01},
    ]
    text = "how long is each session and can my dog be there?"  # whole: session_length
    assert choose(ranking, text) == ["session_length", "pets"]


def test_two_insurance_intents_naming_the_same_plan_are_one_answer():
    """Split between insurance and ppo_coverage, both answered for PPO: sure enough together."""
    from bot.faq import answer_ranking, answerable

    ranking = [
        {"name": "faq_ppo_coverage", "confidence": 0.609},
        {"name": "faq_insurance", "confidence": 0.232},
        {"name": "check_insurance", "confidence": 0.081},
    ]
    assert answer_ranking(ranking, "do you take ppo insurance")[0]["name"] == "ppo_coverage"
    assert answerable(ranking, "do you take ppo insurance")
    # Without a plan named they are two different answers, each with its own confidence.
    assert answer_ranking(ranking, "will it be covered")[0] == {
        "name": "ppo_coverage",
        "confidence": 0.609,
    }
