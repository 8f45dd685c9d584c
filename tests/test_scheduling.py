"""bot.scheduling: built-in availability, bookings, the double-booking race, contact parsing,
.ics output, call-backs and encryption at rest."""

from __future__ import annotations

import math
import re
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update

from bot.dialog import NotUnderstood
from bot.profile import IntakeFacts
from bot.scheduling import (
    Booking,
    BookingNotFound,
    BookingRequest,
    BuiltInScheduler,
    CalComScheduler,
    Slot,
    SlotTaken,
    format_slot,
    parse_email,
    parse_phone,
    parse_time_zone,
    request_callback,
    scheduler_from_env,
    to_ics,
    zone_for_state,
)

CHI = ZoneInfo("America/Chicago")
UTC = timezone.utc
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def facts(**over) -> IntakeFacts:
    data = dict(
        time_zone="America/Chicago",
        slot_minutes=60,
        buffer_minutes=15,
        min_lead_hours=18,
        horizon_days=21,
        hours={
            "mon": ["09:00-12:00", "13:00-17:00"],
            "tue": ["09:00-12:00", "13:00-17:00"],
            "wed": ["09:00-12:00", "13:00-19:00"],
            "thu": ["09:00-12:00", "13:00-17:00"],
            "fri": ["09:00-12:00", "13:00-16:00"],
            "sat": ["10:00-13:00"],
            "sun": [],
        },
        holidays=[date(2026, 11, 26), date(2026, 12, 25)],
        assessment="a 60-minute video call",
        join="a secure video link",
    )
    data.update(over)
    return IntakeFacts(**data)


def at(*args) -> datetime:
    """Chicago wall-clock time -> aware datetime."""
    return datetime(*args, tzinfo=CHI)


def clock(dt: datetime):
    return lambda: dt


def request(conversation="c1", **over) -> BookingRequest:
    data = dict(
        conversation_id=conversation,
        name="Jordan Rivers",
        phone="+15125550142",
        email="jordan.rivers@example.com",
        contact_consent=["text", "email"],
        time_zone="America/Denver",
        dob=date(1990, 3, 14),
    )
    data.update(over)
    return BookingRequest(**data)


# --- availability -------------------------------------------------------------------------


def test_slots_follow_windows_slot_length_and_buffer(db_url):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)))  # Monday
    slots = sched.available(at(2026, 10, 6, 0, 0), limit=5)  # Tuesday
    local = [(s.start.astimezone(CHI).strftime("%a %H:%M"), s.minutes) for s in slots]
    # 09:00-10:00, buffer 15, 10:15-11:15; 11:30 would end after 12:00. Afternoon 13:00-17:00.
    assert local == [
        ("Tue 09:00", 60),
        ("Tue 10:15", 60),
        ("Tue 13:00", 60),
        ("Tue 14:15", 60),
        ("Tue 15:30", 60),
    ]
    assert all(s.start.tzinfo is not None and s.start.utcoffset() == timedelta(0) for s in slots)
    assert slots == sorted(slots)


def test_nine_am_stays_nine_am_across_both_dst_changes(db_url):
    # Fall back: America/Chicago leaves CDT (UTC-5) for CST (UTC-6) on 2026-11-01.
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 28, 12, 0)))
    fri = sched.available(at(2026, 10, 30, 0, 0), limit=1)[0]
    mon = sched.available(at(2026, 11, 2, 0, 0), limit=1)[0]
    assert fri.start == datetime(2026, 10, 30, 14, 0, tzinfo=UTC)  # 9:00 CDT
    assert mon.start == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 9:00 CST
    assert fri.start.astimezone(CHI).utcoffset() == timedelta(hours=-5)
    assert mon.start.astimezone(CHI).utcoffset() == timedelta(hours=-6)
    assert mon.start.astimezone(CHI).hour == fri.start.astimezone(CHI).hour == 9
    # Spring forward on 2027-03-14 (Sunday): Friday 9:00 CST, Monday 9:00 CDT.
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2027, 3, 10, 12, 0)))
    before = sched.available(at(2027, 3, 12, 0, 0), limit=1)[0]
    after = sched.available(at(2027, 3, 15, 0, 0), limit=1)[0]
    assert before.start == datetime(2027, 3, 12, 15, 0, tzinfo=UTC)
    assert after.start == datetime(2027, 3, 15, 14, 0, tzinfo=UTC)
    assert format_slot(after, "America/Chicago") == "Mon Mar 15, 9:00 AM CDT"


