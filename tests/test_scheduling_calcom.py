"""CalComScheduler against the local Cal.com stand-in (stand_ins.calcom)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest

from bot.scheduling import (
    BookingNotFound,
    BookingRequest,
    CalComScheduler,
    SchedulerUnavailable,
    SlotTaken,
    calcom,
)
from stand_ins.calcom import start_calcom
from tests.conftest import ROOT

KEY = "cal_test_local_key"


@pytest.fixture(scope="module")
def server():
    srv, _url = start_calcom(port=0, api_key=KEY, event_type_id=7)
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def cal(server, db_url):
    server.reset()
    sched = CalComScheduler(
        api_key=KEY,
        base_url=server.url,
        event_type_id=7,
        timeout=2.0,
        db_url=db_url,
        code_prefix="RIV",
    )
    yield sched
    sched.close()


def req(conversation="c1", **over) -> BookingRequest:
    data = dict(
        conversation_id=conversation,
        name="Jordan Rivers",
        phone="+15125550142",
        email="jordan.rivers@example.com",
        contact_consent=["email"],
        time_zone="America/Chicago",
        dob=date(1990, 3, 14),
    )
    data.update(over)
    return BookingRequest(**data)


def test_available_slots_are_utc_sorted_and_use_the_pinned_version(cal, server):
    slots = cal.available(datetime.now(timezone.utc), limit=6)
    assert len(slots) == 6 and slots == sorted(slots)
    assert all(s.start.utcoffset() == timedelta(0) and s.minutes == 60 for s in slots)
    method, path, version = server.requests[-1]
    assert (method, version) == ("GET", "2024-09-04")
    assert "eventTypeId=7" in path and "timeZone=UTC" in path and "format=range" in path


def test_book_find_reschedule_cancel(cal, server):
    first, second = cal.available(limit=2)
    booking = cal.book(first, req())
    assert booking.code.startswith("RIV-") and booking.backend == "calcom" and booking.external_uid
    remote = server.bookings[booking.external_uid]
    assert remote["status"] == "accepted"
    assert remote["attendees"][0] == {
        "name": "Jordan Rivers",
        "email": "jordan.rivers@example.com",
        "timeZone": "America/Chicago",
        "phoneNumber": "+15125550142",
    }
    assert [v for m, p, v in server.requests if p == "/v2/bookings"] == ["2026-02-25"]
    assert first not in cal.available(limit=5)
    assert cal.find(booking.code, "jordan.rivers@example.com").external_uid == booking.external_uid
    assert cal.find(booking.code, "1990-03-14").code == booking.code
    with pytest.raises(BookingNotFound):
        cal.find(booking.code, "1990-01-01")

    moved = cal.reschedule(booking.code, second)
    assert (
        moved.code == booking.code
        and moved.slot == second
        and moved.external_uid != booking.external_uid
    )
    assert server.bookings[booking.external_uid]["status"] == "cancelled"
    assert server.bookings[moved.external_uid]["rescheduledFromUid"] == booking.external_uid
    assert first in cal.available(limit=5)

    cancelled = cal.cancel(booking.code)
    assert cancelled.status == "cancelled"
    assert server.bookings[moved.external_uid]["status"] == "cancelled"
    assert cal.cancel(booking.code).status == "cancelled"  # idempotent, no second call
    versions = {(p.rsplit("/", 1)[-1], v) for m, p, v in server.requests if m == "POST"}
    assert versions == {
        ("bookings", "2026-02-25"),
        ("reschedule", "2026-02-25"),
        ("cancel", "2026-02-25"),
    }


def test_taken_slot_is_slot_taken(cal, server, db_url):
    slot = cal.available(limit=1)[0]
    cal.book(slot, req("c1"))
    with pytest.raises(SlotTaken):
        cal.book(slot, req("c2", name="Someone Else", email="else@example.com"))
    a, b = cal.available(limit=2)
    mine = cal.book(a, req("c3"))
    cal.book(b, req("c4"))
    with pytest.raises(SlotTaken):
        cal.reschedule(mine.code, b)
    assert cal.find(mine.code, "1990-03-14").slot == a


def test_server_error_is_scheduler_unavailable(cal, server):
    slot = cal.available(limit=1)[0]
    server.fail_next(500)
    with pytest.raises(SchedulerUnavailable, match="server error.*500"):
        cal.available(limit=1)
    server.fail_next(503)
    with pytest.raises(SchedulerUnavailable, match="503"):
        cal.book(slot, req())
    with pytest.raises(SchedulerUnavailable, match="500"):
        cal.book(slot, req(name="Fail 500"))
    assert cal.find_by_conversation("c1") is None  # nothing recorded


def test_client_errors_are_scheduler_unavailable(cal, server, db_url):
    slot = cal.available(limit=1)[0]
    with pytest.raises(SchedulerUnavailable, match="rejected.*422"):
        cal.book(slot, req(name="Fail 422"))
    bad_key = CalComScheduler(
        api_key="cal_wrong", base_url=server.url, event_type_id=7, db_url=db_url
    )
    with pytest.raises(SchedulerUnavailable, match="API key.*401"):
        bad_key.available(limit=1)
    wrong_event = CalComScheduler(api_key=KEY, base_url=server.url, event_type_id=8, db_url=db_url)
    with pytest.raises(SchedulerUnavailable, match="404"):
        wrong_event.available(limit=1)
    server.fail_next(429)
    with pytest.raises(SchedulerUnavailable, match="rate limiting"):
        cal.available(limit=1)
    with pytest.raises(BookingNotFound):
        cal.cancel("RIV-ZZZZZ")


def test_timeout_is_scheduler_unavailable(server, db_url):
    server.reset()
    quick = CalComScheduler(
        api_key=KEY, base_url=server.url, event_type_id=7, timeout=0.5, db_url=db_url
    )
    slot = quick.available(limit=1)[0]
    server.delay_next(2.0)
    started = time.monotonic()
    with pytest.raises(SchedulerUnavailable, match="did not answer in time"):
        quick.available(limit=1)
    with pytest.raises(SchedulerUnavailable, match="did not answer in time"):
        quick.book(slot, req(name="Slow 2"))
    assert time.monotonic() - started < 3.0
    # The stand-in still books "Slow 2" once its 2 s are up: let that land and clear it, so
    # the slot is free again for the tests that follow.
    time.sleep(2.5)
    server.reset()


def test_unreachable_is_scheduler_unavailable(db_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = CalComScheduler(
        api_key=KEY, base_url=f"http://127.0.0.1:{port}", event_type_id=7, timeout=1, db_url=db_url
    )
    with pytest.raises(SchedulerUnavailable, match="could not be reached"):
        dead.available(limit=1)


def test_wrong_api_version_is_rejected(cal, server, monkeypatch):
    """The stand-in refuses any other cal-api-version, so a client drifting back to an older
    version (which real Cal.com would silently serve) fails loudly here."""
    headers = {"Authorization": f"Bearer {KEY}"}
    for version in (None, "2024-08-13"):
        h = dict(headers, **({"cal-api-version": version} if version else {}))
        r = httpx.get(
            f"{server.url}/v2/slots",
            params={"eventTypeId": 7, "start": "2030-01-07", "end": "2030-01-08"},
            headers=h,
        )
        assert r.status_code == 400 and "2024-09-04" in r.json()["error"]["message"]
    r = httpx.post(
        f"{server.url}/v2/bookings",
        json={},
        headers=dict(headers, **{"cal-api-version": "2024-08-13"}),
    )
    assert r.status_code == 400 and "2026-02-25" in r.json()["error"]["message"]
    monkeypatch.setattr(calcom, "SLOTS_VERSION", "2024-08-13")
    with pytest.raises(SchedulerUnavailable, match="400"):
        cal.available(limit=1)
    monkeypatch.setattr(calcom, "SLOTS_VERSION", "2024-09-04")
    slot = cal.available(limit=1)[0]
    monkeypatch.setattr(calcom, "BOOKINGS_VERSION", "2024-08-13")
    with pytest.raises(SchedulerUnavailable, match="400"):
        cal.book(slot, req())


def test_email_is_required_or_fallback(cal, server, db_url):
    slot = cal.available(limit=1)[0]
    assert cal.requires_email
    with pytest.raises(SchedulerUnavailable, match="email"):
        cal.book(slot, req(email=None))
    fallback = CalComScheduler(
        api_key=KEY,
        base_url=server.url,
        event_type_id=7,
        db_url=db_url,
        fallback_email="intake@example.org",
    )
    booking = fallback.book(slot, req(email=None))
    assert server.bookings[booking.external_uid]["attendees"][0]["email"] == "intake@example.org"
    assert booking.email is None  # we keep what the person gave us


def test_remote_booking_is_cancelled_if_it_cannot_be_recorded(cal, server, monkeypatch):
    slot = cal.available(limit=1)[0]

    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(cal.bookings, "create", broken)
    with pytest.raises(RuntimeError):
        cal.book(slot, req())
    (remote,) = server.bookings.values()
    assert remote["status"] == "cancelled"


def test_command_line_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "stand_ins.calcom", "--port", str(port), "--api-key", "k1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "Cal.com stand-in" in proc.stdout.readline()
        r = httpx.get(
            f"http://127.0.0.1:{port}/v2/slots",
            params={"eventTypeId": 1, "start": "2030-01-07", "end": "2030-01-07"},
            headers={"Authorization": "Bearer k1", "cal-api-version": "2024-09-04"},
        )
        assert r.status_code == 200 and len(r.json()["data"]["2030-01-07"]) == 8
        r = httpx.post(f"http://127.0.0.1:{port}/_control", json={"fail": 502})
        r = httpx.get(f"http://127.0.0.1:{port}/v2/slots", headers={"Authorization": "Bearer k1"})
        assert r.status_code == 502
    finally:
        proc.terminate()
        proc.wait(10)
