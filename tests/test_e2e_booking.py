"""Booking, rescheduling and cancelling the intake assessment through the real servers,
with the built-in scheduler (hours from the program profile, bookings in the app database)."""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timezone

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select

from bot.handoff import PRIORITY_CRISIS, for_conversation
from bot.profile import load_profile
from bot.store import session
from tests.e2e import buttons, new_sender, say, texts, tracker

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
CODE = re.compile(r"confirmation code is ([A-Z0-9]+(?:-[A-Z0-9]+)+)")
CONTACT = ["Jamie Rivera", "(512) 555-0142", "jamie.rivera@example.com", "Text and email"]


def to_the_times(stack, sender):
    say(stack, sender, "/book_appointment")
    say(stack, sender, "I agree")
    offered = say(stack, sender, "Central")
    assert "next open times" in texts(offered)[-1]
    return offered[-1]["buttons"]


def book(stack, sender, pick=0):
    times = to_the_times(stack, sender)
    chosen = times[pick]["title"]
    for text in [times[pick]["payload"]] + CONTACT:
        said = texts(say(stack, sender, text))
    assert said[-1].startswith("Please check") and chosen in said[-1], said
    return chosen, texts(say(stack, sender, "yes"))


def code_in(said):
    match = next(CODE.search(t) for t in said if CODE.search(t))
    return match.group(1)


def bookings(stack, sender):
    from bot.scheduling.models import BookingRecord

    with session(stack.env["DATABASE_URL"]) as s:
        return (
            s.execute(select(BookingRecord).where(BookingRecord.conversation_id == sender))
            .scalars()
            .all()
        )


def test_book_an_assessment_in_the_chat(stack):
    sender = new_sender("book")
    started = time.monotonic()
    chosen, said = book(stack, sender)
    print(f"\nbooking: 10 turns from 'book' to confirmation, {time.monotonic() - started:.1f} s")
    assert said[0].startswith("You're booked!") and chosen in said[0]
    assert PROFILE.facts.intake.assessment.split(",")[0] in said[1]
    code = code_in(said)
    [row] = bookings(stack, sender)
    assert row.code == code and row.status == "booked"
    # The calendar file: served by the website, only with the signed link.
    link = next(t for t in said if "/calendar/" in t).split(": ", 1)[1]
    assert link.startswith(f"http://localhost:{stack.env['WEB_PORT']}/calendar/{code}.ics?t=")
    ics = httpx.get(link.replace("localhost", "127.0.0.1"), timeout=10)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    event = Calendar.from_ical(ics.content).walk("VEVENT")[0]
    start = row.start if row.start.tzinfo else row.start.replace(tzinfo=timezone.utc)
    assert event.decoded("dtstart") == start
    assert not any(pii in ics.text for pii in ("Jamie", "0142", "jamie.rivera"))
    forged = link.split("?t=")[0] + "?t=0000"
    assert httpx.get(forged.replace("localhost", "127.0.0.1"), timeout=10).status_code == 404
    assert not tracker(stack, sender)["active_loop"].get("name")


def test_more_times_and_a_changed_mind_before_booking(stack):
    sender = new_sender("book")
    first_page = [b["title"] for b in to_the_times(stack, sender)]
    more = say(stack, sender, "More times")
    second_page = [b["title"] for b in more[-1]["buttons"]]
    assert "More times" in second_page and not set(first_page[:4]) & set(second_page[:4])
    for text in ["2"] + CONTACT:
        said = texts(say(stack, sender, text))
    assert said[-1].startswith("Please check") and second_page[1] in said[-1]
    again = say(stack, sender, "no, change something")
    assert "the time first, then your details" in texts(again)[0]
    assert "next open times" in texts(again)[-1]
    assert bookings(stack, sender) == []


def test_reschedule_then_cancel_in_later_conversations(stack):
    chosen, said = book(stack, new_sender("book"))
    code = code_in(said)
    later = new_sender("resched")
    say(stack, later, "I need to reschedule my appointment")
    say(stack, later, f"my code is {code}")
    offered = say(stack, later, "512-555-0142")
    new_time = next(b for b in offered[-1]["buttons"] if b["title"] != chosen)["title"]
    assert chosen in texts(say(stack, later, new_time))[-1]
    done = " ".join(texts(say(stack, later, "yes")))
    assert f"now on {new_time}" in done and code in done

    last = new_sender("cancel")
    say(stack, last, "cancel my appointment")
    say(stack, last, code.lower())
    assert new_time in texts(say(stack, last, "JAMIE.RIVERA@example.com"))[-1]
    assert "canceled" in " ".join(texts(say(stack, last, "cancel it")))
    # A cancelled booking cannot be rescheduled; the person is offered a new one instead.
    again = new_sender("resched")
    say(stack, again, "/reschedule_appointment")
    say(stack, again, code)
    said = say(stack, again, "(512) 555-0142")
    assert "That booking was canceled" in texts(said)[0] and "/book_appointment" in buttons(said[0])


def test_a_wrong_proof_finds_nothing(stack):
    _, said = book(stack, new_sender("book"))
    code = code_in(said)
    other = new_sender("resched")
    say(stack, other, "/reschedule_appointment")
    say(stack, other, code)
    assert "couldn't find" in " ".join(texts(say(stack, other, "(512) 555-9999")))


def test_none_of_the_times_work_becomes_a_callback(stack):
    from bot.scheduling.models import Callback

    sender = new_sender("cb")
    to_the_times(stack, sender)
    say(stack, sender, "None of these work")
    for text in ["weekday evenings after 6", "Sam Lee", "5125550199", "skip email"]:
        said = texts(say(stack, sender, text))
    assert "coordinator will call you" in " ".join(said)
    with session(stack.env["DATABASE_URL"]) as s:
        assert s.execute(select(Callback).where(Callback.conversation_id == sender)).scalars().all()


def test_two_people_confirming_the_same_time_at_once_get_one_booking(stack):
    senders = [new_sender("race") for _ in range(2)]
    for sender in senders:
        times = to_the_times(stack, sender)
        for text in [times[0]["payload"]] + CONTACT:
            say(stack, sender, text)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda s: texts(say(stack, s, "yes")), senders))
    booked = [r for r in results if r[0].startswith("You're booked!")]
    lost = [r for r in results if "someone just took that time" in " ".join(r)]
    assert len(booked) == 1 and len(lost) == 1, results


def test_crisis_language_mid_booking_gets_the_crisis_answer(stack):
    sender = new_sender("book")
    to_the_times(stack, sender)
    said = texts(say(stack, sender, "i took a whole bottle of pills"))
    assert said[0] == PROFILE.crisis_text
    assert not tracker(stack, sender)["active_loop"].get("name")
    assert ("crisis", PRIORITY_CRISIS) in [
        (r.kind, r.priority) for r in for_conversation(sender, stack.env["DATABASE_URL"])
    ]


def test_after_an_insurance_check_the_birth_date_proves_the_booking(stack):
    sender = new_sender("book")
    for text in [
        "/check_insurance",
        "I agree",
        "Aetna",
        "PPO",
        "AETNA12345",
        "my own",
        "Jane",
        "Doe",
        "04/04/2004",
    ]:
        say(stack, sender, text)
    say(stack, sender, "/book_appointment")
    times = say(stack, sender, "Central")[-1]["buttons"]
    for text in [times[0]["payload"]] + CONTACT:
        say(stack, sender, text)
    code = code_in(texts(say(stack, sender, "yes")))
    later = new_sender("resched")
    say(stack, later, "/reschedule_appointment")
    say(stack, later, code)
    assert "next open times" in texts(say(stack, later, "April 4, 2004"))[-1]
