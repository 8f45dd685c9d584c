"""Booking messages: queued with the booking (confirmation now, reminders 24 h and 2 h
before), moved with a reschedule, dropped with a cancellation, only on the channels the
person agreed to, never to a number that replied STOP, and discreet."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from sqlalchemy import select

from bot.notify import worker
from bot.notify.models import OutboxMessage
from bot.notify.optout import record_reply
from bot.notify.templates import PATH, TemplateError, Templates, load_templates
from bot.profile import load_profile
from bot.scheduling import BuiltInScheduler
from bot.store import session
from tests.test_scheduling import facts, request

NOW = datetime.now(timezone.utc)
# Words that would tell a lock screen or a shared inbox what the appointment is for.
TELLTALE = re.compile(
    r"\b(iop|intensive|outpatient|rehab|recovery|substance|alcohol|drug|addiction|"
    r"screening|diagnos\w*|insurance|ppo|mental|psychiatr\w*|sober|treatment)\b",
    re.I,
)


def book(db_url, **over):
    sched = BuiltInScheduler(facts(min_lead_hours=0), db_url=db_url)
    slot = sched.available(NOW + timedelta(days=3), limit=1)[0]
    return sched, sched.book(slot, request(**over))


def outbox(db_url):
    with session(db_url) as s:
        rows = s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
    return [(r.kind, r.channel, r.status, r.next_attempt_at, r.payload) for r in rows]


def test_a_booking_queues_its_confirmation_and_two_reminders_per_channel(db_url):
    _, booking = book(db_url)
    rows = outbox(db_url)
    assert sorted((k, c) for k, c, *_ in rows) == sorted(
        (k, c) for k in ("confirmed", "reminder_24h", "reminder_2h") for c in ("email", "sms")
    )
    due = {(k, c): d for k, c, _, d, _ in rows}
    start = booking.slot.start
    assert due[("reminder_24h", "sms")] == start - timedelta(hours=24)
    assert due[("reminder_2h", "email")] == start - timedelta(hours=2)
    assert due[("confirmed", "email")] <= datetime.now(timezone.utc)
    email = next(p for k, c, _, _, p in rows if (k, c) == ("confirmed", "email"))
    assert email["to"] == "jordan.rivers@example.com" and email["subject"]
    assert "BEGIN:VEVENT" in email["ics"] and booking.code in email["text"]
    text = next(p for k, c, _, _, p in rows if (k, c) == ("confirmed", "sms"))
    assert text["to"] == "+15125550142" and len(text["text"]) <= 160
    assert "STOP" in text["text"]


def test_only_the_channels_the_person_agreed_to(db_url):
    book(db_url, contact_consent=["email"])
    assert {c for _, c, *_ in outbox(db_url)} == {"email"}


def test_a_reschedule_moves_the_reminders_and_a_cancel_drops_them(db_url):
    sched, booking = book(db_url)
    new_slot = sched.available(booking.slot.start + timedelta(days=2), limit=1)[0]
    sched.reschedule(booking.code, new_slot)
    rows = outbox(db_url)
    old = [
        r
        for r in rows
        if r[0].startswith("reminder") and r[3] < new_slot.start - timedelta(hours=25)
    ]
    assert old and all(status == "cancelled" for _, _, status, _, _ in old)
    live = {(k, c): d for k, c, status, d, _ in rows if status == "pending"}
    assert live[("reminder_24h", "email")] == new_slot.start - timedelta(hours=24)
    assert ("rescheduled", "sms") in live

    sched.cancel(booking.code)
    rows = outbox(db_url)
    assert not [r for r in rows if r[0].startswith("reminder") and r[2] == "pending"]
    cancelled = [p for k, c, _, _, p in rows if (k, c) == ("cancelled", "email")]
    assert len(cancelled) == 1 and "METHOD:CANCEL" in cancelled[0]["ics"]
    sched.cancel(booking.code)  # again: nothing more is sent
    assert len([r for r in outbox(db_url) if r[0] == "cancelled"]) == 2  # email + sms, once


def test_reminders_come_due_at_their_time_on_a_controlled_clock(db_url, monkeypatch):
    _, booking = book(db_url, contact_consent=["email"])
    start = booking.slot.start

    def due_at(moment):
        monkeypatch.setattr(worker, "utcnow", lambda: moment)
        held = worker.claim(db_url=db_url)
        for row in held:  # put them back for the next look
            worker._mark(row, worker.Outcome(sent=False, retry=True), db_url)
        with session(db_url) as s:
            for row in held:
                s.get(OutboxMessage, row.id).next_attempt_at = row.next_attempt_at
                s.get(OutboxMessage, row.id).attempts = 0
        return sorted(r.kind for r in held)

    assert due_at(start - timedelta(hours=25)) == ["confirmed"]
    assert due_at(start - timedelta(hours=24)) == ["confirmed", "reminder_24h"]
    assert due_at(start - timedelta(hours=2)) == ["confirmed", "reminder_24h", "reminder_2h"]


def test_a_number_that_replied_stop_gets_no_more_texts(db_url):
    assert record_reply("+15125550142", " Stop ") == "stopped"
    book(db_url)
    assert {c for _, c, *_ in outbox(db_url)} == {"email"}
    # A text queued before the STOP is not sent either.
    assert record_reply("+15125550142", "START") == "started"
    _, second = book(db_url, conversation="c2")
    record_reply("+15125550142", "stop")
    assert worker.send_text({"to": "+15125550142", "text": "x"}, None).reason == "opted out (STOP)"


def test_messages_carry_a_first_name_and_a_time_and_nothing_that_tells_what_for(db_url):
    book(db_url, name="Zebediah Quartermaine", phone="+15125550177", email="zq@example.org")
    checked = 0
    for kind, channel, _, _, payload in outbox(db_url):
        texts = [payload.get("text", ""), payload.get("subject", ""), payload.get("html", "")]
        for text in filter(None, texts):
            assert "Quartermaine" not in text and "1990" not in text
            assert not TELLTALE.search(text), (kind, channel, TELLTALE.search(text))
            checked += 1
        if payload.get("ics"):
            assert "Quartermaine" not in payload["ics"] and not TELLTALE.search(payload["ics"])
    assert checked == 3 * 3 + 3  # three emails (subject, text, HTML) and three texts
    profile_phone = load_profile().facts.program.phone
    assert all(profile_phone in p["text"] for *_, p in outbox(db_url))


@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            lambda t: t["messages"]["confirmed"].update(sms="{first_name} {diagnosis}"),
            "unknown placeholder {diagnosis}",
        ),
        (
            lambda t: t["messages"]["reminder_2h"].update(sms="x" * 150 + " {when}"),
            "reminder_2h.sms: .* over one segment",
        ),
        (
            lambda t: t["messages"]["cancelled"].update(sms="Hi {first_name} \\U0001F600"),
            "not a plain SMS character",
        ),
        (lambda t: t["messages"].pop("rescheduled"), "missing \\['rescheduled'\\]"),
        (lambda t: t["messages"]["confirmed"].update(subjet="typo"), "confirmed.subjet"),
    ],
)
def test_a_bad_template_is_named(edit, expected, tmp_path):
    raw = yaml.safe_load(PATH.read_text())
    edit(raw)
    bad = tmp_path / "messages.yml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=False))
    with pytest.raises(TemplateError, match=expected):
        load_templates(bad)


def test_the_shipped_templates_load():
    assert isinstance(load_templates(), Templates)


def test_a_call_back_request_with_an_email_is_acknowledged_by_email(db_url):
    from bot.scheduling import request_callback

    request_callback("c-cb", "weekday evenings", phone="+15125550142", db_url=db_url)
    assert outbox(db_url) == []  # a phone given for a call is called, not texted
    request_callback("c-cb2", "mornings", email="casey@example.org", db_url=db_url)
    [(kind, channel, status, _, payload)] = outbox(db_url)
    assert (kind, channel, status) == ("callback_ack", "email", "pending")
    assert payload["to"] == "casey@example.org" and "mornings" not in payload["text"]
    assert not TELLTALE.search(payload["text"] + payload["subject"])
