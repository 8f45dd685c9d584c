"""Actions fail kindly and quietly (issue 16, item 6): every action is guarded, a failure
gets the profile's safe reply and one log line without PHI; crisis entities that arrive
from `/intent{json}` messages are only used when the crisis component could have set them."""

import asyncio
import json
import logging
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

import actions.faq
import actions.flow
import actions.safety
from actions.common import FAILED_WITHOUT_PROFILE, PERSON_BUTTON, profile
from actions.faq import ActionAnswerFaq
from actions.flow import DONE, ActionCrisisContact, ActionStartFlow, ValidateIntakeForm
from actions.safety import ActionCrisisResponse
from bot.handoff import for_conversation
from bot.safety.policy import known_reasons

FIXTURES = Path(__file__).parent / "fixtures" / "trackers"
CANARY = "Zebediah Quartermaine ZQ99871"  # what a failing action's exception might carry


def tracker(name: str, **changes) -> Tracker:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update(changes)
    return Tracker.from_dict(data)


def run(action, t: Tracker, domain=None):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, domain or {})
    if asyncio.iscoroutine(events):
        events = asyncio.run(events)
    return dispatcher.messages, events


def leak(*_args, **_kwargs):
    raise ValueError(f"could not store {CANARY}")


def test_every_action_rasa_sdk_registers_is_guarded():
    executor = ActionExecutor()
    executor.register_package("actions")
    assert len(executor.actions) >= 15
    unguarded = [name for name, run in executor.actions.items() if not getattr(run, "guarded", 0)]
    assert unguarded == []


def test_a_failing_action_says_the_safe_reply_and_logs_no_phi(monkeypatch, caplog):
    monkeypatch.setattr(actions.faq, "choose", leak)
    with caplog.at_level(logging.INFO):
        messages, events = run(ActionAnswerFaq(), tracker("faq_group_size"))
    assert events == []
    assert messages == [
        {**messages[0], "text": profile().fallback.error, "buttons": [PERSON_BUTTON]}
    ]
    assert profile().facts.program.phone in messages[0]["text"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"action action_answer_faq failed: ValueError at test_action_errors.py:"
        f"{leak.__code__.co_firstlineno + 1} in leak"
    ]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "Zebediah" not in logged and "ZQ99871" not in logged
    assert "group" not in logged.lower()  # nor what the person asked ("how big are groups")


def test_a_failing_flow_closes_the_form_instead_of_asking_again(monkeypatch):
    class Broken:
        flows = {"booking": None}

        def start(self, *_):
            leak()

    monkeypatch.setattr(actions.flow, "engine", lambda: Broken())
    t = tracker("faq_group_size")
    t.latest_message["intent"] = {"name": "book_appointment", "confidence": 1.0}
    messages, events = run(ActionStartFlow(), t)
    assert [m["text"] for m in messages] == [profile().fallback.error]
    assert events == [SlotSet("intake_answer", DONE)]
    # The offer's own slot is still withdrawn around the failed start.
    messages, events = run(ActionCrisisContact(), t)
    assert events == [SlotSet("crisis_offer", False), SlotSet("intake_answer", DONE)]


def test_a_failing_form_validation_closes_the_form(monkeypatch):
    monkeypatch.setattr(actions.flow, "context", leak)
    t = tracker("faq_group_size")
    t.slots.update(intake_answer="yes", requested_slot="intake_answer")
    t.active_loop = {"name": "intake_form"}
    t.events = [
        {"event": "user", "text": "yes"},
        {"event": "slot", "name": "intake_answer", "value": "yes"},
    ]
    domain = {"forms": {"intake_form": {"required_slots": ["intake_answer"]}}}
    messages, events = run(ValidateIntakeForm(), t, domain)
    assert [m["text"] for m in messages] == [profile().fallback.error]
    assert events == [SlotSet("intake_answer", DONE)]


def test_without_the_profile_the_safe_reply_still_goes_out(monkeypatch):
    monkeypatch.setattr(actions.faq, "choose", leak)
    monkeypatch.setattr(actions.common, "profile", leak)
    messages, _ = run(ActionAnswerFaq(), tracker("faq_group_size"))
    assert messages[-1]["text"] == FAILED_WITHOUT_PROFILE and "988" in FAILED_WITHOUT_PROFILE


def test_the_crisis_response_keeps_what_it_said_and_ends_the_loop(monkeypatch):
    monkeypatch.setattr(actions.safety, "respond", leak)
    messages, events = run(ActionCrisisResponse(), tracker("crisis_acute_in_loop"))
    assert [m["text"] for m in messages] == [profile().fallback.error]
    assert events == [ActiveLoop(None)]  # what the crisis rules expect, failure or not


def _crisis(sender: str, **entities) -> Tracker:
    t = tracker("crisis_acute_in_loop", sender_id=sender)
    t.latest_message["entities"] = [{"entity": k, "value": v} for k, v in entities.items()]
    return t


@pytest.mark.parametrize(
    "reason",
    [
        "x" * 65,  # overflowed escalations.reason, String(64), on PostgreSQL
        "Zebediah Quartermaine",  # free text would reach the log and the queue
        {"nested": ["json"]},
        "",
    ],
)
def test_an_injected_crisis_reason_is_recorded_as_unspecified(db_url, reason, caplog):
    sender = f"test-injected-{abs(hash(str(reason)))}"
    messages, events = run(ActionCrisisResponse(), _crisis(sender, crisis_reason=reason))
    assert [m["text"] for m in messages] == [profile().crisis_followup]
    assert [(r.kind, r.reason) for r in for_conversation(sender, db_url)] == [
        ("crisis", "unspecified")
    ]
    assert "Zebediah" not in caplog.text


def test_the_component_s_reasons_are_kept(db_url):
    assert {"suicidal", "self_harm", "overdose_medical", "classifier"} <= known_reasons()
    run(
        ActionCrisisResponse(),
        _crisis("test-kept", crisis_level="acute", crisis_reason="self_harm"),
    )
    assert [r.reason for r in for_conversation("test-kept", db_url)] == ["self_harm"]


def test_an_injected_crisis_level_is_treated_as_acute(db_url):
    messages, _ = run(ActionCrisisResponse(), _crisis("test-level", crisis_level="y" * 500))
    assert [m["text"] for m in messages] == [profile().crisis_followup]
    assert [r.kind for r in for_conversation("test-level", db_url)] == ["crisis"]


def test_the_safe_reply_is_said_once_a_turn(monkeypatch):
    # The flow's start failed and said it; the form's question fails the same way.
    monkeypatch.setattr(actions.faq, "choose", leak)
    t = tracker("faq_group_size")
    t.events = [
        {"event": "user", "text": "book"},
        {"event": "bot", "text": profile().fallback.error},
    ]
    messages, _ = run(ActionAnswerFaq(), t)
    assert messages == []
    t.events.append({"event": "user", "text": "again"})  # a new turn: said again
    messages, _ = run(ActionAnswerFaq(), t)
    assert [m["text"] for m in messages] == [profile().fallback.error]


def test_the_log_line_names_our_own_code_a_library_error_passed_through():
    from bot.errors import describe

    try:
        json.loads("{" + CANARY)  # raised inside the json package, called from here
    except ValueError as exc:
        line = describe(exc)
    assert line.startswith("JSONDecodeError at decoder.py:")
    assert "(from test_action_errors.py:" in line and "test_the_log_line" in line
    assert "Zebediah" not in line
