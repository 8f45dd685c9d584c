"""Booking the intake assessment, and changing or cancelling it later, as flows.

Times come from the Scheduler (built-in or Cal.com, bot.scheduling) and are shown in the
person's time zone: the browser's (widget metadata), the state they gave in the screening,
or what they tell us. "None of these work" becomes a call-back request for coordinators.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, List, Optional

from bot import scheduling
from bot.flows.base import NotUnderstood, Option, Question
from bot.flows.engine import PERSON, Context, Flow, Reply
from bot.scheduling import BookingNotFound, SchedulerUnavailable, SlotTaken
from bot.scheduling.links import calendar_url

PAGE = 4  # times offered at once
TAKEN = "I'm sorry, someone just took that time."
MORE = Option("More times", "More times")
NONE_WORK = Option("None of these work", "None of these work")
YES, NO = Option("Yes, book it", "yes"), Option("No, change something", "no")
ZONE_OPTIONS = tuple(Option(n, n) for n in ("Eastern", "Central", "Mountain", "Pacific"))
CONTACT_OPTIONS = (Option("Text and email", "text and email"), Option("Text only", "text"),
                   Option("Email only", "email"), Option("Neither, thanks", "neither"))
_YES = re.compile(r"^(y|yes|yeah|yep|sure|ok|okay|correct|confirm|book it|yes,? book it|sounds good|"
                  r"that'?s right|please do|go ahead)\b", re.I)
_NO = re.compile(r"^(n|no|nope|nah|not? (?:right|correct)|change|wrong|no,? change something)\b", re.I)


def _q(key, text, options=(), help="", skippable=False, free_text=False) -> Question:
    return Question(key=key, text=text, options=tuple(options), help=help, skippable=skippable,
                    free_text=free_text)


def _yes_no(text: str) -> bool:
    t = text.strip()
    if _YES.search(t):
        return True
    if _NO.search(t):
        return False
    raise NotUnderstood("Please answer yes or no.")


def scheduler(ctx: Context):
    return scheduling.scheduler_from_env(ctx.profile.facts.intake, db_url=ctx.db_url)


class SlotPicking:
    """Offering times page by page, in the person's zone, and reading their choice."""

    def zone(self, state: dict, ctx: Context) -> Optional[str]:
        if state.get("zone"):
            return state["zone"]
        browser = str(ctx.metadata.get("timezone") or "")
        try:
            if browser:
                return scheduling.parse_time_zone(browser)
        except NotUnderstood:
            pass
        lives_in = _screened_state(ctx)
        return scheduling.zone_for_state(lives_in) if lives_in else None

    def zone_question(self) -> Question:
        return _q("booking.zone", "Which time zone are you in? (or the state you live in)", ZONE_OPTIONS,
                  help="For example “Central”, “Pacific” or “Texas”.")

    def offer(self, state: dict, ctx: Context) -> Question:
        offered = state.get("offered")
        if not offered:
            after = datetime.now(timezone.utc)
            if state.get("offered_until"):
                after = datetime.fromisoformat(state["offered_until"])
            try:
                slots = scheduler(ctx).available(after, PAGE)
            except SchedulerUnavailable:
                slots = []  # offered: only "None of these work", i.e. a call-back
            offered = [[s.start.isoformat(), s.end.isoformat()] for s in slots]
            state["offered"] = offered
            if slots:
                state["offered_until"] = (slots[-1].start + timedelta(seconds=1)).isoformat()
        zone = state["zone"]
        options = [Option(scheduling.format_slot(_slot(s), zone), scheduling.format_slot(_slot(s), zone))
                   for s in offered]
        if not options:
            return _q("booking.slot", "I'm sorry, I can't find any open times right now.", [NONE_WORK],
                      help="Choose “None of these work” and a coordinator will call you.")
        return _q("booking.slot", "Here are the next open times for your assessment (your time):", options + [MORE, NONE_WORK],
                  help="Tap a time, or type its number (1 for the first).")

    def parse_time(self, key: str, text: str, state: dict) -> Any:
        """The zone or time chosen; NotUnderstood for anything else."""
        if key == "booking.zone":
            return scheduling.parse_time_zone(text)
        if key == "booking.slot":
            return self.pick(text, state)
        raise NotUnderstood("Sorry, I didn't get that.")

    def store_time(self, question: Question, value: Any, state: dict) -> bool:
        """A zone, or "more times": they change what is offered, not the answers."""
        if question.key == "booking.zone":
            state["zone"] = value
            return True
        if question.key == "booking.slot" and value == "more":
            state["offered"] = None
            return True
        return False

    def pick(self, text: str, state: dict) -> Any:
        t = text.strip()
        if t.lower() in (MORE.value.lower(), "more", "later", "other times", "show more"):
            return "more"
        if t.lower().startswith("none") or t.lower() in ("no", "neither", "they don't work"):
            return "none"
        offered = state.get("offered") or []
        zone = state["zone"]
        for i, s in enumerate(offered, 1):
            if t.lower() == scheduling.format_slot(_slot(s), zone).lower() or t in (str(i), f"#{i}"):
                return s
        raise NotUnderstood("Please tap one of the times, or “More times”.")


