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

    assert intake_summary("nobody", viewer=1).consent is None
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
    summary = intake_summary("c1", viewer=1)
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


def _raw_bytes(db_url) -> bytes:
    """The database file as stored, with its WAL (recent writes may still be only there)."""
    from pathlib import Path

    path = Path(db_url.replace("sqlite:///", ""))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_notes_are_encrypted_at_rest_and_listed_oldest_first(db_url):
    import pytest

    from bot.console.notes import MAX_NOTE_CHARS, add_note, notes_for

    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery")
    sam = add_coordinator("sam@example.org", "Sam", "correct horse battery")
    add_note("conv-notes", alex.id, "  Mentioned a sister, Quintessa, as support.  ")
    add_note("conv-notes", sam.id, "Call back after 6pm")
    add_note("another-conversation", sam.id, "not this one")
    listed = notes_for("conv-notes", alex.id)
    assert [(n.author, n.text) for n in listed] == [
        ("Alex", "Mentioned a sister, Quintessa, as support."),
        ("Sam", "Call back after 6pm"),
    ]
    assert listed[0].at.tzinfo is not None and listed[0].at <= listed[1].at
    raw = _raw_bytes(db_url)
    assert b"conv-notes" in raw  # the file is the right one
    for secret in (b"Quintessa", b"Call back after 6pm", b"not this one"):
        assert secret not in raw
    for bad in ("", "   ", "x" * (MAX_NOTE_CHARS + 1)):
        with pytest.raises(ValueError):
            add_note("conv-notes", alex.id, bad)
    assert len(notes_for("conv-notes", sam.id)) == 2


def test_the_person_typing_is_kept_only_while_a_coordinator_holds_the_chat(db_url, monkeypatch):
    from datetime import timedelta

    from bot.console import queue
    from bot.console.queue import close, mark_person_typing, person_typing
    from bot.store import Escalation

    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery")
    first = escalate("c1", "crisis", "suicidal", PRIORITY_CRISIS)
    escalate("c1", "request", "asked_for_person", PRIORITY_REQUEST)
    escalate("someone-else", "request", "asked_for_person", PRIORITY_REQUEST)

    def stored():
        with session() as s:
            return {e.id: e.person_typing_until for e in s.query(Escalation).all()}

    # With the assistant (not claimed): nothing is written at all.
    assert mark_person_typing("c1") is False and not person_typing("c1")
    assert set(stored().values()) == {None}
    assert mark_person_typing("never-escalated") is False

    claim(first, alex.id)
    assert mark_person_typing("c1") is True and person_typing("c1")
    assert not person_typing("someone-else")
    until = stored()
    assert until[first] is not None and None in until.values()  # only c1's rows
    # Five seconds without a refresh: not typing any more.
    later = queue.utcnow() + timedelta(seconds=6)
    with monkeypatch.context() as m:
        m.setattr(queue, "utcnow", lambda: later)
        assert not person_typing("c1")

    assert close(first, alex.id, "returned")
    assert mark_person_typing("c1") is False and not person_typing("c1")


def test_an_admin_release_opens_the_whole_conversation_again(db_url):
    from bot.console.queue import held, release
    from bot.store import Escalation

    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery")
    sam = add_coordinator("sam@example.org", "Sam", "correct horse battery")
    crisis = escalate("c1", "crisis", "suicidal", PRIORITY_CRISIS)
    request = escalate("c1", "request", "asked_for_person", PRIORITY_REQUEST)
    other = escalate("c2", "request", "asked_for_person", PRIORITY_REQUEST)
    assert claim(crisis, alex.id).won and claim(other, alex.id).won

    assert release(request) is True
    with session() as s:
        rows = {e.id: (e.status, e.claimed_by, e.claimed_at) for e in s.query(Escalation)}
    assert rows[crisis] == rows[request] == ("open", None, None)
    assert rows[other][:2] == ("claimed", alex.id)  # another conversation is untouched
    # Open again: anyone can claim it now.
    assert claim(request, sam.id).won and held(crisis).claimed_by == sam.id
    assert release(99999) is False
    assert release(request) is True and release(request) is False  # nobody holds it now


def test_who_may_read_hold_or_release_a_conversation(db_url):
    """The console's one door for a conversation's APIs (bot.console.web._refused): the
    same reading rule as the conversation page (any escalated conversation, for any signed-in
    coordinator), writing only for the holder, release only for admins; POSTs need the CSRF
    token and, when sent, our Origin."""
    from types import SimpleNamespace

    from bot.console.accounts import SignedIn, current, start_session
    from bot.console.queue import held
    from bot.console.web import _refused

    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery")
    sam = add_coordinator("sam@example.org", "Sam", "correct horse battery")
    robin = add_coordinator("robin@example.org", "Robin", "correct horse battery", role="admin")
    escalation = escalate("c1", "request", "asked_for_person", PRIORITY_REQUEST)
    claim(escalation, alex.id)
    item = held(escalation)
    signed = {p.name: current(start_session(p)[0]) for p in (alex, sam, robin)}

    def status(who: SignedIn, need: str, method="POST", csrf="ok", origin=None, found=True):
        headers = {"x-csrf-token": who.csrf_token if csrf == "ok" else csrf} if who else {}
        if origin:
            headers["origin"] = origin
        request = SimpleNamespace(method=method, headers=headers, host="console.test")
        refused = _refused(request, who, item if found else None, need)
        return 200 if refused is None else refused.status

    alex_, sam_, robin_ = signed["Alex"], signed["Sam"], signed["Robin"]
    assert status(None, "read", method="GET") == 401
    assert status(sam_, "read", method="GET") == 200  # not the holder, may still read
    assert status(sam_, "read") == 200  # … and write a note
    assert status(sam_, "read", found=False) == 404
    assert status(sam_, "read", csrf="") == 403
    assert status(sam_, "read", csrf="forged") == 403
    assert status(sam_, "read", origin="https://evil.example") == 403
    assert status(sam_, "read", origin="http://console.test") == 200
    assert status(sam_, "hold") == 409 and status(alex_, "hold") == 200
    assert status(alex_, "admin") == 403 and status(robin_, "admin") == 200


def test_the_transcript_never_shows_a_live_invitation():
    # A coordinator reading the transcript must not get a way to join someone's couple.
    from bot.console.rasa_api import lines

    events = [
        {
            "event": "bot",
            "text": "Here is your partner's invitation: a link, and the code 7KQ2-M9XD to type",
            "timestamp": 1,
        },
        {"event": "bot", "text": "The link for your partner: https://x.org/#couple=Ab_9-z"},
        {"event": "user", "text": "my code is 7kq2 m9xd", "timestamp": 2},
        # Not codes: a booking code, two four-letter words, a date.
        {"event": "user", "text": "APT-7KQ2M-8XDPR, does this work on 2027-0315?"},
    ]
    assert [x.text for x in lines(events)] == [
        "Here is your partner's invitation: a link, and the [invitation code] to type",
        "The link for your partner: https://x.org/#couple=[hidden]",
        "my code is [invitation code]",
        "APT-7KQ2M-8XDPR, does this work on 2027-0315?",
    ]
