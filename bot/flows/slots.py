"""Offering assessment times page by page, in the person's time zone, and reading the
choice: shared by booking and rescheduling.

The zone is the browser's (widget metadata), the state given in the screening, or asked.
Looking up the zone and the open times happens in `prepare_zone` / `prepare_offer` (once a
turn); the questions are built from the state alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Sequence

from bot import scheduling
from bot.dialog import NotUnderstood, Option, Question
from bot.flows.engine import Context
from bot.flows.screening import screened_state

PAGE = 4  # times offered at once
TAKEN = "I'm sorry, someone just took that time."
MORE = Option("More times", "More times")
NONE_WORK = Option("None of these work", "None of these work")
ZONE_OPTIONS = tuple(Option(n, n) for n in ("Eastern", "Central", "Mountain", "Pacific"))


def scheduler(ctx: Context) -> scheduling.Scheduler:
    return scheduling.scheduler_from_env(ctx.profile.facts.intake, db_url=ctx.db_url)


def slot_of(pair: Sequence[str]) -> scheduling.Slot:
    """A slot from its stored form: [start ISO, end ISO]."""
    return scheduling.Slot(datetime.fromisoformat(pair[0]), datetime.fromisoformat(pair[1]))


def forget_offer(state: dict) -> None:
    """Offer fresh times from now on the next turn."""
    state["offered"], state["offered_until"] = None, None


def prepare_zone(state: dict, ctx: Context, known: Optional[str] = None) -> None:
    """Fill in the person's zone when we can tell it: `known` (e.g. the booking's own zone),
    the browser's, or the state they gave in the screening."""
    if state.get("zone"):
        return
    zone = known
    browser = str(ctx.metadata.get("timezone") or "")
    if not zone and browser:
        try:
            zone = scheduling.parse_time_zone(browser)
        except NotUnderstood:
            zone = None
    if not zone:
        lives_in = screened_state(ctx)
        zone = scheduling.zone_for_state(lives_in) if lives_in else None
    if zone:
        state["zone"] = zone


def prepare_offer(state: dict, ctx: Context) -> None:
    """Fetch the next page of open times unless some are on offer."""
    if state.get("offered"):
        return
    after = datetime.now(timezone.utc)
    if state.get("offered_until"):
        after = datetime.fromisoformat(state["offered_until"])
    try:
        slots = scheduler(ctx).available(after, PAGE)
    except scheduling.SchedulerUnavailable:
        slots = []  # offered: only "None of these work", i.e. a call-back
    state["offered"] = [[s.start.isoformat(), s.end.isoformat()] for s in slots]
    if slots:
        state["offered_until"] = (slots[-1].start + timedelta(seconds=1)).isoformat()


def zone_question() -> Question:
    return Question(
        "booking.zone",
        "Which time zone are you in? (or the state you live in)",
        ZONE_OPTIONS,
        help="For example “Central”, “Pacific” or “Texas”.",
        skippable=False,
    )


def slot_question(state: dict) -> Question:
    zone = state["zone"]
    labels = [scheduling.format_slot(slot_of(s), zone) for s in state.get("offered") or []]
    if not labels:
        return Question(
            "booking.slot",
            "I'm sorry, I can't find any open times right now.",
            (NONE_WORK,),
            skippable=False,
            help="Choose “None of these work” and a coordinator will call you.",
        )
    return Question(
        "booking.slot",
        "Here are the next open times for your assessment (your time):",
        tuple(Option(label, label) for label in labels) + (MORE, NONE_WORK),
        help="Tap a time, or type its number (1 for the first).",
        skippable=False,
    )


def parse_time(key: str, text: str, state: dict) -> Any:
    """The zone or time chosen ("more", "none" or a stored slot); NotUnderstood otherwise."""
    if key == "booking.zone":
        return scheduling.parse_time_zone(text)
    if key == "booking.slot":
        return _pick(text, state)
    raise NotUnderstood("Sorry, I didn't get that.")


def store_time(key: str, value: Any, state: dict) -> bool:
    """A zone, or "more times": they change what is offered, not the answers. True when
    the answer was one of these."""
    if key == "booking.zone":
        state["zone"] = value
        return True
    if key == "booking.slot" and value == "more":
        state["offered"] = None
        return True
    return False


def _pick(text: str, state: dict) -> Any:
    t = text.strip().lower()
    if t in (MORE.value.lower(), "more", "later", "other times", "show more"):
        return "more"
    if t.startswith("none") or t in ("no", "neither", "they don't work"):
        return "none"
    zone = state["zone"]
    for i, s in enumerate(state.get("offered") or [], 1):
        if t == scheduling.format_slot(slot_of(s), zone).lower() or t in (str(i), f"#{i}"):
            return s
    raise NotUnderstood("Please tap one of the times, or “More times”.")
