"""Booking the intake assessment as a flow: a time (bot.flows.slots), name and contact,
consent to be contacted, a summary to confirm, then the booking.

"None of these work", or a screening that asked for a clinician first, becomes a call-back
request for coordinators instead of a booking.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, List, Optional

from bot import couples, scheduling
from bot.couples import joint
from bot.dialog import PERSON, NotUnderstood, Option, Question, Reply, parse_yes_no
from bot.flows import slots
from bot.flows.couples import flow_text
from bot.flows.coverage import patient_dob
from bot.flows.engine import Context, Flow
from bot.scheduling.links import calendar_url
from bot.screening import safety_review_pending

YES, NO = Option("Yes, book it", "yes"), Option("No, change something", "no")
JOINT_YES, JOINT_NO = Option("Yes, that works", "yes"), Option("No, another time", "no")
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
        if "booking.slot" not in a and "booking.joint" not in a:
            # Each turn until a time is chosen: the partner may have booked meanwhile.
            state["couple"] = _couple_plan(ctx)
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
        couple = state.get("couple") or {}
        if state.get("finished") or couple.get("plan") == "waiting":
            return None
        if not state.get("zone"):
            return slots.zone_question()
        if couple.get("plan") == "together" and not state.get("callback"):
            if couple.get("joint") in (joint.BOOKED, joint.MINE):
                return None  # nothing to book: said in finish
            if couple.get("joint") == joint.PARTNERS and "booking.joint" not in a:
                return Question(
                    "booking.joint",
                    flow_text("joint_question", when=_joint_when(couple, state)),
                    (JOINT_YES, JOINT_NO),
                    skippable=False,
                )
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
        if key in ("booking.confirm", "booking.joint"):
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
        if question.key == "booking.joint":
            return self._confirm_joint(value, state, ctx)
        return []

    def _confirm_joint(self, yes: bool, state: dict, ctx: Context) -> List[Reply]:
        start = datetime.fromisoformat(state["couple"]["start"])
        if yes and joint.confirm(ctx.conversation_id, start, ctx.db_url):
            state["finished"] = True
            when = _joint_when(state["couple"], state)
            join = ctx.profile.facts.intake.join
            return [Reply(flow_text("joint_confirmed", when=when, join=join))]
        # Another time, or the time changed meanwhile: a coordinator finds one for both.
        state["callback"] = True
        return [Reply(flow_text("joint_moved" if yes else "joint_another_time"))]

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
        together = (state.get("couple") or {}).get("plan") == "together"
        if together:
            joint.propose(ctx.conversation_id, booking.code, ctx.db_url)
        return [
            Reply(
                f"You're booked! Your {'joint ' if together else ''}intake assessment is on "
                f"{when}. Your confirmation code is {booking.code}."
                + (f" {flow_text('joint_proposed')}" if together else "")
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
        couple = state.get("couple") or {}
        if couple.get("plan") == "waiting":
            return [Reply(couple["text"], [PERSON])]
        if not state.get("callback") and not state.get("finished"):
            if couple.get("joint") == joint.BOOKED:
                when = _joint_when(couple, state)
                return [Reply(flow_text("joint_booked", when=when))]
            if couple.get("joint") == joint.MINE:
                when = _joint_when(couple, state)
                return [Reply(flow_text("joint_chosen", when=when))]
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


def _couple_plan(ctx: Context) -> Optional[dict]:
    """For one of a couple: book together, alone, or not yet (the other partner has not
    finished). None when the conversation is not one of a couple."""
    step = couples.next_step(ctx.conversation_id, ctx.db_url)
    if step is None:
        return None
    if step.outcome == "waiting":
        return {"plan": "waiting", "text": step.text}
    if step.outcome != "iop_together":
        return {"plan": "individual"}  # an individual assessment, as the coordinators advise
    booked = joint.joint_booking(ctx.conversation_id, ctx.db_url)
    start = booked.start.isoformat() if booked and booked.start else None
    return {"plan": "together", "joint": booked.status if booked else joint.NONE, "start": start}


def _joint_when(couple: dict, state: dict) -> str:
    start = datetime.fromisoformat(couple["start"])
    if start.tzinfo is None:  # stored as naive UTC
        start = start.replace(tzinfo=timezone.utc)
    return scheduling.format_time(start, state.get("zone") or "UTC")


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