def _slot(pair) -> "scheduling.Slot":
    return scheduling.Slot(datetime.fromisoformat(pair[0]), datetime.fromisoformat(pair[1]))


class BookingFlow(Flow, SlotPicking):
    name = "booking"
    title = "booking"

    def intro(self, state: dict, ctx: Context) -> List[Reply]:
        if self._clinician_first(state, ctx):
            return [Reply("Because of what you shared in the screening, one of our clinicians "
                          "would like to talk with you before we book the assessment. I'll take "
                          "a few details so they can call you. If you feel unsafe at any point, "
                          f"call or text {ctx.profile.crisis.lifeline_number}.")]
        return [Reply("Let's find a time for your intake assessment: "
                      f"{ctx.profile.facts.intake.assessment}.")]

    def _clinician_first(self, state: dict, ctx: Context) -> bool:
        """The screening asked for a clinician to talk with them before any booking (also
        when a booking started earlier is resumed)."""
        if not state.get("callback") and "booking.confirm" not in state.get("answers", {}) \
                and _safety_review_pending(ctx):
            state["callback"] = True
            state.pop("offered", None)
            state.get("answers", {}).pop("booking.slot", None)
        return bool(state.get("callback"))

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        a = state.setdefault("answers", {})
        if state.get("finished"):
            return None
        self._clinician_first(state, ctx)
        if not state.get("zone"):
            zone = self.zone(state, ctx)
            if zone:
                state["zone"] = zone
            else:
                return self.zone_question()
        if state.get("callback"):
            if "callback.times" not in a:
                return _q("callback.times", "When is a good time for a coordinator to call you? "
                          "(for example “weekday mornings” or “after 5 pm”)")
        elif "booking.slot" not in a:
            return self.offer(state, ctx)
        if "booking.name" not in a:
            return _q("booking.name", "What name should we put on the appointment?", free_text=True)
        if "booking.phone" not in a:
            return _q("booking.phone", "What's the best phone number to reach you?",
                      [Option("I'd rather use email", "no phone")],
                      help="A US number like (512) 555-0142.")
        if "booking.email" not in a:
            options = [Option("Skip email", "no email")] if a.get("booking.phone") else []
            return _q("booking.email", "And your email address?", options, help="Like name@example.com.")
        if state.get("callback"):
            return None
        if "booking.contact_ok" not in a:
            return _q("booking.contact_ok", "May we send you the link and reminders by text or email?",
                      CONTACT_OPTIONS)
        if "booking.confirm" not in a:
            when = scheduling.format_slot(_slot(a["booking.slot"]), state["zone"])
            contact = " and ".join(x for x in (a.get("booking.phone"), a.get("booking.email")) if x)
            return _q("booking.confirm", f"Please check: intake assessment on {when} for "
                      f"{a['booking.name']}, contact {contact}. Shall I book it?", [YES, NO])
        return None

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        key, t = question.key, text.strip()
        if key == "booking.name":
            if not re.search(r"[^\W\d_]", t) or len(t) > 80:
                raise NotUnderstood("I need a name to put on the appointment.")
            return " ".join(t.split())
        if key == "booking.phone":
            if re.search(r"\b(no|none|skip|email|rather not)\b", t, re.I) and not re.search(r"\d{3}", t):
                return None
            return scheduling.parse_phone(t)
        if key == "booking.email":
            if re.search(r"\b(no|none|skip|don'?t have)\b", t, re.I) and "@" not in t:
                if not state["answers"].get("booking.phone"):
                    raise NotUnderstood("I need a phone number or an email so we can reach you.")
                return None
            return scheduling.parse_email(t)
        if key == "booking.contact_ok":
            return _contact_ways(t)
        if key == "booking.confirm":
            return _yes_no(t)
        if key == "callback.times":
            if "?" in t or re.match(r"^(talk|speak) to\b|^(can|could) i (talk|speak)\b", t, re.I):
                raise NotUnderstood("Tell me roughly when suits you, like “weekday mornings”.")
            if len(t) < 2:
                raise NotUnderstood("Tell me roughly when suits you, like “weekday mornings”.")
            return t[:200]
        return self.parse_time(key, t, state)

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        a = state.setdefault("answers", {})
        if self.store_time(question, value, state):
            return []
        if question.key == "booking.slot":
            if value == "none":
                state["callback"] = True
                return [Reply("No problem. I'll ask a coordinator to call you and find a time that works.")]
        if question.key == "booking.confirm" and not value:
            for key in ("booking.slot", "booking.confirm", "booking.name", "booking.phone",
                        "booking.email", "booking.contact_ok"):
                a.pop(key, None)
            state["offered"], state["offered_until"] = None, None
            return [Reply("Okay, let's go through it again: the time first, then your details.")]
        a[question.key] = value
        if question.key == "booking.confirm":
            return self._book(state, ctx)
        return []

    def _book(self, state: dict, ctx: Context) -> List[Reply]:
        a = state["answers"]
        request = scheduling.BookingRequest(
            conversation_id=ctx.conversation_id, name=a["booking.name"], phone=a.get("booking.phone"),
            email=a.get("booking.email"), contact_consent=a.get("booking.contact_ok") or [],
            time_zone=state["zone"], dob=_known_dob(ctx))
        try:
            booking = scheduler(ctx).book(_slot(a["booking.slot"]), request)
        except SlotTaken:
            for key in ("booking.slot", "booking.confirm"):
                a.pop(key)
            state["offered"] = None
            state["offered_until"] = None
            return [Reply(TAKEN)]
        except SchedulerUnavailable:
            state["finished"] = True
            scheduling.request_callback(ctx.conversation_id, "booking system unavailable",
                                        phone=a.get("booking.phone"), email=a.get("booking.email"),
                                        db_url=ctx.db_url)
            return [Reply("I'm sorry, our booking system isn't answering right now. A coordinator will "
                          "call you to set up your assessment.", [PERSON])]
        state["finished"] = True
        state["code"] = booking.code
        when = scheduling.format_slot(booking.slot, state["zone"])
        intake = ctx.profile.facts.intake
        return [Reply(f"You're booked! Your intake assessment is on {when}. "
                      f"Your confirmation code is {booking.code}."),
                Reply(f"What to expect: {intake.assessment}. {intake.join}"),
                Reply(f"Add it to your calendar: {calendar_url(booking.code)}"),
                Reply("To change or cancel it later, just tell me “reschedule” or “cancel my "
                      "appointment” and have your code ready.")]

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        a = state.get("answers", {})
        if state.get("callback"):
            scheduling.request_callback(ctx.conversation_id, a.get("callback.times", ""),
                                        phone=a.get("booking.phone"), email=a.get("booking.email"),
                                        db_url=ctx.db_url)
            return [Reply(f"Thank you. A coordinator will call you ({ctx.profile.facts.program.coordinator_hours}). "
                          "If you need us sooner, call " + ctx.profile.facts.program.phone + ".")]
        return []


