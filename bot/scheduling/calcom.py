"""Cal.com API v2 as the calendar: Cal.com keeps availability and bookings; the app database
keeps our confirmation code -> Cal.com uid mapping and the contact details (encrypted).

Endpoints and the cal-api-version each one requires (a missing or wrong value silently falls
back to an older version of the endpoint, so each is pinned here and the local test server
rejects any other value):

- GET  /v2/slots                         cal-api-version: 2024-09-04
  https://cal.com/docs/api-reference/v2/slots/get-available-time-slots-for-an-event-type
  query: eventTypeId, start, end (UTC ISO 8601), timeZone, format=range
  answer: {"status": "success", "data": {"2050-09-05": [{"start": ..., "end": ...}]}}
- POST /v2/bookings                      cal-api-version: 2026-02-25
  https://cal.com/docs/api-reference/v2/bookings/create-a-booking
  body: start (UTC ISO 8601), eventTypeId, attendee {name, email, timeZone, phoneNumber}
- POST /v2/bookings/{uid}/cancel         cal-api-version: 2026-02-25
  https://cal.com/docs/api-reference/v2/bookings/cancel-a-booking  body: cancellationReason
- POST /v2/bookings/{uid}/reschedule     cal-api-version: 2026-02-25
  https://cal.com/docs/api-reference/v2/bookings/reschedule-a-booking
  body: start, reschedulingReason; answers the new booking (a new uid)

Authentication: `Authorization: Bearer <api key>` (cal_live_... / cal_test_...).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

import httpx

from bot.scheduling.core import (
    Booking,
    BookingNotFound,
    BookingRequest,
    Scheduler,
    SchedulerUnavailable,
    Slot,
    SlotTaken,
    utc,
)
from bot.scheduling.store import LocalBookings

log = logging.getLogger(__name__)

SLOTS_VERSION = "2024-09-04"
BOOKINGS_VERSION = "2026-02-25"
DEFAULT_BASE_URL = "https://api.cal.com"

# Phrases Cal.com uses when the time is no longer free (it answers 400 or 409).
_TAKEN_HINTS = (
    "no_available_users_found",
    "not available",
    "already has booking",
    "already booked",
    "conflict",
    "busy",
)


def _iso(dt: datetime) -> str:
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse_time(text: str) -> datetime:
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


class CalComScheduler(Scheduler):
    requires_email = True  # Cal.com requires attendee.email

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        event_type_id: int = 0,
        timeout: float = 10.0,
        db_url: Optional[str] = None,
        horizon_days: int = 21,
        slot_minutes: int = 60,
        code_prefix: str = "APT",
        fallback_email: Optional[str] = None,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        if not api_key:
            raise ValueError("CalComScheduler needs an API key (CALCOM_API_KEY)")
        if not event_type_id:
            raise ValueError("CalComScheduler needs an event type id (CALCOM_EVENT_TYPE_ID)")
        self.event_type_id = int(event_type_id)
        self.fallback_email = fallback_email
        self.horizon_days = horizon_days
        self.slot_minutes = slot_minutes
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        )
        self.bookings = LocalBookings(db_url, code_prefix, claim_slots=False)

    # --- HTTP -------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        version: str,
        what: str,
        params: Optional[Dict[str, Any]] = None,
        body: Optional[Dict[str, Any]] = None,
        taken_possible: bool = False,
    ) -> Dict[str, Any]:
        try:
            response = self.client.request(
                method, path, params=params, json=body, headers={"cal-api-version": version}
            )
        except httpx.TimeoutException:
            raise SchedulerUnavailable(f"Cal.com did not answer in time ({what}).") from None
        except httpx.HTTPError as exc:
            raise SchedulerUnavailable(
                f"Cal.com could not be reached ({what}: {type(exc).__name__})."
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            try:
                payload = response.json()
            except ValueError:
                raise SchedulerUnavailable(f"Cal.com sent an unreadable answer ({what}).") from None
            if not isinstance(payload, dict) or payload.get("status") not in (None, "success"):
                raise SchedulerUnavailable(f"Cal.com reported an error ({what}).")
            return payload
        message = _error_message(response)
        # Only the status: Cal.com's error text can echo the attendee's email or phone.
        log.warning("Cal.com %s answered %s", what, status)
        if taken_possible and (
            status == 409 or (status == 400 and any(h in message.lower() for h in _TAKEN_HINTS))
        ):
            raise SlotTaken("That time was just taken.")
        if status in (401, 403):
            raise SchedulerUnavailable(f"Cal.com refused the API key ({what}: HTTP {status}).")
        if status == 429:
            raise SchedulerUnavailable(f"Cal.com is rate limiting us ({what}: HTTP 429).")
        kind = "server error" if status >= 500 else "request rejected"
        raise SchedulerUnavailable(f"Cal.com {kind} ({what}: HTTP {status}: {message[:120]}).")

    # --- Scheduler --------------------------------------------------------------------
    def available(self, after: Optional[datetime] = None, limit: int = 5) -> List[Slot]:
        after = utc(after) if after else datetime.now(timezone.utc)
        payload = self._call(
            "GET",
            "/v2/slots",
            SLOTS_VERSION,
            "slots",
            params={
                "eventTypeId": self.event_type_id,
                "start": _iso(after),
                "end": _iso(after + timedelta(days=self.horizon_days)),
                "timeZone": "UTC",
                "format": "range",
                "duration": self.slot_minutes,
            },
        )
        data = payload.get("data") or {}
        if not isinstance(data, dict):
            raise SchedulerUnavailable("Cal.com sent slots in an unexpected shape.")
        slots: List[Slot] = []
        try:
            for day in data.values():
                for item in day:
                    start = _parse_time(item["start"] if isinstance(item, dict) else item)
                    end = (
                        _parse_time(item["end"])
                        if isinstance(item, dict) and item.get("end")
                        else start + timedelta(minutes=self.slot_minutes)
                    )
                    if start >= after:
                        slots.append(Slot(start, end))
        except (KeyError, TypeError, ValueError):
            raise SchedulerUnavailable("Cal.com sent slots in an unexpected shape.") from None
        return sorted(set(slots))[:limit]

    def book(self, slot: Slot, request: BookingRequest) -> Booking:
        email = request.email or self.fallback_email
        if not email:
            # Cal.com requires attendee.email; ask for one when `requires_email`, or set
            # CALCOM_FALLBACK_EMAIL (e.g. the intake inbox) for people who have none.
            raise SchedulerUnavailable("Cal.com needs an email address for the attendee.")
        attendee = {"name": request.name, "email": email, "timeZone": request.time_zone}
        if request.phone:
            attendee["phoneNumber"] = request.phone
        payload = self._call(
            "POST",
            "/v2/bookings",
            BOOKINGS_VERSION,
            "create booking",
            body={
                "start": _iso(slot.start),
                "eventTypeId": self.event_type_id,
                "attendee": attendee,
                "lengthInMinutes": slot.minutes,
            },
            taken_possible=True,
        )
        uid, start, end = self._booking_fields(payload, slot)
        try:
            return self.bookings.create(
                Slot(start, end), request, backend="calcom", external_uid=uid
            )
        except Exception:
            # Our record failed: do not leave an orphan on the clinic's calendar.
            try:
                self._cancel_remote(uid, "Booking could not be recorded")
            except SchedulerUnavailable:
                log.error("Cal.com booking %s could not be recorded nor cancelled", uid)
            raise

    def find(self, code: str, proof: str) -> Booking:
        return self.bookings.find(code, proof)

    def reschedule(self, code: str, new_slot: Slot) -> Booking:
        current = self.bookings.get(code)
        if not current.active:
            raise BookingNotFound("No active booking with that code.")
        payload = self._call(
            "POST",
            f"/v2/bookings/{_remote_uid(current)}/reschedule",
            BOOKINGS_VERSION,
            "reschedule booking",
            body={
                "start": _iso(new_slot.start),
                "reschedulingReason": "Rescheduled by the client in chat",
            },
            taken_possible=True,
        )
        uid, start, end = self._booking_fields(payload, new_slot)
        return self.bookings.move(code, Slot(start, end), external_uid=uid)

    def cancel(self, code: str) -> Booking:
        current = self.bookings.get(code)
        if not current.active:
            return current
        self._cancel_remote(_remote_uid(current), "Cancelled by the client in chat")
        return self.bookings.cancel(code)

    def find_by_conversation(self, conversation_id: str) -> Optional[Booking]:
        return self.bookings.by_conversation(conversation_id)

    def close(self) -> None:
        self.client.close()

    # --- helpers ------------------------------------------------------------------------
    def _cancel_remote(self, uid: str, reason: str) -> None:
        self._call(
            "POST",
            f"/v2/bookings/{uid}/cancel",
            BOOKINGS_VERSION,
            "cancel booking",
            body={"cancellationReason": reason},
        )

    @staticmethod
    def _booking_fields(payload: Dict[str, Any], slot: Slot) -> Tuple[str, datetime, datetime]:
        data = payload.get("data")
        if isinstance(data, list):  # recurring event types answer a list
            data = data[0] if data else None
        if not isinstance(data, dict) or not data.get("uid"):
            raise SchedulerUnavailable("Cal.com answered without a booking uid.")
        try:
            start = _parse_time(data["start"]) if data.get("start") else slot.start
            end = _parse_time(data["end"]) if data.get("end") else slot.end
        except ValueError:
            start, end = slot.start, slot.end
        return str(data["uid"]), start, end


def _remote_uid(booking: Booking) -> str:
    """The Cal.com uid of a booking we hold. A booking made by the built-in calendar (before
    CALCOM_API_KEY was set) has none: Cal.com cannot change it, a coordinator can."""
    if not booking.external_uid:
        raise SchedulerUnavailable("That booking is not on the Cal.com calendar.")
    return booking.external_uid


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("code") or err)
        return str(body.get("message") or err or body)
    return str(body)