def test_holidays_have_no_slots(db_url):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 11, 20, 12, 0)))
    slots = sched.available(at(2026, 11, 25, 0, 0), limit=40)
    days = {s.start.astimezone(CHI).date() for s in slots}
    assert date(2026, 11, 25) in days and date(2026, 11, 27) in days
    assert date(2026, 11, 26) not in days  # Thanksgiving
    assert date(2026, 11, 29) not in days  # Sunday: no hours


def test_lead_time(db_url):
    now = at(2026, 10, 5, 15, 0)  # Monday 3 pm; 18 h lead -> Tuesday 9:00 or later
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(now))
    first = sched.available(now, limit=1)[0]
    assert first.start >= now + timedelta(hours=18)
    assert first.start.astimezone(CHI) == at(2026, 10, 6, 9, 0)  # exactly 18 h: offered
    # 9:00 Tuesday is only 18h from 3 pm Monday -> offered; at 3:01 pm it is not.
    sched2 = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 15, 1)))
    assert sched2.available(now, limit=1)[0].start.astimezone(CHI) == at(2026, 10, 6, 10, 15)


def test_lead_time_boundary_is_inclusive(db_url):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 15, 0)))
    assert sched.available(limit=1)[0].start.astimezone(CHI) == at(2026, 10, 6, 9, 0)


def test_horizon(db_url):
    now = at(2026, 10, 5, 10, 0)  # Monday 10:00; 3-day horizon ends Thursday 10:00
    sched = BuiltInScheduler(facts(horizon_days=3), db_url=db_url, now=clock(now))
    slots = sched.available(now, limit=500)
    assert slots and all(s.start < now + timedelta(days=3) for s in slots)
    assert max(s.start for s in slots).astimezone(CHI) == at(2026, 10, 8, 9, 0)
    assert sched.available(now + timedelta(days=4), limit=5) == []


def test_booked_slot_is_not_offered_and_cannot_be_booked_twice(db_url):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)))
    slot = sched.available(limit=1)[0]
    booking = sched.book(slot, request())
    assert booking.status == "booked" and booking.slot == slot
    assert slot not in sched.available(limit=20)
    with pytest.raises(SlotTaken):
        sched.book(slot, request("c2"))


def test_slot_that_is_not_offered_is_refused(db_url):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)))
    odd = Slot(at(2026, 10, 6, 9, 30).astimezone(UTC), at(2026, 10, 6, 10, 30).astimezone(UTC))
    past = Slot(at(2026, 10, 5, 9, 0).astimezone(UTC), at(2026, 10, 5, 10, 0).astimezone(UTC))
    for slot in (odd, past):
        with pytest.raises(SlotTaken):
            sched.book(slot, request())


# --- bookings -----------------------------------------------------------------------------


def test_book_then_find_by_code_and_each_proof(db_url):
    sched = BuiltInScheduler(
        facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)), code_prefix="RIV"
    )
    booking = sched.book(sched.available(limit=1)[0], request())
    assert re.fullmatch(r"RIV-[A-Z0-9]{5}-[A-Z0-9]{5}", booking.code), booking.code
    assert not set(booking.code[4:]) & set("01OILU")
    for proof in (
        "1990-03-14",
        "3/14/1990",
        "(512) 555-0142",
        "512.555.0142",
        "Jordan.Rivers@Example.com",
        " jordan.rivers@example.com ",
    ):
        found = sched.find(booking.code, proof)
        assert found.code == booking.code and found.name == "Jordan Rivers", proof
        assert found.dob == date(1990, 3, 14) and found.phone == "+15125550142"
    # The code survives case, spaces and a missing dash or prefix.
    assert sched.find(booking.code.lower().replace("-", " "), "1990-03-14").code == booking.code
    assert sched.find(booking.code[4:], "1990-03-14").code == booking.code


