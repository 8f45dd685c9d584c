"""The couples flows (bot/flows/couples.py and the screening and booking flows for a couple)
through the flow engine, without the servers: invite, join by link and by code, the private
safety check with its quick exit, the couple's next step and the joint booking."""

import re

import pytest
from cryptography.fernet import Fernet

from bot import consent, couples
from bot.couples import joint
from bot.flows import registry
from bot.flows.couples import QUICK_EXIT
from bot.flows.engine import Context, Engine
from bot.handoff import for_conversation
from bot.profile import load_profile
from bot.store import crypto
from tests.e2e import iop_fit_answer

PROFILE = load_profile()
ZONE = {"timezone": "America/Chicago"}
THANKS, RESOURCES = couples.safety_closing()


@pytest.fixture()
def db(db_url, monkeypatch):
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", Fernet.generate_key().decode())
    crypto.cipher.cache_clear()
    yield db_url
    crypto.cipher.cache_clear()


@pytest.fixture()
def engine():
    return Engine(registry.flows())


def ctx(db, conv, text="", **metadata):
    return Context(conv, PROFILE, db_url=db, metadata={**ZONE, **metadata}, text=text)


def said(turn):
    return [r.text for r in turn.say]


def answer(engine, db, conv, text):
    return engine.handle(text, "", 0.0, ctx(db, conv, text))