class ManageBookingFlow(Flow, SlotPicking):
    """Reschedule or cancel: find the booking by its code plus date of birth or contact."""

    needs_consent = False

    def __init__(self, mode: str):
        self.mode = mode  # "reschedule" or "cancel"
        self.name = mode
        self.title = "rescheduling" if mode == "reschedule" else "the cancellation"

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        a = state.setdefault("answers", {})
        if state.get("finished"):
            return None
        if "manage.code" not in a:
            return _q("manage.code", "What's your confirmation code? (It looks like IOP-7KQ2M.)",
                      help="It's in your confirmation message.")
        if "manage.proof" not in a:
            return _q("manage.proof", "To keep your booking private: what's your date of birth, or the "
                      "phone number or email you booked with?")
        if self.mode == "cancel":
            if "manage.confirm" not in a:
                return _q("manage.confirm", f"Cancel your assessment on {state['when']}?",
                          [Option("Yes, cancel it", "yes"), Option("No, keep it", "no")])
            return None
        if not state.get("zone"):
            state["zone"] = state.get("booking_zone") or self.zone(state, ctx)
            if not state["zone"]:
                return self.zone_question()
        if "booking.slot" not in a:
            return self.offer(state, ctx)
        if "manage.confirm" not in a:
            when = scheduling.format_slot(_slot(a["booking.slot"]), state["zone"])
            return _q("manage.confirm", f"Move your assessment from {state['when']} to {when}?", [YES, NO])
        return None

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        key, t = question.key, text.strip()
        if key == "manage.code":
            found = re.search(r"([A-Za-z]{2,5}[\s-]?)?[A-Za-z0-9]{5}\s*$", t)
            if not found:
                raise NotUnderstood("That doesn't look like a confirmation code.")
            return found.group(0).strip().upper()
        if key == "manage.proof":
            for parse in (_dob, scheduling.parse_email, scheduling.parse_phone):
                try:
                    return parse(t)
                except NotUnderstood:
                    continue
            raise NotUnderstood("I need your date of birth, or the phone or email you booked with.")
        if key == "manage.confirm":
            if self.mode == "cancel" and re.match(r"^(yes,? )?(please )?cancel( it)?\b", t, re.I):
                return True
            if re.match(r"^(no,? )?(please )?keep( it)?\b", t, re.I):
                return False
            return _yes_no(t)
        return self.parse_time(key, t, state)

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        a = state.setdefault("answers", {})
        if self.store_time(question, value, state):
            return []
        if question.key == "booking.slot" and value == "none":
            state["finished"] = True
            scheduling.request_callback(ctx.conversation_id, "reschedule: none of the offered times",
                                        db_url=ctx.db_url)
            return [Reply("No problem. Your current time stays booked for now, and a coordinator will "
                          "call you to find a better one.")]
        a[question.key] = value
        if question.key == "manage.proof":
            return self._find(state, ctx)
        if question.key == "manage.confirm":
            return self._apply(value, state, ctx)
        return []

    def _find(self, state: dict, ctx: Context) -> List[Reply]:
        a = state["answers"]
        try:
            booking = scheduler(ctx).find(a["manage.code"], a["manage.proof"])
            if not booking.active:
                state["finished"] = True
                return [Reply("That booking was cancelled. Would you like to book a new time?",
                              [Option("Book a new time", "/book_appointment"), PERSON])]
        except SchedulerUnavailable:
            state["finished"] = True
            return [Reply("I'm sorry, our booking system isn't answering right now. A coordinator can "
                          "make the change with you.", [PERSON])]
        except BookingNotFound:
            a.pop("manage.code"), a.pop("manage.proof")
            state["misses"] = state.get("misses", 0) + 1
            if state["misses"] >= 2:
                state["finished"] = True
                return [Reply("I still couldn't find that booking. A coordinator can help you change it.",
                              [PERSON])]
            return [Reply("I couldn't find a booking with those details. Let's try once more.")]
        state["booking_zone"] = booking.time_zone
        state["when"] = scheduling.format_slot(booking.slot, booking.time_zone or
                                               ctx.profile.facts.intake.time_zone)
        return []

    def _apply(self, yes: bool, state: dict, ctx: Context) -> List[Reply]:
        a = state["answers"]
        state["finished"] = True
        if not yes:
            return [Reply(f"Okay, nothing changed: your assessment is still on {state['when']}.")]
        code = a["manage.code"]
        try:
            if self.mode == "cancel":
                scheduler(ctx).cancel(code)
                return [Reply(f"Your assessment on {state['when']} is cancelled. If you'd like a new "
                              "time later, just ask me to book an assessment.",
                              [Option("Book a new time", "/book_appointment"), PERSON])]
            booking = scheduler(ctx).reschedule(code, _slot(a["booking.slot"]))
        except BookingNotFound:
            return [Reply("I'm sorry, I can no longer find that booking. A coordinator can help.", [PERSON])]
        except SlotTaken:
            state["finished"] = False
            for key in ("booking.slot", "manage.confirm"):
                a.pop(key, None)
            state["offered"], state["offered_until"] = None, None
            return [Reply(TAKEN)]
        except SchedulerUnavailable:
            scheduling.request_callback(ctx.conversation_id, f"{self.mode}: booking system unavailable",
                                        db_url=ctx.db_url)
            return [Reply("I'm sorry, our booking system isn't answering right now. A coordinator will "
                          "call you to make the change.", [PERSON])]
        when = scheduling.format_slot(booking.slot, state["zone"])
        return [Reply(f"Done! Your assessment is now on {when}. Your confirmation code is still {booking.code}.")]

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        return []


