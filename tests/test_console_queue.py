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
