"""Intake-assessment scheduling: offer slots, book, find, reschedule, cancel, call back.

Two calendars behind one interface (`Scheduler`): the built-in one (the profile's
`facts.intake` hours, bookings in the app database, no double booking by a database
constraint) and Cal.com API v2 (`CalComScheduler`). `scheduler_from_env()` picks Cal.com when
CALCOM_API_KEY is set. No Rasa imports: the actions are thin adapters to this package.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from bot.config import settings
from bot.scheduling.builtin import BuiltInScheduler
from bot.scheduling.calcom import CalComScheduler
from bot.scheduling.callbacks import request_callback
from bot.scheduling.contact import (
    format_slot,
    format_time,
    parse_dob,
    parse_email,
    parse_phone,
    parse_time_zone,
    zone_for_state,
)
from bot.scheduling.core import (
    Booking,
    BookingNotFound,
    BookingRequest,
    Scheduler,
    SchedulerUnavailable,
    SchedulingError,
    Slot,
    SlotTaken,
)
from bot.scheduling.ics import to_ics

if TYPE_CHECKING:
    from bot.profile import IntakeFacts

__all__ = [
    "Slot",
    "Booking",
    "SlotTaken",
    "BookingNotFound",
    "SchedulerUnavailable",
    "SchedulingError",
    "Scheduler",
    "BookingRequest",
    "BuiltInScheduler",
    "CalComScheduler",
    "scheduler_from_env",
    "zone_for_state",
    "parse_time_zone",
    "parse_phone",
    "parse_email",
    "parse_dob",
    "format_slot",
    "format_time",
    "to_ics",
    "request_callback",
]


def scheduler_from_env(intake_facts: IntakeFacts, db_url: Optional[str] = None) -> Scheduler:
    """CalComScheduler when CALCOM_API_KEY is set (CALCOM_EVENT_TYPE_ID then required),
    else BuiltInScheduler on the profile's intake hours. Settings come from bot.config."""
    config = settings()  # ConfigError (a ValueError) names a missing or malformed variable
    prefix = config.booking_code_prefix
    if not config.calcom_api_key:
        return BuiltInScheduler(intake_facts, db_url=db_url, code_prefix=prefix)
    options: Dict[str, Any] = dict(
        api_key=config.calcom_api_key,
        base_url=config.calcom_base_url,
        event_type_id=config.calcom_event_type_id,
        timeout=config.calcom_timeout,
        db_url=db_url,
        horizon_days=intake_facts.horizon_days,
        slot_minutes=intake_facts.slot_minutes,
        code_prefix=prefix,
        fallback_email=config.calcom_fallback_email or None,
    )
    # One client (connection pool) per configuration: flows call this on every turn.
    cache_key = tuple(sorted(options.items()))
    with _lock:
        if cache_key not in _calcom_clients:
            _calcom_clients[cache_key] = CalComScheduler(**options)
        return _calcom_clients[cache_key]


_calcom_clients: Dict[Tuple[Tuple[str, Any], ...], CalComScheduler] = {}
_lock = threading.Lock()
