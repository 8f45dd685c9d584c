"""Rescheduling or cancelling an intake assessment as a flow: find the booking by its code
plus the date of birth, phone or email it was booked with, then move or cancel it.

Failed look-ups are limited (bot.limits): per conversation, and per booking code, which
locks that booking for a while after repeated wrong details (even for the right ones)."""

from __future__ import annotations

import re
from typing import Any, List, Optional

from bot import limits, scheduling
from bot.config import settings
from bot.dialog import BOOK, PERSON, NotUnderstood, Option, Question, Reply, parse_yes_no
from bot.flows import slots
from bot.flows.booking import NO, YES
from bot.flows.engine import Context, Flow
from bot.scheduling.core import normalise_code

NOT_ANSWERING = "I'm sorry, our booking system isn't answering right now."
# A code at the end of the answer: the prefix (optional), then two groups of 5 characters
# (APT-7KQ2M-8XDPR) or one (codes made before). Only the configured prefix is taken as one,
# so "my code is 7kq2m-8xdpr" does not read "is" as a prefix.
CODE_IN_TEXT = (
    r"(?<![A-Za-z0-9])(?:{prefix}[\s-]?)?"
    r"[A-Za-z0-9]{{5}}(?:[\s-]?[A-Za-z0-9]{{5}})?[\s.!]*$"
)
BOOK_NEW = Option("Book a new time", BOOK.value)


