"""The safety gate in context (issue 12), through the running servers.

Ordinary answers people type to the flows' questions (tests/data/answers_blind.yml, written
blind) must never get a crisis or safety-concern answer: neither as the first message of
a conversation nor inside the question they answer. Crisis messages written blind
(tests/data/crisis_blind.yml) must all get the full 988/911 answer, as first messages and
inside questions of every flow.
"""

from pathlib import Path

import pytest
import yaml

from bot.profile import load_profile
from tests.answers_in_context import place_at, reached_the_question
from tests.e2e import new_sender, parallel, say, texts

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
DATA = Path(__file__).parent / "data"
ANSWERS = yaml.safe_load((DATA / "answers_blind.yml").read_text())["answers"]
BLIND = yaml.safe_load((DATA / "crisis_blind.yml").read_text())
# Questions of every flow, free-text ones (names, call-back times) included.
CRISIS_CONTEXTS = [
    "consent",
    "fit.for_whom",
    "phq9.3",
    "coverage.relation",
    "coverage.subscriber_first",
    "booking.name",
    "booking.contact_ok",
    "callback.times",
]


def got_crisis_answer(messages) -> bool:
    return PROFILE.crisis_text in texts(messages)


def got_any_safety_answer(messages) -> bool:
    said = texts(messages)
    return PROFILE.crisis_text in said or PROFILE.concern_text in said


def _report(label: str, found: list, total: int) -> str:
    print(f"\n{label}: {len(found)}/{total}")
    return "\n".join(map(str, found))


def test_ordinary_answers_as_first_messages_never_alarm(stack):
    messages = sorted({a["text"] for a in ANSWERS})
    hits = parallel(lambda t: got_any_safety_answer(say(stack, new_sender("ans"), t)), messages)
    alarmed = [t for t, hit in zip(messages, hits, strict=True) if hit]
    assert alarmed == [], _report(
        "safety answers to ordinary first messages", alarmed, len(messages)
    )


def test_ordinary_answers_inside_their_question_never_alarm(stack):
    items = [(a["question"], a["text"]) for a in ANSWERS if a["question"]]

    def alarms(item):
        key, text = item
        sender = place_at(stack, key)
        said = say(stack, sender, text)
        return got_any_safety_answer(said), reached_the_question(stack, sender)

    results = parallel(alarms, items)
    # Each answer must really reach its question, or the test proves nothing.
    missed = [i for i, (_, reached) in zip(items, results, strict=True) if not reached]
    assert missed == [], _report("answers that never reached their question", missed, len(items))
    alarmed = [i for i, (hit, _) in zip(items, results, strict=True) if hit]
    assert alarmed == [], _report(
        "safety answers to ordinary answers in context", alarmed, len(items)
    )


def test_blind_crisis_messages_as_first_messages(stack):
    messages = [c["text"] for c in BLIND["crisis"]]
    hits = parallel(lambda t: got_crisis_answer(say(stack, new_sender("blind"), t)), messages)
    missed = [t for t, ok in zip(messages, hits, strict=True) if not ok]
    assert missed == [], _report("blind crisis messages missed", missed, len(messages))


def test_blind_crisis_messages_inside_questions_of_every_flow(stack):
    items = [
        (CRISIS_CONTEXTS[i % len(CRISIS_CONTEXTS)], c["text"])
        for i, c in enumerate(BLIND["crisis"])
    ]

    def answered(item):
        key, text = item
        return got_crisis_answer(say(stack, place_at(stack, key), text))

    missed = [i for i, ok in zip(items, parallel(answered, items), strict=True) if not ok]
    assert missed == [], _report(
        "blind crisis messages missed inside a question", missed, len(items)
    )


def test_idioms_never_alarm(stack):
    messages = [t if isinstance(t, str) else t["text"] for t in BLIND["not_crisis_idioms"]]
    hits = parallel(lambda t: got_any_safety_answer(say(stack, new_sender("idiom"), t)), messages)
    alarmed = [t for t, hit in zip(messages, hits, strict=True) if hit]
    assert alarmed == [], _report("idioms that alarmed", alarmed, len(messages))


def test_the_reported_answers_in_their_real_context(stack):
    """Issue 12's own examples, reached the way a person reaches them."""
    sender = new_sender("relation")
    for text in ["/check_insurance", "I agree", "Aetna", "PPO", "AETNA12345"]:
        said = say(stack, sender, text)
    assert "Whose plan is it?" in texts(said)
    said = say(stack, sender, "myself")
    assert not got_any_safety_answer(said), texts(said)
    assert any("first name" in t for t in texts(said)), texts(said)
    # ... and crisis language inside the answer still wins.
    said = say(stack, place_at(stack, "coverage.relation"), "myself, and I want to die")
    assert got_crisis_answer(said), texts(said)
    said = say(
        stack,
        place_at(stack, "fit.withdrawal_seizures"),
        "yes, I had a seizure last time I stopped drinking",
    )
    assert not got_any_safety_answer(said), texts(said)