def test_new_codes_have_at_least_40_random_bits_and_old_codes_still_work(db_url):
    from bot import store
    from bot.scheduling.core import CODE_ALPHABET, CODE_LENGTH, new_code
    from bot.scheduling.models import BookingRecord

    assert CODE_LENGTH * math.log2(len(CODE_ALPHABET)) >= 40
    codes = {new_code("APT") for _ in range(2000)}
    assert len(codes) == 2000 and all(re.fullmatch(r"APT-\w{5}-\w{5}", c) for c in codes)
    sched = BuiltInScheduler(
        facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)), code_prefix="RIV"
    )
    booking = sched.book(sched.available(limit=1)[0], request())
    body = booking.code.replace("-", "")[3:]
    for typed in (booking.code, booking.code.lower().replace("-", " "), body, f"riv{body}"):
        assert sched.find(typed, "1990-03-14").code == booking.code, typed
    # A booking made before codes grew keeps its 5-character code.
    with store.session(db_url) as s:
        s.execute(
            update(BookingRecord).where(BookingRecord.code == booking.code).values(code="RIV-7KQ2M")
        )
    for typed in ("RIV-7KQ2M", "riv 7kq2m", "7KQ2M"):
        assert sched.find(typed, "1990-03-14").code == "RIV-7KQ2M", typed
    with pytest.raises(BookingNotFound):
        sched.find(booking.code, "1990-03-14")
    assert sched.cancel("riv7kq2m").status == "cancelled"


@pytest.mark.parametrize(
    "proof", ["1990-03-15", "512-555-0143", "someone@example.com", "", "hello"]
)
def test_wrong_proof_fails(db_url, proof):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)))
    booking = sched.book(sched.available(limit=1)[0], request())
    with pytest.raises(BookingNotFound):
        sched.find(booking.code, proof)
    with pytest.raises(BookingNotFound):
        sched.find("IOP-ZZZZZ", "1990-03-14")


def test_reschedule_moves_the_booking_and_frees_the_old_slot(db_url):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)))
    first, second, third = sched.available(limit=3)
    booking = sched.book(first, request())
    other = sched.book(third, request("c2"))
    moved = sched.reschedule(booking.code, second)
    assert moved.code == booking.code and moved.slot == second
    assert moved.status == "rescheduled" and moved.sequence == 1
    assert first in sched.available(limit=3)  # freed
    assert second not in sched.available(limit=5)
    sched.book(first, request("c3"))  # someone else can take it now
    with pytest.raises(SlotTaken):  # moving onto a taken slot leaves the booking where it was
        sched.reschedule(booking.code, third)
    assert sched.find(booking.code, "1990-03-14").slot == second
    assert other.slot == third


def test_cancel_frees_the_slot_and_is_idempotent(db_url):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)))
    slot = sched.available(limit=1)[0]
    booking = sched.book(slot, request())
    assert sched.find_by_conversation("c1").code == booking.code
    cancelled = sched.cancel(booking.code)
    assert cancelled.status == "cancelled" and not cancelled.active
    assert sched.cancel(booking.code).status == "cancelled"
    assert sched.find_by_conversation("c1") is None
    assert slot in sched.available(limit=1)
    assert sched.book(slot, request("c2")).slot == slot
    with pytest.raises(BookingNotFound):
        sched.reschedule(booking.code, sched.available(limit=1)[0])
    with pytest.raises(BookingNotFound):
        sched.cancel("IOP-ZZZZZ")