class ManageBookingFlow(Flow):
    """Reschedule or cancel: find the booking by its code plus date of birth or contact."""

    needs_consent = False

    def __init__(self, mode: str):
        self.mode = mode  # "reschedule" or "cancel"
        self.name = mode
        self.title = "rescheduling" if mode == "reschedule" else "the cancellation"

    def prepare(self, state: dict, ctx: Context) -> None:
        a = state.setdefault("answers", {})
        if self.mode != "reschedule" or state.get("finished") or "when" not in state:
            return  # nothing to offer until the booking is found
        slots.prepare_zone(state, ctx, known=state.get("booking_zone"))
        if state.get("zone") and "booking.slot" not in a:
            slots.prepare_offer(state, ctx)

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        a = state.get("answers", {})
        if state.get("finished"):
            return None
        if "manage.code" not in a:
            return Question(
                "manage.code",
                "What's your confirmation code? "
                f"(It looks like {settings().booking_code_prefix}-7KQ2M-8XDPR.)",
                help="It's in your confirmation message.",
                skippable=False,
            )
        if "manage.proof" not in a:
            return Question(
                "manage.proof",
                "To keep your booking private: what's your date of "
                "birth, or the phone number or email you booked with?",
                skippable=False,
            )
        if self.mode == "cancel":
            if "manage.confirm" not in a:
                return Question(
                    "manage.confirm",
                    f"Cancel your assessment on {state['when']}?",
                    (Option("Yes, cancel it", "yes"), Option("No, keep it", "no")),
                    skippable=False,
                )
            return None
        if not state.get("zone"):
            return slots.zone_question()
        if "booking.slot" not in a:
            return slots.slot_question(state)
        if "manage.confirm" not in a:
            when = scheduling.format_slot(slots.slot_of(a["booking.slot"]), state["zone"])
            return Question(
                "manage.confirm",
                f"Move your assessment from {state['when']} to {when}?",
                (YES, NO),
                skippable=False,
            )
        return None

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        key, t = question.key, text.strip()
        if key == "manage.code":
            prefix = re.escape(settings().booking_code_prefix)
            found = re.search(CODE_IN_TEXT.format(prefix=prefix), t, re.IGNORECASE)
            if not found:
                raise NotUnderstood("That doesn't look like a confirmation code.")
            return found.group(0).strip(" \t\n.!").upper()
        if key == "manage.proof":
            return _proof(t)
        if key == "manage.confirm":
            if self.mode == "cancel" and re.match(r"^(yes,? )?(please )?cancel( it)?\b", t, re.I):
                return True
            if re.match(r"^(no,? )?(please )?keep( it)?\b", t, re.I):
                return False
            return parse_yes_no(t)
        return slots.parse_time(key, t, state)

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        a = state.setdefault("answers", {})
        if slots.store_time(question.key, value, state):
            return []
        if question.key == "booking.slot" and value == "none":
            state["finished"] = True
            scheduling.request_callback(
                ctx.conversation_id, "reschedule: none of the offered times", db_url=ctx.db_url
            )
            return [
                Reply(
                    "No problem. Your current time stays booked for now, and a coordinator "
                    "will call you to find a better one."
                )
            ]
        a[question.key] = value
        if question.key == "manage.proof":
            return self._find(state, ctx)
        if question.key == "manage.confirm":
            return self._apply(value, state, ctx)
        return []

    def _find(self, state: dict, ctx: Context) -> List[Reply]:
        a = state["answers"]
        code = normalise_code(a["manage.code"], settings().booking_code_prefix)
        # The channels do not hand the client's address to actions (yet): per conversation
        # and per booking only.
        tries = limits.booking_proofs(ctx.conversation_id, code)
        if not limits.check(tries, db_url=ctx.db_url):
            state["finished"] = True
            return [_locked(ctx)]
        try:
            booking = slots.scheduler(ctx).find(a["manage.code"], a["manage.proof"])
            if not booking.active:
                state["finished"] = True
                return [
                    Reply(
                        "That booking was canceled. Would you like to book a new time?",
                        [BOOK_NEW, PERSON],
                    )
                ]
        except scheduling.SchedulerUnavailable:
            state["finished"] = True
            return [Reply(f"{NOT_ANSWERING} A coordinator can make the change with you.", [PERSON])]
        except scheduling.BookingNotFound:
            a.pop("manage.code"), a.pop("manage.proof")
            if not limits.count(tries, db_url=ctx.db_url):
                state["finished"] = True
                return [_locked(ctx)]
            state["misses"] = state.get("misses", 0) + 1
            if state["misses"] >= 2:
                state["finished"] = True
                return [
                    Reply(
                        "I still couldn't find that booking. A coordinator can help you change it.",
                        [PERSON],
                    )
                ]
            return [Reply("I couldn't find a booking with those details. Let's try once more.")]
        state["booking_zone"] = booking.time_zone
        state["when"] = scheduling.format_slot(
            booking.slot, booking.time_zone or ctx.profile.facts.intake.time_zone
        )
        return []

    def _apply(self, yes: bool, state: dict, ctx: Context) -> List[Reply]:
        a = state["answers"]
        state["finished"] = True
        if not yes:
            return [Reply(f"Okay, nothing changed: your assessment is still on {state['when']}.")]
        code = a["manage.code"]
        try:
            if self.mode == "cancel":
                slots.scheduler(ctx).cancel(code)
                return [
                    Reply(
                        f"Your assessment on {state['when']} is canceled. If you'd like a "
                        "new time later, just ask me to book an assessment.",
                        [BOOK_NEW, PERSON],
                    )
                ]
            booking = slots.scheduler(ctx).reschedule(code, slots.slot_of(a["booking.slot"]))
        except scheduling.BookingNotFound:
            return [
                Reply(
                    "I'm sorry, I can no longer find that booking. A coordinator can help.",
                    [PERSON],
                )
            ]
        except scheduling.SlotTaken:
            state["finished"] = False
            for key in ("booking.slot", "manage.confirm"):
                a.pop(key, None)
            slots.forget_offer(state)
            return [Reply(slots.TAKEN)]
        except scheduling.SchedulerUnavailable:
            scheduling.request_callback(
                ctx.conversation_id, f"{self.mode}: booking system unavailable", db_url=ctx.db_url
            )
            return [
                Reply(f"{NOT_ANSWERING} A coordinator will call you to make the change.", [PERSON])
            ]
        when = scheduling.format_slot(booking.slot, state["zone"])
        return [
            Reply(
                f"Done! Your assessment is now on {when}. Your confirmation code is still "
                f"{booking.code}."
            )
        ]

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        return []


def _locked(ctx: Context) -> Reply:
    """Too many wrong details: the same words whether the code exists or not."""
    p = ctx.profile.facts.program
    return Reply(
        "I'm sorry: to keep bookings private, I can't look this one up right now, because "
        "the details didn't match too many times. Our intake coordinators can help you "
        f"change it: call {p.phone} or email {p.email} ({p.coordinator_hours}).",
        [PERSON],
    )


def _proof(text: str) -> str:
    """A date of birth (ISO), an email or a phone number: whichever the text is."""
    try:
        return scheduling.parse_dob(text).isoformat()
    except NotUnderstood:
        pass
    for parse in (scheduling.parse_email, scheduling.parse_phone):
        try:
            return parse(text)
        except NotUnderstood:
            continue
    raise NotUnderstood("I need your date of birth, or the phone or email you booked with.")
