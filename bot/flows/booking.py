"""Booking the intake assessment as a flow: a time (bot.flows.slots), name and contact,
consent to be contacted, a summary to confirm, then the booking.

"None of these work", or a screening that asked for a clinician first, becomes a call-back
request for coordinators instead of a booking.
"""

from __future__ import annotations

import re
from typing import Any, List, Optional

from bot import scheduling
from bot.dialog import PERSON, NotUnderstood, Option, Question, Reply, parse_yes_no
from bot.flows import slots
from bot.flows.coverage import patient_dob
from bot.flows.engine import Context, Flow
from bot.scheduling.links import calendar_url
from bot.screening import safety_review_pending

YES, NO = Option("Yes, book it", "yes"), Option("No, change something", "no")
CONTACT_OPTIONS = (
    Option("Text and email", "text and email"),
    Option("Text only", "text"),
    Option("Email only", "email"),
    Option("Neither, thanks", "neither"),
)
DETAILS = (
    "booking.slot",
    "booking.confirm",
    "booking.name",
    "booking.phone",
    "booking.email",
    "booking.contact_ok",
)
WHEN_TO_CALL = "Tell me roughly when suits you, like “weekday mornings”."


class BookingFlow(Flow):
    name = "booking"
    title = "booking"

    def intro(self, state: dict, ctx: Context) -> List[Reply]:
        if state.get("callback"):
            return [
                Reply(
                    "Because of what you shared in the screening, one of our clinicians "
                    "would like to talk with you before we book the assessment. I'll take "
                    "a few details so they can call you. If you feel unsafe at any point, "
                    f"call or text {ctx.profile.crisis.lifeline_number}."
                )
            ]
        return [
            Reply(
                "Let's find a time for your intake assessment: "
                f"{ctx.profile.facts.intake.assessment}."
            )
        ]

    def prepare(self, state: dict, ctx: Context) -> None:
        a = state.setdefault("answers", {})
        if state.get("finished"):
            return
        if (
            not state.get("callback")
            and "booking.confirm" not in a
            and safety_review_pending(ctx.conversation_id, ctx.db_url)
        ):
            # The screening asked for a clinician to talk with them before any booking (also
            # when a booking started earlier is resumed).
            state["callback"] = True
            state.pop("offered", None)
            a.pop("booking.slot", None)
        slots.prepare_zone(state, ctx)
        if state.get("zone") and not state.get("callback") and "booking.slot" not in a:
            slots.prepare_offer(state, ctx)

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        a = state.get("answers", {})
        if state.get("finished"):
            return None
        if not state.get("zone"):
            return slots.zone_question()
        if state.get("callback"):
            if "callback.times" not in a:
                return Question(
                    "callback.times",
                    "When is a good time for a coordinator to call "
                    "you? (for example “weekday mornings” or “after 5 pm”)",
                    skippable=False,
                )
        elif "booking.slot" not in a:
            return slots.slot_question(state)
        if "booking.name" not in a:
            return Question(
                "booking.name",
                "What name should we put on the appointment?",
                skippable=False,
                free_text=True,
            )
        if "booking.phone" not in a:
            return Question(
                "booking.phone",
                "What's the best phone number to reach you?",
                (Option("I'd rather use email", "no phone"),),
                help="A US number like (512) 555-0142.",
                skippable=False,
            )
        if "booking.email" not in a:
            options = (Option("Skip email", "no email"),) if a.get("booking.phone") else ()
            return Question(
                "booking.email",
                "And your email address?",
                options,
                help="Like name@example.com.",
                skippable=False,
            )
        if state.get("callback"):
            return None
        if "booking.contact_ok" not in a:
            return Question(
                "booking.contact_ok",
                "May we send you the link and reminders by text or email?",
                CONTACT_OPTIONS,
                skippable=False,
            )
        if "booking.confirm" not in a:
            when = scheduling.format_slot(slots.slot_of(a["booking.slot"]), state["zone"])
            contact = " and ".join(x for x in (a.get("booking.phone"), a.get("booking.email")) if x)
            return Question(
                "booking.confirm",
                f"Please check: intake assessment on {when} for "
                f"{a['booking.name']}, contact {contact}. Shall I book it?",
                (YES, NO),
                skippable=False,
            )
        return None

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        key, t = question.key, text.strip()
        if key == "booking.name":
            if not re.search(r"[^\W\d_]", t) or len(t) > 80:
                raise NotUnderstood("I need a name to put on the appointment.")
            return " ".join(t.split())
        if key == "booking.phone":
            if re.search(r"\b(no|none|skip|email|rather not)\b", t, re.I) and not re.search(
                r"\d{3}", t
            ):
                return None
            return scheduling.parse_phone(t)
        if key == "booking.email":
            if re.search(r"\b(no|none|skip|don'?t have)\b", t, re.I) and "@" not in t:
                if not state["answers"].get("booking.phone"):
                    raise NotUnderstood("I need a phone number or an email so we can reach you.")
                return None
            return scheduling.parse_email(t)
        if key == "booking.contact_ok":
            return contact_ways(t)
        if key == "booking.confirm":
            return parse_yes_no(t)
        if key == "callback.times":
            asks = "?" in t or re.match(
                r"^(talk|speak) to\b|^(can|could) i (talk|speak)\b", t, re.I
            )
            if asks or len(t) < 2:
                raise NotUnderstood(WHEN_TO_CALL)
            return t[:200]
        return slots.parse_time(key, t, state)

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        a = state.setdefault("answers", {})
        if slots.store_time(question.key, value, state):
            return []
        if question.key == "booking.slot" and value == "none":
            state["callback"] = True
            return [
                Reply("No problem. I'll ask a coordinator to call you and find a time that works.")
            ]
        if question.key == "booking.confirm" and not value:
            for key in DETAILS:
                a.pop(key, None)
            slots.forget_offer(state)
            return [Reply("Okay, let's go through it again: the time first, then your details.")]
        a[question.key] = value
        if question.key == "booking.confirm":
            return self._book(state, ctx)
        return []

    def _book(self, state: dict, ctx: Context) -> List[Reply]:
        a = state["answers"]
        request = scheduling.BookingRequest(
            conversation_id=ctx.conversation_id,
            name=a["booking.name"],
            phone=a.get("booking.phone"),
            email=a.get("booking.email"),
            contact_consent=a.get("booking.contact_ok") or [],
            time_zone=state["zone"],
            dob=patient_dob(ctx),
        )
        try:
            booking = slots.scheduler(ctx).book(slots.slot_of(a["booking.slot"]), request)
        except scheduling.SlotTaken:
            for key in ("booking.slot", "booking.confirm"):
                a.pop(key)
            slots.forget_offer(state)
            return [Reply(slots.TAKEN)]
        except scheduling.SchedulerUnavailable:
            state["finished"] = True
            scheduling.request_callback(
                ctx.conversation_id,
                "booking system unavailable",
                phone=a.get("booking.phone"),
                email=a.get("booking.email"),
                db_url=ctx.db_url,
            )
            return [
                Reply(
                    "I'm sorry, our booking system isn't answering right now. A coordinator "
                    "will call you to set up your assessment.",
                    [PERSON],
                )
            ]
        state["finished"] = True
        state["code"] = booking.code
        when = scheduling.format_slot(booking.slot, state["zone"])
        intake = ctx.profile.facts.intake
        return [
            Reply(
                f"You're booked! Your intake assessment is on {when}. "
                f"Your confirmation code is {booking.code}."
            ),
            Reply(f"What to expect: {intake.assessment}. {intake.join}"),
            Reply(f"Add it to your calendar: {calendar_url(booking.code)}"),
            Reply(
                "To change or cancel it later, just tell me “reschedule” or “cancel my "
                "appointment” and have your code ready."
            ),
        ]

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        a = state.get("answers", {})
        if state.get("callback"):
            scheduling.request_callback(
                ctx.conversation_id,
                a.get("callback.times", ""),
                phone=a.get("booking.phone"),
                email=a.get("booking.email"),
                db_url=ctx.db_url,
            )
            program = ctx.profile.facts.program
            return [
                Reply(
                    f"Thank you. A coordinator will call you ({program.coordinator_hours}). "
                    f"If you need us sooner, call {program.phone}."
                )
            ]
        return []


def contact_ways(text: str) -> List[str]:
    """How the person agreed to be contacted. A channel they name wins over a blanket
    yes ("yes, by email please" is email only); "no texts" removes texts."""
    low = text.lower()
    named = {w for w in ("text", "email") if w in low or (w == "text" and "sms" in low)}
    refused = {
        w for w in ("text", "email") if re.search(rf"\b(no|not|don'?t|never)\b[^,.]*\b{w}", low)
    }
    if named - refused:
        return [w for w in ("text", "email") if w in named - refused]
    if re.search(r"\b(neither|none|no|don'?t)\b", low):
        return []
    if re.search(r"\b(both|yes|sure|ok|okay)\b", low):
        return ["text", "email"]
    raise NotUnderstood("Please choose text, email, both or neither.")