def test_overlapping_slots_from_a_changed_profile_still_conflict(db_url):
    """The claim is on 5-minute cells, not only the start: if the clinic changes the slot
    grid, a new slot overlapping an existing booking is refused too."""
    now = clock(at(2026, 10, 5, 8, 0))
    BuiltInScheduler(facts(), db_url=db_url, now=now).book(
        Slot(at(2026, 10, 6, 9, 0).astimezone(UTC), at(2026, 10, 6, 10, 0).astimezone(UTC)),
        request(),
    )
    half = BuiltInScheduler(facts(slot_minutes=30, buffer_minutes=0), db_url=db_url, now=now)
    offered = [s.start.astimezone(CHI).strftime("%H:%M") for s in half.available(limit=3)]
    assert offered == ["10:00", "10:30", "11:00"]
    with pytest.raises(SlotTaken):
        half.book(
            Slot(at(2026, 10, 6, 9, 30).astimezone(UTC), at(2026, 10, 6, 10, 0).astimezone(UTC)),
            request("c2"),
        )


# --- the race -----------------------------------------------------------------------------


def _race(sched: BuiltInScheduler, slot: Slot, tag: str, label: str, n: int = 20):
    barrier = threading.Barrier(n)
    results, lock = [], threading.Lock()

    def attempt(i):
        barrier.wait()
        try:
            booking = sched.book(slot, request(f"{tag}-{i}", name=f"Racer {i}"))
            outcome = ("booked", booking.code)
        except SlotTaken:
            outcome = ("taken", None)
        except Exception as exc:  # noqa: BLE001 - reported in the assertion below
            outcome = ("error", repr(exc))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    booked = [r for r in results if r[0] == "booked"]
    taken = [r for r in results if r[0] == "taken"]
    errors = [r for r in results if r[0] == "error"]
    print(
        f"\n[race {label}] {n} threads booked {slot.start.isoformat()} at once: "
        f"{len(booked)} booked, {len(taken)} SlotTaken, {len(errors)} errors {errors[:3]}"
    )
    return booked, taken, errors


def _rows_for(db_url, tag):
    from bot import store
    from bot.scheduling.models import BookingRecord, SlotClaim

    with store.session(db_url) as s:
        ids = [
            r.id
            for r in s.execute(
                select(BookingRecord).where(BookingRecord.conversation_id.like(f"{tag}-%"))
            ).scalars()
        ]
        claims = (
            s.execute(select(SlotClaim).where(SlotClaim.booking_id.in_(ids))).scalars().all()
            if ids
            else []
        )
        return ids, len(claims)


def _cleanup(db_url, tag):
    from bot import store
    from bot.scheduling.models import BookingRecord, SlotClaim

    with store.session(db_url) as s:
        ids = [
            r[0]
            for r in s.execute(
                select(BookingRecord.id).where(BookingRecord.conversation_id.like(f"{tag}-%"))
            )
        ]
        if ids:
            s.execute(delete(SlotClaim).where(SlotClaim.booking_id.in_(ids)))
            s.execute(delete(BookingRecord).where(BookingRecord.id.in_(ids)))


def test_twenty_conversations_race_for_one_slot_sqlite(db_url):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)))
    slot = sched.available(limit=1)[0]
    booked, taken, errors = _race(sched, slot, "race", "sqlite")
    assert (len(booked), len(taken), len(errors)) == (1, 19, 0)
    ids, claims = _rows_for(db_url, "race")
    assert len(ids) == 1 and claims == 12  # 60 minutes = 12 five-minute cells


def _postgres_or_skip():
    try:
        import psycopg2

        psycopg2.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable ({type(exc).__name__}: {exc})".strip())


def test_twenty_conversations_race_for_one_slot_postgresql():
    _postgres_or_skip()
    tag = f"sched-race-{uuid.uuid4().hex[:8]}"
    # A date far from anything else in the shared database; rows removed afterwards.
    sched = BuiltInScheduler(facts(), db_url=PG_URL, now=clock(at(2031, 6, 2, 8, 0)))
    slot = sched.available(limit=1)[0]
    _cleanup(PG_URL, "sched-race")  # leftovers of an interrupted run
    from bot import store
    from bot.scheduling.models import SlotClaim, cells

    with store.session(PG_URL) as s:
        s.execute(
            delete(SlotClaim).where(
                SlotClaim.calendar == "builtin", SlotClaim.cell.in_(cells(slot.start, slot.end))
            )
        )
    try:
        booked, taken, errors = _race(sched, slot, tag, "postgresql")
        assert (len(booked), len(taken), len(errors)) == (1, 19, 0)
        ids, claims = _rows_for(PG_URL, tag)
        assert len(ids) == 1 and claims == 12
    finally:
        _cleanup(PG_URL, tag)


