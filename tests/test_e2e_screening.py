"""The screening through the real Rasa and action servers (REST channel)."""

import time

import pytest

from bot.consent import CONSENT
from bot.handoff import PRIORITY_CRISIS, for_conversation
from bot.profile import load_profile
from bot.screening import recommend
from tests.e2e import ScreeningUser, buttons, iop_fit_answer, new_sender, say, texts, tracker

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
STATES = PROFILE.facts.licensed_states


def stored_levels(stack, sender):
    from sqlalchemy import select

    from bot.screening.models import ScreeningRecord as Screening
    from bot.store import session

    with session(stack.env["DATABASE_URL"]) as s:
        return [
            r.level
            for r in s.execute(
                select(Screening).where(Screening.conversation_id == sender)
            ).scalars()
        ]


def test_a_full_screening_ends_with_an_iop_fit_recommendation(stack):
    user = ScreeningUser(stack, new_sender("scr"), iop_fit_answer)
    started = time.monotonic()
    user.start()
    last = user.run_to_end()
    elapsed = time.monotonic() - started
    rec = recommend(user.answers, STATES)
    assert rec.level == "iop_fit"
    assert rec.text in texts(last)
    final = next(m for m in last if m.get("text") == rec.text)
    assert {"/check_insurance", "/book_appointment"} <= set(buttons(final))
    assert stored_levels(stack, user.sender) == ["iop_fit"]
    assert not tracker(stack, user.sender)["active_loop"].get("name")
    print(f"\nscreening: {user.turns} turns, {elapsed:.1f} s")


def test_declining_consent_asks_nothing_personal(stack):
    sender = new_sender("scr")
    say(stack, sender, "/start_screening")
    said = texts(say(stack, sender, "no thanks"))
    assert said == [CONSENT.declined]
    assert texts(say(stack, sender, "how much does it cost"))[0] == PROFILE.answer("cost")


def test_an_interrupted_screening_resumes_at_the_same_question(stack):
    user = ScreeningUser(stack, new_sender("scr"), iop_fit_answer)
    user.start()
    for _ in range(4):
        user.answer_current()
    waiting = user.expected()
    assert "saved" in " ".join(texts(user.send("can I finish later?")))
    assert not tracker(stack, user.sender)["active_loop"].get("name")
    # Meanwhile an ordinary question is answered as usual.
    assert texts(user.send("how many people are in a group?"))[0] == PROFILE.answer("group_size")
    resumed = texts(user.send("let's continue the screening"))
    assert any("pick up" in t for t in resumed) and waiting.text in resumed
    assert user.run_to_end() and stored_levels(stack, user.sender) == ["iop_fit"]


def test_a_question_in_the_middle_is_answered_and_the_screening_goes_on(stack):
    user = ScreeningUser(stack, new_sender("scr"), iop_fit_answer)
    user.start()
    user.answer_current()
    waiting = user.expected()
    said = texts(user.send("how much does the program cost?"))
    assert said[0] == PROFILE.answer("cost") and said[-1] == waiting.text
    user.run_to_end()
    assert stored_levels(stack, user.sender) == ["iop_fit"]


def test_an_unclear_answer_is_re_asked_then_skip_or_a_person_is_offered(stack):
    user = ScreeningUser(stack, new_sender("scr"), iop_fit_answer)
    user.start()
    while not user.expected().key.startswith("phq9"):
        user.answer_current()
    waiting = user.expected()
    first = user.send("purple elephants")
    assert texts(first)[-1] == waiting.text and len(texts(first)) == 2
    second = user.send("banana")
    assert "skip this question or talk to a person" in texts(second)[0]
    assert texts(second)[-1] == waiting.text
    assert {"Skip this question", "/request_human"} <= set(buttons(second[-1]))
    user.answers[waiting.key] = "__skipped__"
    user.send("Skip this question")
    assert user.expected().text in texts(user.last)


def test_crisis_language_mid_screening_gets_the_crisis_answer_at_once(stack):
    user = ScreeningUser(stack, new_sender("scr"), iop_fit_answer)
    user.start()
    for _ in range(12):
        user.answer_current()
    said = texts(user.send("honestly I just want to kill myself"))
    assert said[0] == PROFILE.crisis_text
    assert not tracker(stack, user.sender)["active_loop"].get("name")
    assert [
        (r.kind, r.priority) for r in for_conversation(user.sender, stack.env["DATABASE_URL"])
    ] == [("crisis", PRIORITY_CRISIS)]
    # Nothing is lost: the person can come back to the same question later.
    waiting = user.expected()
    assert waiting.text in texts(user.send("continue the screening"))


def test_under_18_gets_a_kind_explanation_and_a_person(stack):
    user = ScreeningUser(stack, new_sender("scr"), lambda key: "16")
    user.start()
    last = user.answer_current()
    rec = recommend(user.answers, STATES)
    assert rec.level == "not_eligible" and rec.text in texts(last)
    assert "/request_human" in buttons(last[-1])


def test_a_non_acute_asq_positive_gets_resources_and_a_clinician_before_booking(stack):
    def answers(key):
        return {"phq9.9": "several days", "asq.1": "yes"}.get(key) or (
            "no" if key.startswith("asq.") else iop_fit_answer(key)
        )

    user = ScreeningUser(stack, new_sender("scr"), answers)
    user.start()
    last = texts(user.run_to_end())
    assert "asq.5" in user.answers  # the acuity question was asked
    rec = recommend(user.answers, STATES)
    assert rec.level == "safety_review" and rec.text in last and "988" in rec.text
    assert ("review", 1) in [
        (r.kind, r.priority) for r in for_conversation(user.sender, stack.env["DATABASE_URL"])
    ]
    booking = " ".join(texts(user.send("/book_appointment")))
    assert "clinicians would like to talk with you before we book" in booking


def test_screening_answers_never_reach_the_logs(stack):
    user = ScreeningUser(
        stack,
        new_sender("scr"),
        lambda key: {"fit.age": "I am 47 years old"}.get(key) or iop_fit_answer(key),
    )
    user.start()
    user.run_to_end()
    assert {"action server", "rasa server"} <= {p.name for p in stack.processes}
    for proc in stack.processes:
        log = proc.log_path.read_text(errors="replace").lower()
        for answer in ("47 years old", "more than half the days", "I live in Texas"):
            assert answer.lower() not in log, (proc.name, answer)


def test_after_a_good_fit_booking_needs_no_second_consent_and_knows_the_time_zone(stack):
    user = ScreeningUser(stack, new_sender("scr"), iop_fit_answer)
    user.start()
    user.run_to_end()
    said = user.send("/book_appointment")
    assert CONSENT.text not in texts(said)  # consent is asked once per conversation
    times = [b["title"] for b in said[-1]["buttons"]]
    assert "More times" in times and times[0].endswith(("CST", "CDT"))  # Texas, from the screening
