"""Delete one person's data everywhere: every app table that holds their conversation ids,
Rasa's tracker events of those conversations, and their SMS opt-out.

    python -m bot.privacy.forget --booking-code APT-7KQ2M8XD     # shows what it found
    python -m bot.privacy.forget --booking-code APT-7KQ2M8XD --yes
    python -m bot.privacy.forget --conversation 3f9c…  --yes
    python -m bot.privacy.forget --contact --yes                  # phone or email from stdin

Admins do the same from the console (a conversation's page: "Delete this person's data").

**Finding the person.** A seed (a conversation id, a booking code, or a phone number or
email) leads to conversations; each conversation's bookings and call-back requests lead to
more contacts and codes, until nothing new turns up: the conversation where someone booked,
the later ones where they rescheduled or cancelled with the code, and any other where they
left the same phone or email. Contacts are stored encrypted, so they are compared by
decrypting, not by a keyed hash: deletion is rare and admin-only, a scan of the bookings,
call-backs and booking look-ups is quick (10,000 of them in 0.5 s on SQLite), it needs no new
column kept in step by every writer, it finds contacts inside JSON (a call-back's contact),
and it stores no new stable identifier of a phone number. The scan is audited once
(`searched_for_person`, with counts). A contact is read from standard input, never the
command line (ps and shell history would keep it).

**Deleting.** The tracker events first (if that fails, the app rows still lead back to the
person: run it again), then every app row in one transaction, with one audit entry per
conversation (`deleted_person`, counts only). Which tables hold what is decided by column:
every table with a `conversation_id`; the few others are named below, and
tests/test_forget.py fails when a new table is in neither. On SQLite both files are then
compacted (VACUUM), so no deleted byte stays in free pages or the write-ahead log.

What stays: the audit log (append-only; conversation ids and counts, no content). What this
cannot reach: messages already handed to the mail and text providers, backups, and a
Cal.com booking (cancel it there; the command says when there was one).
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.couples.models import Couple, CoupleInvitation, CouplePartner
from bot.dialog import NotUnderstood
from bot.flows.models import FlowDraft
from bot.notify.models import OutboxMessage
from bot.notify.optout import SmsOptOut, phone_hash
from bot.privacy import tracker
from bot.scheduling.contact import parse_email, parse_phone
from bot.scheduling.models import BookingRecord, Callback, SlotClaim
from bot.store import Base, audit, engine, import_models, session

import_models()

# Tables without a `conversation_id` column, and why each is safe.
KEPT = {"audit_log"}  # append-only: what happened, by conversation id, with no content
# Staff accounts and their sessions; rate-limit counts (keyed hashes and numbers that expire
# with their window: bot/limits.py).
NO_PERSON_DATA = {"coordinators", "console_sessions", "rate_limit_counts"}
# Reached through what the person's rows point to (handled in `_erase_app`).
BY_REFERENCE = {
    "slot_claims": "the person's bookings (booking_id)",
    "couples": "the couple the person is in (couple_partners)",
    "couple_invitations": "made by the person, or of their couple",
    "sms_opt_outs": "a keyed hash of a phone number the person gave",
}
# Booking look-ups in a later conversation ("I need to reschedule"): their drafts hold the
# code and the proof (a phone, an email or a date of birth).
MANAGE_FLOWS = ("reschedule", "cancel")
MAX_ROUNDS = 10


class NotFound(LookupError):
    """Nothing of anyone was found by that seed."""


@dataclass
class Person:
    """Whom a deletion is about. `how` goes into the audit ("by booking code"); the contacts
    and codes are PHI and only ever held in memory."""

    how: str
    conversations: Set[str] = field(default_factory=set)
    phones: Set[str] = field(default_factory=set)  # E.164
    emails: Set[str] = field(default_factory=set)  # lower-cased
    codes: Set[str] = field(default_factory=set)  # code keys: letters and digits, upper-case
    calcom_bookings: int = 0  # bookings held at Cal.com, which deletion here cannot cancel


@dataclass
class Erased:
    conversations: int
    rows: Dict[str, int]  # table -> rows deleted
    tracker_events: int
    compacted: bool

    @property
    def records(self) -> int:
        return sum(self.rows.values())


def person_tables() -> List[sa.Table]:
    """Every app table with a `conversation_id` column (but the audit log), children first."""
    return [
        t
        for t in reversed(Base.metadata.sorted_tables)
        if "conversation_id" in t.c and t.name not in KEPT
    ]


def _code_key(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def _email_key(text: Any) -> Optional[str]:
    return text.strip().lower() if isinstance(text, str) and "@" in text else None


def _phone_key(text: Any) -> Optional[str]:
    if not isinstance(text, str) or sum(c.isdigit() for c in text) < 7:
        return None
    try:
        return parse_phone(text)
    except NotUnderstood:
        return None


def contact_seed(text: str) -> Tuple[Set[str], Set[str]]:
    """(phones, emails) from what an admin typed; ValueError with a message to show."""
    text = (text or "").strip()
    try:
        if "@" in text:
            return set(), {parse_email(text).lower()}
        return {parse_phone(text)}, set()
    except NotUnderstood:
        raise ValueError("That is not a phone number or an email address.") from None


# --- finding -----------------------------------------------------------------------------------


@dataclass
class _Trace:
    """One stored place that can name a person: where it is, and what it holds."""

    conversation_id: str
    codes: Set[str]
    phones: Set[str]
    emails: Set[str]


def _traces(s: Session) -> Tuple[List[_Trace], Dict[str, int]]:
    """Every booking, call-back and booking look-up, decrypted (only the contact columns),
    with how many of each were read."""
    traces: List[_Trace] = []
    rows = s.execute(
        sa.select(
            BookingRecord.conversation_id,
            BookingRecord.code,
            BookingRecord.phone,
            BookingRecord.email,
        )
    ).all()
    for conversation, code, phone, email in rows:
        traces.append(
            _Trace(
                conversation,
                {_code_key(code)},
                {p for p in [_phone_key(phone)] if p},
                {e for e in [_email_key(email)] if e},
            )
        )
    callbacks = s.execute(sa.select(Callback.conversation_id, Callback.contact)).all()
    for conversation, contact in callbacks:
        contact = contact if isinstance(contact, dict) else {}
        traces.append(
            _Trace(
                conversation,
                set(),
                {p for p in [_phone_key(contact.get("phone"))] if p},
                {e for e in [_email_key(contact.get("email"))] if e},
            )
        )
    lookups = s.execute(
        sa.select(FlowDraft.conversation_id, FlowDraft.state).where(
            FlowDraft.flow.in_(MANAGE_FLOWS)
        )
    ).all()
    for conversation, state in lookups:
        answers = (state or {}).get("answers") or {}
        proof = answers.get("manage.proof")
        code = answers.get("manage.code")
        traces.append(
            _Trace(
                conversation,
                {_code_key(code)} if isinstance(code, str) else set(),
                {p for p in [_phone_key(proof)] if p},
                {e for e in [_email_key(proof)] if e},
            )
        )
    return traces, {
        "bookings": len(rows),
        "call-backs": len(callbacks),
        "booking look-ups": len(lookups),
    }


def find(
    *,
    conversation_id: Optional[str] = None,
    booking_code: Optional[str] = None,
    contact: Optional[str] = None,
    actor: str = "command",
    coordinator_id: Optional[int] = None,
    db_url: Optional[str] = None,
) -> Person:
    """The person behind one seed, with every conversation that leads to them. NotFound
    when the seed leads nowhere; ValueError for a contact that is neither phone nor email."""
    seeds = [x is not None for x in (conversation_id, booking_code, contact)]
    if sum(seeds) != 1:
        raise ValueError("give one of a conversation id, a booking code or a contact")
    if conversation_id is not None:
        person = Person("by conversation id", conversations={conversation_id})
    elif booking_code is not None:
        person = Person("by booking code", codes={_code_key(booking_code)} - {""})
    else:
        phones, emails = contact_seed(contact or "")
        person = Person("by contact", phones=phones, emails=emails)

    with session(db_url) as s:
        traces, read = _traces(s)
        for _ in range(MAX_ROUNDS):
            grown = False
            for t in traces:
                linked = (
                    t.conversation_id in person.conversations
                    or t.codes & person.codes
                    or t.phones & person.phones
                    or t.emails & person.emails
                )
                if not linked:
                    continue
                before = (
                    len(person.conversations),
                    len(person.codes),
                    len(person.phones),
                    len(person.emails),
                )
                person.conversations.add(t.conversation_id)
                person.codes |= t.codes
                person.phones |= t.phones
                person.emails |= t.emails
                grown |= before != (
                    len(person.conversations),
                    len(person.codes),
                    len(person.phones),
                    len(person.emails),
                )
            if not grown:
                break
        audit.add(
            s,
            "searched_for_person",
            actor=actor,
            coordinator_id=coordinator_id,
            detail=f"{person.how}; compared "
            + ", ".join(f"{n} {what}" for what, n in read.items())
            + f"; {len(person.conversations)} conversation(s) found",
        )
        if person.conversations:
            person.calcom_bookings = s.execute(
                sa.select(sa.func.count())
                .select_from(BookingRecord)
                .where(
                    BookingRecord.conversation_id.in_(person.conversations),
                    BookingRecord.backend == "calcom",
                    BookingRecord.status != "cancelled",
                )
            ).scalar_one()
    if not person.conversations:
        raise NotFound(f"nothing found {person.how}")
    return person


# --- counting and deleting ---------------------------------------------------------------------


def _in(column: Any, values: Iterable[Any]) -> Any:
    return column.in_(sorted(values))


def count(person: Person, tracker_engine: Optional[Engine], db_url: Optional[str] = None) -> Erased:
    """What `erase` would delete (nothing is changed, nothing decrypted)."""
    rows: Dict[str, int] = {}
    conversations = sorted(person.conversations)
    with session(db_url) as s:
        for table in person_tables():
            n = s.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(_in(table.c.conversation_id, conversations))
            ).scalar_one()
            if n:
                rows[table.name] = n
    events = tracker.count_events(tracker_engine, conversations) if tracker_engine else 0
    return Erased(len(conversations), rows, events, compacted=False)


def erase(
    person: Person,
    tracker_engine: Optional[Engine],
    *,
    actor: str = "command",
    coordinator_id: Optional[int] = None,
    action: str = "deleted_person",
    detail: Optional[str] = None,
    compact: bool = True,
    db_url: Optional[str] = None,
) -> Erased:
    """Delete everything of `person`'s conversations: tracker events, then app rows with
    their audit entries (`action`, one per conversation; one transaction). `compact`: on
    SQLite, VACUUM both files after."""
    conversations = sorted(person.conversations)
    events = tracker.delete_events(tracker_engine, conversations) if tracker_engine else 0
    with session(db_url) as s:
        rows = _erase_app(s, person, actor, coordinator_id)
        total = sum(rows.values())
        for conversation in conversations:
            audit.add(
                s,
                action,
                actor=actor,
                coordinator_id=coordinator_id,
                conversation_id=conversation,
                detail=detail
                or (
                    f"{person.how}; {len(conversations)} conversation(s), {total} records, "
                    f"{events} tracker events"
                ),
            )
    compacted = False
    if compact:
        compacted = compact_app(db_url)
        if tracker_engine is not None:
            compacted = tracker.compact(tracker_engine) and compacted
    return Erased(len(conversations), rows, events, compacted)


def _erase_app(
    s: Session, person: Person, actor: str, coordinator_id: Optional[int]
) -> Dict[str, int]:
    conversations = sorted(person.conversations)
    rows: Dict[str, int] = {}

    def note(table: str, result: Any) -> None:
        if result.rowcount:
            rows[table] = rows.get(table, 0) + result.rowcount

    bookings = s.execute(
        sa.select(BookingRecord.id, BookingRecord.code, BookingRecord.phone).where(
            _in(BookingRecord.conversation_id, conversations)
        )
    ).all()
    callbacks = s.execute(
        sa.select(Callback.contact).where(_in(Callback.conversation_id, conversations))
    ).scalars()
    phones = set(person.phones)
    phones |= {p for _, _, phone in bookings if (p := _phone_key(phone))}
    phones |= {p for c in callbacks if isinstance(c, dict) and (p := _phone_key(c.get("phone")))}

    # Not every database enforces ON DELETE CASCADE (SQLite does not by default).
    note(
        "slot_claims",
        s.execute(_delete(SlotClaim).where(_in(SlotClaim.booking_id, [b[0] for b in bookings]))),
    )
    # An outbox row names its booking in the dedupe key (booking:<code>:…).
    for code in sorted({b[1] for b in bookings}):
        note(
            "outbox",
            s.execute(
                _delete(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"booking:{code}:%"))
            ),
        )

    # A couple is two people linked: the link goes with either of them. The other partner
    # keeps their own conversation, screening and safety check.
    couple_ids = sorted(
        set(
            s.execute(
                sa.select(CouplePartner.couple_id).where(
                    _in(CouplePartner.conversation_id, conversations)
                )
            ).scalars()
        )
    )
    others = s.execute(
        sa.select(CouplePartner.conversation_id).where(
            _in(CouplePartner.couple_id, couple_ids),
            sa.not_(_in(CouplePartner.conversation_id, conversations)),
        )
    ).scalars()
    for other in sorted(set(others)):
        audit.add(
            s,
            "unlinked_couple",
            actor=actor,
            coordinator_id=coordinator_id,
            conversation_id=other,
            detail="the partner's data was deleted",
        )
    note(
        "couple_invitations",
        s.execute(
            _delete(CoupleInvitation).where(
                sa.or_(
                    _in(CoupleInvitation.inviter_conversation_id, conversations),
                    _in(CoupleInvitation.couple_id, couple_ids),
                )
            )
        ),
    )
    note(
        "couple_partners",
        s.execute(_delete(CouplePartner).where(_in(CouplePartner.couple_id, couple_ids))),
    )
    note("couples", s.execute(_delete(Couple).where(_in(Couple.id, couple_ids))))

    for table in person_tables():
        where = _in(table.c.conversation_id, conversations)
        note(table.name, s.execute(table.delete().where(where)))

    hashes = {phone_hash(p) for p in phones}
    note("sms_opt_outs", s.execute(_delete(SmsOptOut).where(_in(SmsOptOut.phone_hash, hashes))))
    return rows


def _delete(model: Any) -> Any:
    """DELETE on a mapped class, without syncing the session (nothing of it is loaded)."""
    return sa.delete(model).execution_options(synchronize_session=False)


def compact_app(db_url: Optional[str] = None, tries: int = 20) -> bool:
    """SQLite: VACUUM the app database, then fold the write-ahead log into it and empty it,
    so no deleted byte is left in free pages or in the log. False when it stayed busy (the
    rows are deleted all the same; run the command again to compact). PostgreSQL: True."""
    eng = engine(db_url)
    if eng.dialect.name != "sqlite":
        return True
    for attempt in range(tries):
        try:
            with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM")
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            if busy is None or not busy[0]:
                return True
        except sa.exc.OperationalError:
            pass
        time.sleep(0.1 * (attempt + 1))  # a reader (the console's poll) finishes meanwhile
    return False


# --- the console's action ----------------------------------------------------------------------


def forget_conversation(
    conversation_id: str, coordinator_id: int, db_url: Optional[str] = None
) -> Erased:
    """An admin's "Delete this person's data" in the console: the person of this
    conversation, everywhere (found as the command finds them)."""
    person = find(
        conversation_id=conversation_id,
        actor="coordinator",
        coordinator_id=coordinator_id,
        db_url=db_url,
    )
    return erase(
        person,
        tracker.connect(),
        actor="coordinator",
        coordinator_id=coordinator_id,
        db_url=db_url,
    )


# --- the command -------------------------------------------------------------------------------


def _report(person: Person, found: Erased) -> str:
    lines = [
        f"Found {found.conversations} conversation(s) {person.how}: "
        + ", ".join(sorted(person.conversations)),
        "  "
        + ", ".join(f"{table} {n}" for table, n in sorted(found.rows.items()))
        + ("; " if found.rows else "")
        + f"tracker events {found.tracker_events}",
    ]
    if person.calcom_bookings:
        lines.append(
            f"  {person.calcom_bookings} booking(s) are held at Cal.com: cancel them there too."
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.privacy.forget",
        description="Delete one person's data from the app database and the tracker store.",
    )
    seed = parser.add_mutually_exclusive_group(required=True)
    seed.add_argument("--conversation", metavar="ID", help="a conversation id")
    seed.add_argument("--booking-code", metavar="CODE", help="a confirmation code")
    seed.add_argument(
        "--contact",
        action="store_true",
        help="a phone number or email, read from standard input",
    )
    parser.add_argument("--yes", action="store_true", help="delete (without it: only show)")
    parser.add_argument("--endpoints", help="Rasa endpoints file (default: RASA_ENDPOINTS)")
    parser.add_argument(
        "--no-vacuum", action="store_true", help="SQLite: do not compact the files afterwards"
    )
    args = parser.parse_args(argv)
    contact = None
    if args.contact:
        if sys.stdin.isatty():
            contact = getpass.getpass("Phone number or email (not shown): ")
        else:
            contact = sys.stdin.readline()
    try:
        tracker_engine = tracker.connect(endpoints=args.endpoints)
    except tracker.TrackerStoreError as exc:
        print(f"Nothing deleted: {exc}", file=sys.stderr)
        return 2
    try:
        person = find(
            conversation_id=args.conversation,
            booking_code=args.booking_code,
            contact=contact,
        )
    except NotFound as exc:
        print(f"Nothing deleted: {exc}.", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"Nothing deleted: {exc}", file=sys.stderr)
        return 2
    found = count(person, tracker_engine)
    if not found.records and not found.tracker_events:
        # A conversation id leads to itself even when nothing of it is stored (any more).
        compacted = (
            args.yes
            and not args.no_vacuum
            and compact_app()
            and (tracker_engine is None or tracker.compact(tracker_engine))
        )
        print("Nothing of it is stored." + (" Database files compacted." if compacted else ""))
        return 1
    print(_report(person, found))
    if not args.yes:
        print("Nothing deleted yet: run again with --yes to delete all of it.")
        return 0
    who = f"{person.how}; run by {getpass.getuser()}"
    done = erase(
        person,
        tracker_engine,
        detail=f"{who}; {found.records} records, {found.tracker_events} tracker events",
        compact=not args.no_vacuum,
    )
    print(
        f"Deleted {done.records} records and {done.tracker_events} tracker events of "
        f"{done.conversations} conversation(s); recorded in the audit log."
    )
    if not args.no_vacuum:
        print(
            "Database files compacted: nothing deleted is left in them."
            if done.compacted
            else "The database stayed busy and was not compacted: run the command again "
            "with --conversation to compact (deleted rows may linger in free pages until then)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
