"""Built-in availability: the intake hours of the program profile turned into UTC slots.

Windows are wall-clock times in the program's zone, so a 9:00 slot stays 9:00 local across
DST changes (its UTC offset changes instead). Slots start at each window's start and repeat
every slot_minutes + buffer_minutes while they still end inside the window. A slot is
offered when it starts at least min_lead_hours after now and less than horizon_days after
now, not on a holiday (a local date).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Iterator, Optional
from zoneinfo import ZoneInfo

from bot.scheduling.core import Slot

if TYPE_CHECKING:
    from bot.profile import IntakeFacts


def _local(day: date, t: time, zone: ZoneInfo) -> Optional[datetime]:
    """An aware datetime for the wall-clock time, or None if it does not exist that day
    (inside a spring-forward gap)."""
    local = datetime.combine(day, t).replace(tzinfo=zone)
    back = local.astimezone(timezone.utc).astimezone(zone)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return local


def day_slots(facts: IntakeFacts, day: date) -> Iterator[Slot]:
    """Every slot of one local day (no lead time, horizon or booking filter)."""
    zone = ZoneInfo(facts.time_zone)
    length = timedelta(minutes=facts.slot_minutes)
    step = timedelta(minutes=facts.slot_minutes + facts.buffer_minutes)
    for w_start, w_end in facts.windows(day):  # none on a holiday
        cursor = datetime.combine(day, w_start)
        last = datetime.combine(day, w_end)
        while cursor + length <= last:  # wall-clock arithmetic, then localise
            start = _local(day, cursor.time(), zone)
            end = (
                _local(day, (cursor + length).time(), zone)
                if (cursor + length).date() == day
                else None
            )
            if start is not None and end is not None:
                yield Slot(start.astimezone(timezone.utc), end.astimezone(timezone.utc))
            cursor += step


def candidate_slots(facts: IntakeFacts, now: datetime, after: datetime) -> Iterator[Slot]:
    """Offered slots (lead time, horizon, holidays applied) starting at or after `after`,
    soonest first, before removing booked ones."""
    now = now.astimezone(timezone.utc)
    earliest = max(now + timedelta(hours=facts.min_lead_hours), after.astimezone(timezone.utc))
    latest = now + timedelta(days=facts.horizon_days)  # exclusive
    zone = ZoneInfo(facts.time_zone)
    day = earliest.astimezone(zone).date()
    last_day = latest.astimezone(zone).date()
    while day <= last_day:
        for slot in sorted(day_slots(facts, day)):
            if earliest <= slot.start < latest:
                yield slot
        day += timedelta(days=1)


def is_offered(facts: IntakeFacts, now: datetime, slot: Slot) -> bool:
    """Is this exact slot one the program offers right now (ignoring bookings)?"""
    for s in candidate_slots(facts, now, slot.start):
        if s.start > slot.start:
            return False
        if s == slot:
            return True
    return False