# --- encryption at rest, callbacks --------------------------------------------------------


def _raw_bytes(db_url) -> bytes:
    path = Path(db_url.replace("sqlite:///", ""))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_contact_details_are_not_readable_in_the_database_file(db_url):
    sched = BuiltInScheduler(facts(), db_url=db_url, now=clock(at(2026, 10, 5, 8, 0)))
    booking = sched.book(
        sched.available(limit=1)[0],
        request(name="Quintessa Marlowe", email="quintessa.m@example.org"),
    )
    request_callback(
        "c9",
        "weekday evenings after 6",
        phone="+15125550188",
        email="callme@example.net",
        db_url=db_url,
    )
    raw = _raw_bytes(db_url)
    assert booking.code.encode() in raw  # the file is the right one
    for secret in (
        b"Quintessa",
        b"quintessa.m@example.org",
        b"5125550142",
        b"1990-03-14",
        b"5125550188",
        b"callme@example.net",
        b"weekday evenings",
    ):
        assert secret not in raw, secret
    assert "Quintessa" not in repr(booking) and "5125550142" not in repr(booking)


def test_request_callback_stores_encrypted_and_returns_id(db_url):
    from bot import store
    from bot.scheduling.models import Callback

    first = request_callback("c1", "mornings", phone="+15125550142", db_url=db_url)
    second = request_callback("c1", "any time", email="a@example.com", db_url=db_url)
    assert second > first
    with store.session(db_url) as s:
        row = s.get(Callback, first)
        assert row.contact["phone"] == "+15125550142" and row.best_times == "mornings"
        assert row.status == "open"
    bare = request_callback("c1", "reschedule: none of the offered times", db_url=db_url)
    with store.session(db_url) as s:
        assert s.get(Callback, bare).contact == {"phone": None, "email": None, "time_zone": None}


# --- .ics ---------------------------------------------------------------------------------


def test_ics_parses_back_with_the_right_utc_start():
    from icalendar import Calendar

    slot = Slot(
        datetime(2026, 11, 24, 20, 0, tzinfo=UTC), datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    )
    booking = Booking(
        code="RIV-7KQ2M",
        slot=slot,
        status="booked",
        name="Jordan Rivers",
        phone="+15125550142",
        email="j@example.com",
        time_zone="America/Chicago",
    )
    data = to_ics(booking, "Intake assessment", "A 60-minute video call", "Secure video link")
    cal = Calendar.from_ical(data)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert event.decoded("dtstart") == slot.start and event.decoded(
        "dtstart"
    ).utcoffset() == timedelta(0)
    assert event.decoded("dtend") == slot.end
    assert str(event["summary"]) == "Intake assessment"
    assert str(event["uid"]) == "RIV-7KQ2M@intake-assistant"
    assert b"DTSTART:20261124T200000Z" in data
    assert b"Jordan" not in data and b"5125550142" not in data
    cancelled = Calendar.from_ical(
        to_ics(Booking(**{**booking.__dict__, "status": "cancelled", "sequence": 2}), "Intake")
    )
    assert str(cancelled["method"]) == "CANCEL"
    assert str(list(cancelled.walk("VEVENT"))[0]["status"]) == "CANCELLED"


def test_format_slot_is_short():
    slot = Slot(
        datetime(2026, 11, 24, 20, 0, tzinfo=UTC), datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    )
    assert format_slot(slot, "America/Chicago") == "Tue Nov 24, 2:00 PM CST"
    assert format_slot(slot, ZoneInfo("America/New_York")) == "Tue Nov 24, 3:00 PM EST"
    assert format_slot(slot, "America/Los_Angeles") == "Tue Nov 24, 12:00 PM PST"


