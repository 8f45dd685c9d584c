"""The coordinators' queue: order, what each row says, and claiming (one at a time)."""

from bot.console.accounts import add_coordinator
from bot.console.queue import claim, waiting
from bot.flows.models import FlowDraft
from bot.handoff import PRIORITY_CRISIS, PRIORITY_REQUEST, escalate
from bot.store import session


def test_crisis_first_then_by_waiting_time_with_where_the_person_is(db_url):
    first = escalate("asked-first", "request", "talk_to_person", PRIORITY_REQUEST)
    escalate("asked-second", "request", "asked_for_person_in_booking", PRIORITY_REQUEST)
    escalate("in-danger", "crisis", "suicidal", PRIORITY_CRISIS)
    with session() as s:
        s.add(
            FlowDraft(
                conversation_id="asked-second",
                flow="booking",
                status="paused",
                failures=0,
                state={},
            )
        )
    rows = waiting()
    assert [r.conversation_id for r in rows] == ["in-danger", "asked-first", "asked-second"]
    assert rows[0].label == "Crisis: suicidal" and rows[0].kind == "crisis"
    assert rows[1].id == first and rows[1].where == "chat" and rows[1].claimed_by is None
    assert rows[2].where == "booking"


def test_a_claim_is_taken_once_and_names_who_holds_it(db_url):
    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery")
    sam = add_coordinator("sam@example.org", "Sam", "correct horse battery")
    escalation = escalate("c1", "request", "talk_to_person", PRIORITY_REQUEST)
    first, second = claim(escalation, alex.id), claim(escalation, sam.id)
    assert (first.won, first.holder) == (True, "Alex")
    assert (second.won, second.holder) == (False, "Alex")
    assert waiting()[0].claimed_by == "Alex"
    assert claim(99999, alex.id) is None


def test_the_intake_summary_shows_what_the_person_has_done(db_url):
    from datetime import datetime, timezone

    from bot.consent.models import Consent
    from bot.console.summary import intake_summary
    from bot.coverage.models import CoverageCheck
    from bot.screening.models import ScreeningRecord

    assert intake_summary("nobody").consent is None
    at = datetime(2026, 12, 1, 10, 2, tzinfo=timezone.utc)
    with session() as s:
        s.add(Consent(conversation_id="c1", version="2", given_at=at))
        s.add(
            ScreeningRecord(
                conversation_id="c1",
                consent_version="2",
                consent_at=at,
                status="complete",
                answers={"phq2.interest": 2},
                scores={"phq2": 4},
                reasons={},
                recommendation={"text": "IOP looks like a good fit."},
                level="iop",
                coordinator_review=True,
            )
        )
        s.add(
            CoverageCheck(
                conversation_id="c1",
                payer_id="60054",
                plan_type="ppo",
                status="active",
                request={"member": "redacted"},
                result={"status": "active"},
            )
        )
    summary = intake_summary("c1")
    assert summary.consent == "version 2, 2026-12-01 10:02 UTC"
    assert (summary.screening_level, summary.needs_clinician_review) == ("iop", True)
    assert summary.scores == [("phq2", "4")] and summary.answers == [("phq2.interest", "2")]
    assert summary.recommendation == "IOP looks like a good fit."
    assert summary.coverage == "active (PPO)" and summary.booking is None


def test_the_transcript_marks_who_said_what_and_flags_crisis_language():
    from bot.console.rasa_api import ACTION, lines

    events = [
        {"event": "user", "text": "/greet", "timestamp": 1},
        {"event": "action", "name": "action_welcome"},
        {"event": "bot", "text": "Hi, I'm the assistant.", "timestamp": 2},
        {"event": "action", "name": ACTION},
        {"event": "bot", "text": "Alex has joined.", "timestamp": 3},
        {
            "event": "user",
            "text": "i want to kill myself",
            "timestamp": 4,
            "parse_data": {"entities": [{"entity": "crisis_level", "value": "acute"}]},
        },
    ]
    assert [(x.who, x.text, x.crisis) for x in lines(events)] == [
        ("person", "[greet]", None),
        ("assistant", "Hi, I'm the assistant.", None),
        ("coordinator", "Alex has joined.", None),
        ("person", "i want to kill myself", "acute"),
    ]


def test_a_conversation_is_claimed_whole_by_one_coordinator(db_url):
    from bot.console.queue import close

    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery")
    sam = add_coordinator("sam@example.org", "Sam", "correct horse battery")
    crisis = escalate("c1", "crisis", "suicidal", PRIORITY_CRISIS)
    request = escalate("c1", "request", "asked_for_person", PRIORITY_REQUEST)
    assert claim(crisis, alex.id).won
    # The other row of the same conversation is Alex's too: Sam cannot take it.
    lost = claim(request, sam.id)
    assert (lost.won, lost.holder) == (False, "Alex")
    assert {r.claimed_by for r in waiting() if r.conversation_id == "c1"} == {"Alex"}
    assert not close(request, sam.id, "returned")
    assert close(request, alex.id, "returned")
    assert [r for r in waiting() if r.conversation_id == "c1"] == []
