"""An .ics calendar file for a booking (attach to the confirmation email or offer as a link)."""

from __future__ import annotations

from datetime import datetime, timezone

from icalendar import Calendar, Event

from bot.scheduling.core import Booking

# Neutral names: the file is attached to emails a shared inbox may show.
PRODID = "-//Intake assistant//bot.scheduling//EN"


def to_ics(booking: Booking, summary: str, description: str = "", location: str = "") -> bytes:
    """One VEVENT in UTC. A cancelled booking yields METHOD:CANCEL / STATUS:CANCELLED with the
    same UID and a higher SEQUENCE, so calendar apps update the event they already have.
    Holds no contact details: only what the caller puts in summary/description/location."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if not booking.active else "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.code}@intake-assistant")
    event.add("dtstamp", datetime.now(timezone.utc))
    event.add("dtstart", booking.slot.start.astimezone(timezone.utc))
    event.add("dtend", booking.slot.end.astimezone(timezone.utc))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    event.add("sequence", booking.sequence)
    event.add("status", "CONFIRMED" if booking.active else "CANCELLED")
    cal.add_component(event)
    return cal.to_ical()