def _contact_ways(text: str) -> List[str]:
    """How the person agreed to be contacted. A channel they name wins over a blanket
    yes ("yes, by email please" is email only); "no texts" removes texts."""
    low = text.lower()
    named = {w for w in ("text", "email") if w in low or (w == "text" and "sms" in low)}
    refused = {w for w in ("text", "email")
               if re.search(rf"\b(no|not|don'?t|never)\b[^,.]*\b{w}", low)}
    if named - refused:
        return [w for w in ("text", "email") if w in named - refused]
    if re.search(r"\b(neither|none|no|don'?t)\b", low):
        return []
    if re.search(r"\b(both|yes|sure|ok|okay)\b", low):
        return ["text", "email"]
    raise NotUnderstood("Please choose text, email, both or neither.")


def _safety_review_pending(ctx: Context) -> bool:
    """This conversation's screening found suicide risk (ASQ positive, acute or not)."""
    from sqlalchemy import select

    from bot.screening.models import Screening
    from bot.store import session

    with session(ctx.db_url) as s:
        return s.execute(select(Screening.id).where(
            Screening.conversation_id == ctx.conversation_id,
            Screening.level.in_(("safety_review", "crisis")))).first() is not None


def _known_dob(ctx: Context) -> Optional[date]:
    """The person's date of birth if this conversation's insurance check has it, so it can
    prove a booking later ("reschedule" with the code and the date of birth)."""
    answers = _latest_answers(ctx, "coverage")
    own = answers.get("coverage.relation", "self") == "self"
    dob = answers.get("coverage.subscriber_dob" if own else "coverage.patient_dob")
    return date.fromisoformat(dob) if isinstance(dob, str) else None


def _latest_answers(ctx: Context, flow: str) -> dict:
    from sqlalchemy import select

    from bot.flows.models import FlowDraft
    from bot.store import session

    with session(ctx.db_url) as s:
        draft = s.execute(select(FlowDraft).where(
            FlowDraft.conversation_id == ctx.conversation_id, FlowDraft.flow == flow)
            .order_by(FlowDraft.id.desc())).scalars().first()
        return dict((draft.state or {}).get("answers", {})) if draft else {}


def _screened_state(ctx: Context) -> Optional[str]:
    """The state of residence the person gave in this conversation's screening, if any."""
    state = _latest_answers(ctx, "screening").get("fit.state")
    return state if isinstance(state, str) else None


def _dob(text: str) -> str:
    from bot.coverage import parse_dob

    return parse_dob(text).isoformat()
