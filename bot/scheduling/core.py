"""The scheduling vocabulary shared by every back end: slots, booking requests, bookings,
confirmation codes and the errors the conversation layer reacts to."""

from __future__ import annotations

import abc
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import List, Optional

# Confirmation codes: no 0/O, 1/I/L or U, so a code read aloud or copied by hand survives.
# New codes have 10 characters (30**10, over 49 bits: not guessable even with the proof
# limits off), shown in two groups, APT-7KQ2M-8XDPR; codes of 5 (about 24 bits) made
# before still work.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
CODE_GROUP = 5
OLD_CODE_LENGTH = 5
ACTIVE = ("booked", "rescheduled")  # statuses that hold a slot
STATUSES = ("booked", "rescheduled", "cancelled")


class SchedulingError(Exception):
    """Base class of the errors below."""


class SlotTaken(SchedulingError):
    """Someone else got the slot first (or it is no longer offered): offer other times."""


class BookingNotFound(SchedulingError):
    """No booking with that code, or the proof (date of birth, phone, email) did not match.
    Deliberately the same error for both, so a code cannot be confirmed without the proof."""


class SchedulerUnavailable(SchedulingError):
    """The calendar service failed (timeout, 4xx/5xx, bad answer). str(exc) says what
    happened, without any contact details; the conversation offers a call-back instead."""


def utc(dt: datetime) -> datetime:
    """An aware UTC datetime (naive input is taken as UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Slot start and end must be time-zone aware")
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.end <= self.start:
            raise ValueError("Slot ends before it starts")

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass
class BookingRequest:
    conversation_id: str
    name: str
    phone: Optional[str] = None  # E.164 (parse_phone) or None
    email: Optional[str] = None  # normalised (parse_email) or None
    contact_consent: List[str] = field(default_factory=list)  # "text" and/or "email"
    time_zone: str = "America/Chicago"  # the person's IANA zone, for how times are said
    dob: Optional[date] = None

    def __post_init__(self) -> None:
        bad = [c for c in self.contact_consent if c not in ("text", "email")]
        if bad:
            raise ValueError(f"unknown contact consent {bad!r} (expected 'text' or 'email')")


@dataclass
class Booking:
    code: str  # e.g. "APT-7KQ2M-8XDPR" (older: "APT-7KQ2M")
    slot: Slot
    status: str  # booked / rescheduled / cancelled
    name: str
    phone: Optional[str]
    email: Optional[str]
    time_zone: str
    dob: Optional[date] = None
    conversation_id: str = ""
    contact_consent: List[str] = field(default_factory=list)
    backend: str = "builtin"  # builtin / calcom
    external_uid: Optional[str] = None  # Cal.com booking uid
    sequence: int = 0  # bumped on every change (iCalendar SEQUENCE)
    created_at: Optional[datetime] = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def __repr__(self) -> str:  # never print contact details (logs, tracebacks)
        return (
            f"Booking(code={self.code!r}, slot={self.slot!r}, status={self.status!r}, "
            f"backend={self.backend!r})"
        )


def new_code(prefix: str) -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{prefix}-{body[:CODE_GROUP]}-{body[CODE_GROUP:]}"


def normalise_code(text: str, prefix: str) -> str:
    """ "apt 7kq2m 8xdpr", "APT7KQ2M8XDPR", "7kq2m-8xdpr" -> "APT-7KQ2M-8XDPR"; an old
    code "riv 7kq2m" -> "RIV-7KQ2M" (o/0 and i/l/1 read as nothing valid, so they simply
    fail to match)."""
    raw = re.sub(r"[^A-Za-z0-9]", "", text or "").upper()
    prefix = prefix.upper()
    if raw.startswith(prefix) and len(raw) - len(prefix) in (CODE_LENGTH, OLD_CODE_LENGTH):
        raw = raw[len(prefix) :]
    if len(raw) == CODE_LENGTH:
        return f"{prefix}-{raw[:CODE_GROUP]}-{raw[CODE_GROUP:]}"
    return f"{prefix}-{raw}"


class Scheduler(abc.ABC):
    """What the conversation needs from a calendar."""

    #: True when book() needs an email address (Cal.com requires one per attendee).
    requires_email: bool = False

    @abc.abstractmethod
    def available(self, after: datetime, limit: int = 5) -> List[Slot]:
        """Bookable slots starting at or after `after`, soonest first."""

    @abc.abstractmethod
    def book(self, slot: Slot, request: BookingRequest) -> Booking:
        """Book the slot; SlotTaken if someone else has it."""

    @abc.abstractmethod
    def find(self, code: str, proof: str) -> Booking:
        """The booking with this code, if `proof` (date of birth YYYY-MM-DD, phone or
        email) matches it; BookingNotFound otherwise."""

    @abc.abstractmethod
    def reschedule(self, code: str, new_slot: Slot) -> Booking:
        """Move the booking (same code); the old slot is freed. SlotTaken if the new one is gone."""

    @abc.abstractmethod
    def cancel(self, code: str) -> Booking:
        """Cancel the booking and free its slot (idempotent)."""

    def find_by_conversation(self, conversation_id: str) -> Optional[Booking]:
        """The latest active booking made in this conversation, if any."""
        return None
