"""Putting a conversation at one question of a flow, exactly as a person who answered the
earlier questions would have left it, so an answer can be tried in its context.

The earlier answers go through the same flow engine the action server runs, on the same
app database; the Rasa tracker is then told the form is waiting for that answer (the
events a real conversation has at that point). The answer under test is then sent through
the REST channel like any message.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Dict, Optional

import httpx

from tests.e2e import iop_fit_answer, new_sender

# A typical path through each flow: the answers given before the question under test.
ANSWERS: Dict[str, str] = {
    "consent": "I agree",
    "coverage.insurer": "Aetna",
    "coverage.plan_type": "PPO",
    "coverage.member_id": "AETNA12345",
    "coverage.relation": "my own",
    "coverage.subscriber_first": "Jane",
    "coverage.subscriber_last": "Doe",
    "coverage.subscriber_dob": "04/04/2004",
    "coverage.patient_first": "Sam",
    "coverage.patient_last": "Doe",
    "coverage.patient_dob": "01/15/1990",
    "booking.zone": "Central",
    "booking.slot": "1",
    "booking.name": "Alex Rivera",
    "booking.phone": "512-555-0142",
    "booking.email": "alex@example.com",
    "booking.contact_ok": "Text and email",
}


def flow_of(key: str) -> str:
    if key.startswith("coverage."):
        return "coverage"
    if key.startswith(("booking.", "callback.")):
        return "booking"
    if key.startswith("manage."):
        return "cancel"
    return "screening"  # fit questions, instruments, sex, consent


def answer_before(target: str, key: str, booking_code: Optional[str]) -> str:
    """What the person said to `key` on the way to `target`."""
    if target.startswith("asq.") and key == "phq9.9":
        return "several days"  # the ASQ is asked only after a yes to PHQ-9 item 9
    if target == "asq.5" and key.startswith("asq."):
        return "yes"  # item 5 follows a yes to items 1-4
    if target in ("auditc.2", "auditc.3") and key == "auditc.1":
        return "monthly or less"
    if key == "auditc.2":
        return "1 or 2"
    if target.startswith("coverage.patient_") and key == "coverage.relation":
        return "spouse"
    if target == "callback.times" and key == "booking.slot":
        return "None of these work"
    if key == "manage.code":
        return booking_code or ""
    if key == "manage.proof":
        return "04/04/2004"
    return ANSWERS.get(key) or iop_fit_answer(key)


@lru_cache(maxsize=None)
def _engine():
    from bot.flows import registry
    from bot.flows.engine import Engine

    return Engine(registry.flows())


def _booking(db_url: str) -> str:
    """A booking to cancel (its code), as a person who booked earlier has."""
    from datetime import date

    from bot import scheduling
    from bot.profile import load_profile

    sched = scheduling.scheduler_from_env(load_profile().facts.intake, db_url=db_url)
    slot = sched.available(datetime.now(timezone.utc) + timedelta(days=20), 1)[0]
    request = scheduling.BookingRequest(
        conversation_id=new_sender("booked"),
        name="Jane Doe",
        phone="+15125550142",
        email=None,
        contact_consent=[],
        time_zone="America/Chicago",
        dob=date(2004, 4, 4),
    )
    return sched.book(slot, request).code


_templates: Dict[str, str] = {}
_lock = threading.Lock()


def place_at(stack, key: str) -> str:
    """A new conversation waiting for the answer to `key`; returns its sender id.

    The first conversation for a key is walked there through the engine; later ones get a
    copy of its consent and flow rows (the same state, under their own id)."""
    db_url = stack.env["DATABASE_URL"]
    with _lock:
        if key not in _templates:
            _templates[key] = _walk_to(db_url, key)
    sender = new_sender("ctx")
    _copy_conversation(db_url, _templates[key], sender)
    _tell_rasa_the_form_waits(stack, sender, flow_of(key))
    return sender


def _copy_conversation(db_url: str, source: str, target: str) -> None:
    from sqlalchemy import select

    from bot.consent.models import Consent
    from bot.flows.models import FlowDraft
    from bot.store import session

    with session(db_url) as s:
        for c in s.execute(select(Consent).where(Consent.conversation_id == source)).scalars():
            s.add(Consent(conversation_id=target, version=c.version, given_at=c.given_at))
        for d in s.execute(select(FlowDraft).where(FlowDraft.conversation_id == source)).scalars():
            s.add(
                FlowDraft(
                    conversation_id=target,
                    flow=d.flow,
                    status=d.status,
                    question_key=d.question_key,
                    failures=d.failures,
                    state=dict(d.state),
                )
            )


def _walk_to(db_url: str, key: str) -> str:
    from bot.flows.engine import Context
    from bot.profile import load_profile

    sender = new_sender("template")
    ctx = Context(sender, load_profile(), db_url=db_url)
    flow = flow_of(key)
    engine = _engine()
    code = _booking(db_url) if flow == "cancel" else None
    engine.start(flow, ctx)
    for _ in range(80):
        current = engine.current(ctx)
        assert current is not None, f"{flow} ended before {key}"
        asked = current[0].key
        if asked == key:
            break
        turn = engine.handle(answer_before(key, asked, code), "", 0.0, ctx)
        assert turn.active, f"{flow} stopped at {asked} on the way to {key}"
    else:
        raise AssertionError(f"never reached {key}")
    return sender


def _tell_rasa_the_form_waits(stack, sender: str, flow: str) -> None:
    # A session first: without one, Rasa starts a session on the next message, and a new
    # session drops the active form (the answer would never reach its question).
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "action", "name": "action_listen"},
        {"event": "action", "name": "action_start_flow"},
        {"event": "slot", "name": "flow", "value": flow},
        {"event": "action", "name": "intake_form"},
        {"event": "active_loop", "name": "intake_form"},
        {"event": "slot", "name": "requested_slot", "value": "intake_answer"},
        {"event": "action", "name": "action_listen"},
    ]
    response = httpx.post(
        f"{stack.rasa_url}/conversations/{sender}/tracker/events",
        params={"token": stack.env["RASA_AUTH_TOKEN"]},
        json=events,
        timeout=60,
    )
    assert 200 <= response.status_code < 300, response.text


def reached_the_question(stack, sender: str) -> bool:
    """Whether the last message went to the form (its question read it), not elsewhere."""
    response = httpx.get(
        f"{stack.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.env["RASA_AUTH_TOKEN"]},
        timeout=60,
    )
    events = response.json()["events"]
    last_user = max(i for i, e in enumerate(events) if e.get("event") == "user")
    return any(
        e.get("event") == "action" and e.get("name") == "intake_form"
        for e in events[last_user + 1 :]
    ) or any(e.get("name") == "action_crisis_response" for e in events[last_user + 1 :])