def invite(engine, db, conv="conv-a"):
    """The first partner: consent, the couples agreement, the invitation."""
    turn = engine.start("couple_invite", ctx(db, conv, "/enroll_couple"))
    assert said(turn) == [consent.CONSENT.text]
    assert engine.current(ctx(db, conv))[0].key == consent.QUESTION_KEY
    turn = answer(engine, db, conv, consent.CONSENT.agree)
    assert consent.CONSENT.couples.text.split()[:5] == said(turn)[-1].split()[:5]
    assert engine.current(ctx(db, conv))[0].key == consent.COUPLES_KEY
    turn = answer(engine, db, conv, consent.CONSENT.couples.agree)
    assert not turn.active
    text = " ".join(said(turn))
    code = re.search(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b", text).group(1)
    token = re.search(r"#couple=([A-Za-z0-9_-]+)", text).group(1)
    return code, token


def join(engine, db, conv="conv-b", text="", **metadata):
    turn = engine.start("couple_join", ctx(db, conv, text, **metadata))
    assert engine.current(ctx(db, conv))[0].key == consent.QUESTION_KEY
    answer(engine, db, conv, consent.CONSENT.agree)
    if engine.current(ctx(db, conv))[0].key == "couple.code":
        return turn
    assert engine.current(ctx(db, conv))[0].key == consent.COUPLES_KEY
    return answer(engine, db, conv, consent.CONSENT.couples.agree)


def screen(engine, db, conv, safety="No", for_whom="Me and my partner"):
    """The whole screening, IOP fit; the safety items all answered `safety`."""
    turn = engine.start("screening", ctx(db, conv, "/start_screening"))
    asked = []
    for _ in range(80):
        current = engine.current(ctx(db, conv))
        if current is None:
            return turn, asked
        key = current[0].key
        asked.append(key)
        if key == consent.QUESTION_KEY:
            text = consent.CONSENT.agree
        elif key == "fit.for_whom":
            text = for_whom
        elif key == couples.SAFETY.gate_key:
            text = "Yes, I'm alone"
        elif couples.SAFETY.gate_key.split(".")[0] in key:
            text = safety
        else:
            text = iop_fit_answer(key)
        turn = answer(engine, db, conv, text)
    raise AssertionError("the screening did not end")


def both_screened_and_the_first_books(engine, db):
    """A linked couple, both IOP fit; the first partner books the first time offered.
    Returns the booking's last turn."""
    code, _ = invite(engine, db)
    join(engine, db, text=code)
    screen(engine, db, "conv-a")
    screen(engine, db, "conv-b")
    engine.start("booking", ctx(db, "conv-a", "/book_appointment"))
    for text in ("1", "Alex Rivera", "(512) 555-0142", "alex@example.com", "Email only", "yes"):
        turn = answer(engine, db, "conv-a", text)
    return turn


def test_the_first_partner_gets_a_link_and_a_code_after_consent_and_the_couples_agreement(
    db, engine
):
    code, token = invite(engine, db)
    assert len(token) >= 43
    assert couples.invitation_status("conv-a", db_url=db) == "pending"
    # The agreement is stored like a consent, with its own version.
    assert consent.given("conv-a", db, version=consent.CONSENT.couples.version)


def test_the_couples_agreement_names_the_policy_and_part_2(db, engine):
    question = consent.couples_question(PROFILE.facts.couples.confidentiality)
    assert "no-secrets" in question.text
    assert "42 CFR Part 2" in question.text


def test_declining_the_couples_agreement_makes_no_invitation(db, engine):
    engine.start("couple_invite", ctx(db, "conv-a"))
    answer(engine, db, "conv-a", consent.CONSENT.agree)
    turn = answer(engine, db, "conv-a", consent.CONSENT.couples.decline)
    assert "Nothing was linked" in " ".join(said(turn))
    assert couples.invitation_status("conv-a", db_url=db) is None


def test_the_second_partner_joins_with_the_code_typed_in_the_first_message(db, engine):
    code, _ = invite(engine, db)
    turn = join(engine, db, text=f"hi, my code is {code.lower()}")
    assert couples.TEXTS.invitation.joined.split()[:4] == said(turn)[0].split()[:4]
    assert couples.couple_id_of("conv-b", db) == couples.couple_id_of("conv-a", db)


def test_the_second_partner_joins_by_link_with_the_token_in_the_metadata(db, engine):
    _, token = invite(engine, db)
    turn = join(engine, db, text="/join_couple", couple_token=token)
    assert "You're linked" in said(turn)[0]
    # The secret is not kept in the finished draft.
    from bot.flows.models import FlowDraft
    from bot.store import session

    with session(db) as s:
        states = [d.state for d in s.query(FlowDraft).filter_by(conversation_id="conv-b")]
    assert token not in repr(states)


def test_a_code_asked_for_is_re_asked_when_it_is_not_a_code_and_bad_codes_all_look_alike(
    db, engine
):
    code, _ = invite(engine, db)
    join(engine, db, conv="conv-c", text="/join_couple")
    turn = answer(engine, db, "conv-c", "it's on the fridge")
    assert "doesn't look like an invitation code" in said(turn)[0]
    answer(engine, db, "conv-c", "ZZZZ-9999")
    turn = answer(engine, db, "conv-c", consent.CONSENT.couples.agree)
    wrong = said(turn)
    assert wrong == [" ".join(couples.TEXTS.invitation.not_valid.split())]
    # A used code gets exactly the same words as a made-up one.
    join(engine, db, text=code)
    turn = join(engine, db, conv="conv-d", text=code)
    assert said(turn) == wrong


def test_a_partner_cannot_join_their_own_invitation(db, engine):
    code, _ = invite(engine, db)
    # Consent and the couples agreement were given when inviting: nothing more to ask.
    turn = engine.start("couple_join", ctx(db, "conv-a", code))
    assert "That's the invitation you made" in said(turn)[0]


def test_a_linked_pair_screens_with_the_private_check_and_is_told_only_the_joint_step(db, engine):
    code, _ = invite(engine, db)
    join(engine, db, text=code)
    turn, asked = screen(engine, db, "conv-a")
    assert asked[-len(couples.SAFETY.keys) :] == couples.SAFETY.keys
    first = said(turn)
    assert THANKS in first and RESOURCES in first
    assert " ".join(couples.TEXTS.outcomes.waiting.text.split()) in first
    turn, _ = screen(engine, db, "conv-b")
    second = said(turn)
    together = " ".join(couples.TEXTS.outcomes.iop_together.text.split())
    assert together in second
    assert couples.next_step("conv-a", db).outcome == "iop_together"
    # Each check is stored on its own, not inside the screening's answers.
    from bot.screening.models import ScreeningRecord
    from bot.store import session

    with session(db) as s:
        for row in s.query(ScreeningRecord):
            assert not any(k.startswith("relationship_safety") for k in row.answers)


def test_a_positive_safety_answer_flags_privately_and_nobody_is_booked_together(db, engine):
    code, _ = invite(engine, db)
    join(engine, db, text=code)
    turn_a, _ = screen(engine, db, "conv-a", safety="No")
    turn_b, _ = screen(engine, db, "conv-b", safety="Yes")
    # The same closing for everyone, whatever they answered.
    assert said(turn_b)[1:3] == said(turn_a)[1:3] == [THANKS, RESOURCES]
    assert "Hotline" in RESOURCES and "1-800-799-7233" in RESOURCES and "88788" in RESOURCES
    individual = " ".join(couples.TEXTS.outcomes.individual_first.text.split())
    assert individual in said(turn_b)
    assert couples.next_step("conv-a", db).outcome == "individual_first"
    # The clinicians' private flag: a review in the queue, on the flagged partner only.
    assert [e.kind for e in for_conversation("conv-b", db)] == ["review"]
    assert for_conversation("conv-a", db) == []
    # No joint booking: booking now is an individual assessment for each.
    turn = engine.start("booking", ctx(db, "conv-a", "/book_appointment"))
    assert "joint" not in " ".join(said(turn))
    assert engine.current(ctx(db, "conv-a"))[0].key == "booking.slot"


def test_not_somewhere_private_puts_the_check_off_until_private_questions(db, engine):
    code, _ = invite(engine, db)
    join(engine, db, text=code)
    engine.start("screening", ctx(db, "conv-a"))
    turn = None
    while True:
        key = engine.current(ctx(db, "conv-a"))[0].key
        if key == couples.SAFETY.gate_key:
            assert QUICK_EXIT in engine.current(ctx(db, "conv-a"))[0].options
            turn = answer(engine, db, "conv-a", "Not right now")
            break
        text = consent.CONSENT.agree if key == "consent" else iop_fit_answer(key)
        answer(engine, db, "conv-a", "Me and my partner" if key == "fit.for_whom" else text)
    assert couples.SAFETY.later() in said(turn)
    assert not couples.safety_checked("conv-a", db)
    # Later, somewhere private:
    engine.start("relationship_safety", ctx(db, "conv-a", "private questions"))
    assert engine.current(ctx(db, "conv-a"))[0].key == couples.SAFETY.gate_key
    answer(engine, db, "conv-a", "yes")
    for _ in couples.SAFETY.item_keys:
        turn = answer(engine, db, "conv-a", "no")
    assert said(turn)[:2] == [THANKS, RESOURCES]
    assert couples.safety_checked("conv-a", db)


def test_a_quick_exit_keeps_no_safety_answer_and_says_nothing_about_them(db, engine):
    code, _ = invite(engine, db)
    join(engine, db, text=code)
    engine.start("relationship_safety", ctx(db, "conv-b", "private questions"))
    answer(engine, db, "conv-b", consent.CONSENT.agree)
    answer(engine, db, "conv-b", "Yes, I'm alone")
    answer(engine, db, "conv-b", "yes")  # the first item, then the person leaves
    turn = answer(engine, db, "conv-b", QUICK_EXIT.value)
    assert not turn.active and said(turn) == []
    assert not couples.safety_checked("conv-b", db)
    assert for_conversation("conv-b", db) == []


def test_the_joint_assessment_is_booked_by_one_and_confirmed_by_the_other(db, engine):
    turn = both_screened_and_the_first_books(engine, db)
    booked = " ".join(said(turn))
    assert "joint intake assessment" in booked and "asked to confirm" in booked
    assert joint.joint_booking("conv-a", db).status == joint.MINE
    # The partner is asked to confirm that time; nothing of the first partner's details.
    turn = engine.start("booking", ctx(db, "conv-b", "/book_appointment"))
    question = engine.current(ctx(db, "conv-b"))[0]
    assert question.key == "booking.joint"
    assert "Alex" not in question.text and "555" not in question.text
    turn = answer(engine, db, "conv-b", "Yes, that works")
    assert "confirmed" in said(turn)[0]
    assert joint.joint_booking("conv-a", db).status == joint.BOOKED
    turn = engine.start("booking", ctx(db, "conv-a", "/book_appointment"))
    assert "is booked for" in said(turn)[-1]


def test_a_partner_who_cannot_make_the_time_gets_a_coordinator_call(db, engine):
    both_screened_and_the_first_books(engine, db)
    engine.start("booking", ctx(db, "conv-b"))
    turn = answer(engine, db, "conv-b", "No, another time")
    assert "coordinator will call you" in said(turn)[0]
    assert engine.current(ctx(db, "conv-b"))[0].key == "callback.times"
    assert joint.joint_booking("conv-b", db).status == joint.PARTNERS


def test_booking_waits_while_the_partner_has_not_finished(db, engine):
    code, _ = invite(engine, db)
    join(engine, db, text=code)
    screen(engine, db, "conv-a")
    turn = engine.start("booking", ctx(db, "conv-a"))
    assert " ".join(couples.TEXTS.outcomes.waiting.text.split()) in said(turn)
    assert not turn.active


def test_the_first_partner_learns_only_whether_the_invitation_was_used(db, engine):
    from bot.flows.couples import invitation_update

    assert "haven't invited" in said_of(invitation_update(ctx(db, "conv-a")))
    code, _ = invite(engine, db)
    assert said_of(invitation_update(ctx(db, "conv-a"))).startswith(couples.status_reply("pending"))
    join(engine, db, text=code)
    screen(engine, db, "conv-b", safety="Yes")
    update = said_of(invitation_update(ctx(db, "conv-a")))
    assert couples.status_reply("accepted") in update
    assert "safety" not in update.lower() and "flag" not in update.lower()


def said_of(replies):
    return " ".join(r.text for r in replies)


def test_the_first_partner_can_cancel_a_waiting_invitation(db, engine):
    code, _ = invite(engine, db)
    engine.start("couple_invite", ctx(db, "conv-a"))
    assert engine.current(ctx(db, "conv-a"))[0].key == "couple.pending"
    turn = answer(engine, db, "conv-a", "Cancel the invitation")
    assert "no longer works" in said(turn)[0]
    assert couples.invitation_status("conv-a", db_url=db) == "revoked"
    turn = join(engine, db, text=code)
    assert said(turn)[0] == " ".join(couples.TEXTS.invitation.not_valid.split())


def test_a_link_opened_after_a_join_was_started_is_used(db, engine):
    _, token = invite(engine, db)
    engine.start("couple_join", ctx(db, "conv-b", "my partner invited me"))
    answer(engine, db, "conv-b", consent.CONSENT.agree)
    assert engine.current(ctx(db, "conv-b"))[0].key == "couple.code"
    engine.start("couple_join", ctx(db, "conv-b", "/join_couple", couple_token=token))
    assert engine.current(ctx(db, "conv-b"))[0].key == consent.COUPLES_KEY
    turn = answer(engine, db, "conv-b", consent.CONSENT.couples.agree)
    assert "You're linked" in said(turn)[0]


def test_a_cancelled_joint_booking_leaves_nothing_to_confirm(db, engine):
    from bot.scheduling.models import BookingRecord
    from bot.store import session

    both_screened_and_the_first_books(engine, db)
    with session(db) as s:
        s.query(BookingRecord).filter_by(conversation_id="conv-a").update({"status": "cancelled"})
    assert joint.joint_booking("conv-b", db).status == joint.NONE
    engine.start("booking", ctx(db, "conv-b"))
    assert engine.current(ctx(db, "conv-b"))[0].key == "booking.slot"


def test_a_code_then_a_link_in_the_same_join_uses_the_link(db, engine):
    code, token = invite(engine, db)
    engine.start("couple_join", ctx(db, "conv-b", f"code {code}"))
    engine.start("couple_join", ctx(db, "conv-b", "/join_couple", couple_token=token))
    answer(engine, db, "conv-b", consent.CONSENT.agree)
    turn = answer(engine, db, "conv-b", consent.CONSENT.couples.agree)
    assert "You're linked" in said(turn)[0]


def test_the_quick_exit_in_any_question_pauses_and_says_nothing(db, engine):
    engine.start("booking", ctx(db, "conv-q"))
    answer(engine, db, "conv-q", consent.CONSENT.agree)
    turn = answer(engine, db, "conv-q", QUICK_EXIT.value)
    assert said(turn) == [] and not turn.active
    assert engine.paused(ctx(db, "conv-q")) == "booking"


def test_a_joint_time_moved_meanwhile_is_not_confirmed(db, engine):
    from datetime import timedelta

    from bot.scheduling.models import BookingRecord
    from bot.store import session

    both_screened_and_the_first_books(engine, db)
    engine.start("booking", ctx(db, "conv-b"))
    with session(db) as s:
        row = s.query(BookingRecord).filter_by(conversation_id="conv-a").one()
        row.start, row.end = row.start + timedelta(days=1), row.end + timedelta(days=1)
    turn = answer(engine, db, "conv-b", "Yes, that works")
    assert "that time has just changed" in said(turn)[0]
    assert joint.joint_booking("conv-b", db).status == joint.PARTNERS


@pytest.mark.parametrize("text", ["01-02-1990", "12345678", "W1234567X"])
def test_dates_and_numbers_are_not_invitation_codes(text):
    from bot.couples.commands import command_intent

    assert command_intent(text) is None


@pytest.mark.parametrize(
    "text", ["by myself", "I'm by myself", "just me", "on my own", "myself", "its just me here"]
)
def test_ordinary_ways_of_saying_alone_open_the_private_questions(db, engine, text):
    from bot.safety import default_detector

    assert default_detector().assess(text).detection is None  # never a crisis alarm
    engine.start("relationship_safety", ctx(db, "conv-p", "private questions"))
    answer(engine, db, "conv-p", consent.CONSENT.agree)
    assert engine.current(ctx(db, "conv-p"))[0].key == couples.SAFETY.gate_key
    answer(engine, db, "conv-p", text)
    assert engine.current(ctx(db, "conv-p"))[0].key == couples.SAFETY.item_keys[0]


@pytest.mark.parametrize(
    "text", ["I don't have one", "i dont have it", "nope", "I lost it", "I don't have a code"]
)
def test_saying_you_have_no_code_is_understood(db, engine, text):
    engine.start("couple_join", ctx(db, "conv-n", "my partner invited me"))
    answer(engine, db, "conv-n", consent.CONSENT.agree)
    turn = answer(engine, db, "conv-n", text)
    assert said(turn) == [" ".join(couples.TEXTS.flows.no_code.split())]
    assert not turn.active


def test_the_partner_who_joined_is_told_they_are_linked(db, engine):
    from bot.flows.couples import invitation_update

    code, _ = invite(engine, db)
    join(engine, db, text=code)
    assert said_of(invitation_update(ctx(db, "conv-b"))).startswith(couples.TEXTS.flows.linked)
    assert said_of(invitation_update(ctx(db, "conv-a"))).startswith(
        couples.status_reply("accepted")
    )