# --- parsing tables -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("512-555-0142", "+15125550142"),
        ("(512) 555-0142", "+15125550142"),
        ("512.555.0142", "+15125550142"),
        ("+1 512 555 0142", "+15125550142"),
        ("1-512-555-0142", "+15125550142"),
        ("5125550142", "+15125550142"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_parse_phone(text, expected):
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text", ["", "555-0142", "call me", "123", "000-000-0000", "my number is secret"]
)
def test_parse_phone_rejects(text):
    with pytest.raises(NotUnderstood):
        parse_phone(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("jordan@example.com", "jordan@example.com"),
        ("  Jordan.Rivers@Example.COM ", "Jordan.Rivers@example.com"),
        ("a+intake@sub.example.org", "a+intake@sub.example.org"),
        ("<x@example.net>", "x@example.net"),
    ],
)
def test_parse_email(text, expected):
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    "text", ["", "jordan", "jordan@", "@example.com", "jordan@example", "a b@example.com"]
)
def test_parse_email_rejects(text):
    with pytest.raises(NotUnderstood):
        parse_email(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("central", "America/Chicago"),
        ("CST", "America/Chicago"),
        ("Central Time", "America/Chicago"),
        ("CT", "America/Chicago"),
        ("cdt", "America/Chicago"),
        ("eastern time", "America/New_York"),
        ("EST", "America/New_York"),
        ("Eastern Standard Time", "America/New_York"),
        ("mountain", "America/Denver"),
        ("MST", "America/Denver"),
        ("pacific", "America/Los_Angeles"),
        ("PT", "America/Los_Angeles"),
        ("Pacific time zone", "America/Los_Angeles"),
        ("America/Denver", "America/Denver"),
        ("america/new_york", "America/New_York"),
        ("Texas", "America/Chicago"),
        ("TX", "America/Chicago"),
        ("New Mexico", "America/Denver"),
        ("Arizona", "America/Phoenix"),
        ("hawaii", "Pacific/Honolulu"),
        ("alaska", "America/Anchorage"),
        ("I'm in Ohio", "America/New_York"),
        ("Denver", "America/Denver"),
        ("UTC", "UTC"),
    ],
)
def test_parse_time_zone(text, expected):
    assert parse_time_zone(text) == expected


@pytest.mark.parametrize("text", ["", "mars", "somewhere warm", "12345"])
def test_parse_time_zone_rejects(text):
    with pytest.raises(NotUnderstood) as exc:
        parse_time_zone(text)
    assert "time zone" in str(exc.value)


def test_zone_for_every_state_dc_and_pr():
    from bot.profile import US_STATES

    for code in US_STATES:
        ZoneInfo(zone_for_state(code))
    assert zone_for_state("TX") == zone_for_state("Texas") == "America/Chicago"
    assert zone_for_state("district of columbia") == "America/New_York"
    assert zone_for_state("Puerto Rico") == "America/Puerto_Rico"
    assert zone_for_state("CA") == "America/Los_Angeles"
    with pytest.raises(NotUnderstood):
        zone_for_state("Ontario")


# --- choosing the back end -----------------------------------------------------------------


def test_scheduler_from_env(db_url, monkeypatch):
    monkeypatch.delenv("CALCOM_API_KEY", raising=False)
    assert isinstance(scheduler_from_env(facts(), db_url), BuiltInScheduler)
    monkeypatch.setenv("CALCOM_API_KEY", "cal_test_x")
    monkeypatch.setenv("CALCOM_EVENT_TYPE_ID", "42")
    monkeypatch.setenv("CALCOM_BASE_URL", "http://127.0.0.1:9")
    sched = scheduler_from_env(facts(), db_url)
    assert isinstance(sched, CalComScheduler) and sched.event_type_id == 42
    assert str(sched.client.base_url).startswith("http://127.0.0.1:9")
    assert scheduler_from_env(facts(), db_url) is sched  # one HTTP client per configuration
    monkeypatch.setenv("CALCOM_EVENT_TYPE_ID", "")
    with pytest.raises(ValueError):
        scheduler_from_env(facts(), db_url)
