"""Custom actions on trackers from JSON fixtures: assert on events and dispatched messages."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.common import profile
from actions.fallback import ActionDefaultAskAffirmation, ActionDefaultFallback
from actions.faq import ActionAnswerFaq, ActionOutOfScope, ActionSupport, ActionWelcome
from actions.handoff import ActionRequestHuman
from actions.safety import ActionCrisisResponse
from bot.handoff import PRIORITY_CONCERN, PRIORITY_CRISIS, PRIORITY_REQUEST, for_conversation

FIXTURES = Path(__file__).parent / "fixtures" / "trackers"


def tracker(name: str, **changes) -> Tracker:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update(changes)
    return Tracker.from_dict(data)


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, {})
    return dispatcher.messages, events


def test_faq_answer_comes_from_the_profile_with_next_step_buttons():
    messages, events = run(ActionAnswerFaq(), tracker("faq_group_size"))
    assert events == []
    assert [m["text"] for m in messages] == [profile().answer("group_size")]
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == ["/faq_schedule", "/faq_ratios", "/request_human"]


def test_faq_action_never_invents_an_answer_for_an_unknown_intent():
    t = tracker("faq_group_size")
    parking = {"name": "faq_parking", "confidence": 1.0}
    t.latest_message.update(text="/faq_parking", intent=parking, intent_ranking=[parking])
    messages, _ = run(ActionAnswerFaq(), t)
    assert messages[0]["text"] == profile().out_of_scope_text


def _asked(text, *ranking, events=()):
    t = tracker("faq_group_size")
    ranked = [{"name": name, "confidence": conf} for name, conf in ranking]
    t.latest_message.update(text=text, intent=ranked[0], intent_ranking=ranked)
    t.events = list(events)
    messages, _ = run(ActionAnswerFaq(), t)
    return [m["text"] for m in messages]


def test_an_unsure_topic_is_asked_about_not_answered():
    # 0.62 is below the answering rule: a neighbouring topic's answer would be a guess.
    texts = _asked("how many staff per group", ("faq_group_size", 0.62), ("faq_ratios", 0.3))
    assert texts == [profile().fallback.did_you_mean]


def test_the_second_opinion_vetoes_a_confident_classifier():
    # The classifier is sure, but the question is plainly about pets: ask, don't answer cost.
    texts = _asked("can my dog be on camera during group", ("faq_cost", 0.97), ("faq_pets", 0.02))
    assert texts == [profile().fallback.did_you_mean]


def test_two_questions_in_one_message_get_both_answers():
    texts = _asked(
        "how much does it cost and do you take medicare?",
        ("faq_cost", 0.55),
        ("faq_insurance", 0.4),
    )
    assert texts == [profile().answer("cost"), profile().answer("medicare")]


def test_a_follow_up_uses_the_previous_answer():
    before = {
        "event": "user",
        "text": "do you take medicare?",
        "parse_data": {"intent": {"name": "faq_insurance", "confidence": 0.95}},
    }
    now = {"event": "user", "text": "what about medicaid"}
    texts = _asked(
        "what about medicaid", ("faq_cost", 0.4), ("faq_insurance", 0.3), events=[before, now]
    )
    assert texts == [profile().answer("medicaid")]
    # The same words with no insurance question before are asked about.
    texts = _asked("what about medicaid", ("faq_cost", 0.4), ("faq_insurance", 0.3))
    assert texts != [profile().answer("medicaid")]


def test_greeting_and_out_of_scope_offer_a_person():
    for action, text in (
        (ActionWelcome(), profile().welcome_text),
        (ActionSupport(), profile().message("support")),
        (ActionOutOfScope(), profile().out_of_scope_text),
    ):
        messages, _ = run(action, tracker("faq_group_size"))
        assert messages[0]["text"] == text
        assert "/request_human" in [b["payload"] for b in messages[0]["buttons"]]


def test_acute_crisis_records_one_escalation_offers_a_person_and_ends_the_loop(db_url):
    # The 988/911 text itself is utter_crisis, sent by the Rasa server before this action.
    messages, events = run(ActionCrisisResponse(), tracker("crisis_acute_in_loop"))
    assert [m["text"] for m in messages] == [profile().crisis_followup]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert events == [SlotSet("crisis_offer", True), ActiveLoop(None)]
    records = for_conversation("test-crisis", db_url)
    assert [(r.kind, r.reason, r.priority) for r in records] == [
        ("crisis", "suicidal", PRIORITY_CRISIS)
    ]


def test_concern_gets_the_gentle_answer_and_a_lower_priority_record(db_url):
    messages, events = run(ActionCrisisResponse(), tracker("crisis_concern"))
    assert [m["text"] for m in messages] == [profile().concern_text]
    assert events == [ActiveLoop(None)]
    records = for_conversation("test-concern", db_url)
    assert [(r.kind, r.priority) for r in records] == [("concern", PRIORITY_CONCERN)]


def test_unknown_crisis_level_is_treated_as_acute(db_url):
    t = tracker("crisis_concern", sender_id="test-unknown")
    t.latest_message["entities"] = []
    messages, _ = run(ActionCrisisResponse(), t)
    assert messages[0]["text"] == profile().crisis_followup  # the acute offer, not a concern


def test_a_failed_escalation_write_still_answers_without_claiming_the_flag(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/unreachable")
    messages, events = run(ActionCrisisResponse(), tracker("crisis_acute_in_loop"))
    assert [m["text"] for m in messages] == [profile().crisis_offer_unflagged]
    assert events[-1] == ActiveLoop(None)


def test_escalation_records_hold_no_message_text(db_url):
    run(ActionCrisisResponse(), tracker("crisis_acute_in_loop"))
    record = for_conversation("test-crisis", db_url)[0]
    stored = {c.name: getattr(record, c.name) for c in record.__table__.columns}
    assert "[redacted test message]" not in json.dumps(stored, default=str)


def test_a_request_for_a_person_when_nobody_is_online_offers_contact(db_url):
    messages, events = run(ActionRequestHuman(), tracker("faq_group_size", sender_id="test-human"))
    assert messages[0]["text"] == profile().contact_unavailable
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert events == [SlotSet("contact_offer", True)]
    assert profile().facts.program.phone in messages[0]["text"]
    assert [r.priority for r in for_conversation("test-human", db_url)] == [PRIORITY_REQUEST]


# Central Time (the sample profile's coordinator_schedule: weekdays 8:00-18:00).
TUESDAY_10AM = datetime(2026, 12, 8, 16, 0, tzinfo=timezone.utc)
TUESDAY_7PM = datetime(2026, 12, 9, 1, 0, tzinfo=timezone.utc)
SATURDAY_NOON = datetime(2026, 12, 12, 18, 0, tzinfo=timezone.utc)
CHRISTMAS_NOON = datetime(2026, 12, 25, 18, 0, tzinfo=timezone.utc)


def test_a_request_for_a_person_while_a_coordinator_is_online_asks_them_to_join(
    db_url, monkeypatch
):
    from bot.console.accounts import add_coordinator, mark_online, start_session, utcnow

    monkeypatch.setattr("bot.handoff._now", lambda: TUESDAY_10AM)
    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery")
    token, _ = start_session(alex)
    mark_online(token, utcnow() + timedelta(seconds=30))
    messages, events = run(ActionRequestHuman(), tracker("faq_group_size", sender_id="t-2"))
    assert messages[0]["text"] == profile().contact_text and events == []
    mark_online(token, None)  # the console closed
    messages, _ = run(ActionRequestHuman(), tracker("faq_group_size", sender_id="t-3"))
    assert messages[0]["text"] == profile().contact_unavailable


@pytest.mark.parametrize("now", [TUESDAY_7PM, SATURDAY_NOON, CHRISTMAS_NOON])
def test_outside_the_teams_hours_a_console_left_open_is_not_someone_to_join(
    db_url, monkeypatch, now
):
    from bot.console.accounts import add_coordinator, mark_online, start_session, utcnow

    monkeypatch.setattr("bot.handoff._now", lambda: now)
    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery")
    token, _ = start_session(alex)
    mark_online(token, utcnow() + timedelta(seconds=30))
    messages, events = run(ActionRequestHuman(), tracker("faq_group_size", sender_id="t-4"))
    assert messages[0]["text"] == profile().contact_unavailable  # the call-back offer
    assert events == [SlotSet("contact_offer", True)]


def test_did_you_mean_offers_the_two_best_guesses_in_plain_words():
    messages, _ = run(ActionDefaultAskAffirmation(), tracker("low_confidence"))
    buttons = messages[0]["buttons"]
    assert [b["title"] for b in buttons[:2]] == [profile().title("cost"), "Saying hello"]
    assert [b["payload"] for b in buttons[2:]] == ["/request_human", "/out_of_scope"]


def test_final_fallback_offers_a_person_and_forgets_the_unclear_turn():
    messages, events = run(ActionDefaultFallback(), tracker("low_confidence"))
    assert messages[0]["buttons"][0]["payload"] == "/request_human"
    assert events == [UserUtteranceReverted()]


def test_a_request_for_a_person_that_cannot_be_saved_says_how_to_reach_us(db_url, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import actions.handoff

    def down(*args, **kwargs):
        raise OperationalError("insert", {}, Exception("database is locked"))

    monkeypatch.setattr(actions.handoff, "escalate", down)
    messages, events = run(ActionRequestHuman(), tracker("faq_group_size", sender_id="t-4"))
    assert [m["text"] for m in messages] == [profile().contact_unrecorded] and events == []
    assert profile().facts.program.phone in messages[0]["text"]


@pytest.mark.parametrize("reason, hotline", [("danger_from_others", True), ("suicidal", False)])
def test_someone_in_danger_from_another_person_also_gets_the_domestic_violence_hotline(
    db_url, reason, hotline
):
    from actions.safety import respond

    dispatcher = CollectingDispatcher()
    respond(dispatcher, "conv-dv", "acute", reason, say_crisis_text=True)
    said = " ".join(m["text"] for m in dispatcher.messages)
    assert "988" in said
    assert ("1-800-799-7233" in said) is hotline


def test_an_unsure_couples_request_is_offered_by_name():
    said = _asked_buttons(
        "we want to join as a couple",
        ("nlu_fallback", 0.45),
        ("enroll_couple", 0.45),
        ("faq_couples", 0.05),
    )
    assert said[0] == {"title": "Enroll as a couple", "payload": "/enroll_couple"}


def _asked_buttons(text, *ranking):
    t = tracker("faq_group_size")
    ranked = [{"name": name, "confidence": conf} for name, conf in ranking]
    t.latest_message.update(text=text, intent=ranked[0], intent_ranking=ranked)
    t.events = []
    messages, _ = run(ActionAnswerFaq(), t)
    return messages[0]["buttons"]
