"""The retention job: what people leave is kept only as long as the consent says
(`facts.retention` in the profile; bot/consent/consent.yml states the same periods).

    python -m bot.privacy.retention             # one pass now, then print what it deleted
    python -m bot.privacy.retention --dry-run   # only count

    # crontab, where no notification worker runs:
    17 * * * *  cd /srv/iop && .venv/bin/python -m bot.privacy.retention

The notification worker (`python -m bot.notify`, which make run starts) runs a pass every
hour, so nothing else needs scheduling.

A pass deletes:

1. **Unfinished drafts**: a screening, insurance check or booking started (active or
   paused) and untouched for `unfinished_days`. Only the draft's answers go; the
   conversation stays until rule 2.
2. **Abandoned conversations**: no activity (tracker event or app row) for `abandoned_days`
   and never an intake: no booking that stands (booked or rescheduled), no escalation open
   or held by a coordinator, no open call-back request, not in a couple with a joint time
   (proposed or booked). All of it goes, tracker events included (bot.privacy.forget's `erase`).
3. **Old records**: no activity for `records_years`, whatever they hold.

Each deletion is audited per conversation (`retention_deleted_draft`, `retention_deleted`),
with the rule and counts, never content. On PostgreSQL one worker at a time runs a pass (an
advisory lock); the others skip it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterator, List, Optional, Set

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.couples.models import Couple, CouplePartner
from bot.flows.models import FlowDraft
from bot.privacy import tracker
from bot.privacy.forget import Person, erase, person_tables
from bot.profile import load_profile
from bot.profile.schema import RetentionFacts
from bot.scheduling.models import BookingRecord, Callback
from bot.store import Escalation, audit, engine, session, utcnow

log = logging.getLogger(__name__)

UNFINISHED = ("active", "paused")
# The column that says when a row was last written, first found wins.
ACTIVITY_COLUMNS = ("updated_at", "created_at", "given_at", "joined_at", "at")
LOCK_KEY = zlib.crc32(b"iop-assistant retention")


@dataclass
class Report:
    drafts: int = 0  # unfinished drafts deleted
    conversations: int = 0  # abandoned or old conversations deleted
    records: int = 0  # app rows of those conversations
    tracker_events: int = 0
    skipped: bool = False  # another worker held the lock

    def __str__(self) -> str:
        if self.skipped:
            return "nothing: another retention pass is running"
        return (
            f"{self.drafts} unfinished drafts, {self.conversations} conversations "
            f"({self.records} records, {self.tracker_events} tracker events)"
        )


def periods() -> RetentionFacts:
    return load_profile().facts.retention


def _utc(moment: datetime) -> datetime:
    # DateTime(timezone=True) columns come back naive from SQLite; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def last_activity(
    tracker_engine: Optional[Engine], db_url: Optional[str] = None
) -> Dict[str, datetime]:
    """When each conversation was last active: its newest tracker event or app row (the
    audit log does not count: the job's own entries would keep everything alive)."""
    latest: Dict[str, datetime] = {}

    def seen(conversation: str, moment: datetime) -> None:
        if conversation not in latest or moment > latest[conversation]:
            latest[conversation] = moment

    if tracker_engine is not None:
        for sender, at in tracker.last_activity(tracker_engine).items():
            seen(sender, datetime.fromtimestamp(at, timezone.utc))
    with session(db_url) as s:
        for table in person_tables():
            column = next((table.c[c] for c in ACTIVITY_COLUMNS if c in table.c), None)
            if column is None:
                continue
            rows = s.execute(
                sa.select(table.c.conversation_id, sa.func.max(column)).group_by(
                    table.c.conversation_id
                )
            ).all()
            for conversation, at in rows:
                if at is not None:
                    seen(conversation, _utc(at))
    return latest


def kept(db_url: Optional[str] = None) -> Set[str]:
    """Conversations that became an intake, or that the team still has open."""
    with session(db_url) as s:
        found = set(
            s.execute(
                sa.select(BookingRecord.conversation_id).where(
                    BookingRecord.status.in_(("booked", "rescheduled"))
                )
            ).scalars()
        )
        found |= set(
            s.execute(
                sa.select(Escalation.conversation_id).where(
                    Escalation.status.in_(("open", "claimed"))
                )
            ).scalars()
        )
        found |= set(
            s.execute(
                sa.select(Callback.conversation_id).where(Callback.status == "open")
            ).scalars()
        )
        found |= set(
            s.execute(
                sa.select(CouplePartner.conversation_id)
                .join(Couple, Couple.id == CouplePartner.couple_id)
                .where(Couple.status.in_(("proposed", "booked")))
            ).scalars()
        )
    return found


def run_once(
    now: Optional[datetime] = None,
    tracker_engine: Optional[Engine] = None,
    db_url: Optional[str] = None,
    rules: Optional[RetentionFacts] = None,
    dry_run: bool = False,
) -> Report:
    """One pass at `now` (default: the clock). `tracker_engine`: the tracker store (the
    command and the worker pass the endpoints file's)."""
    now = (now or utcnow()).astimezone(timezone.utc)  # stored naive-UTC on SQLite
    rules = rules or periods()
    report = Report()
    with _single_pass(db_url) as mine:
        if not mine:
            report.skipped = True
            return report
        report.drafts = _drop_unfinished(now, rules, db_url, dry_run)
        activity = last_activity(tracker_engine, db_url)
        keep = kept(db_url)
        abandoned_before = now - timedelta(days=rules.abandoned_days)
        old_before = now - timedelta(days=365 * rules.records_years)
        by_rule: Dict[str, List[str]] = {
            f"no activity for {rules.abandoned_days} days, no intake": sorted(
                c for c, at in activity.items() if at < abandoned_before and c not in keep
            ),
            f"no activity for {rules.records_years} years": sorted(
                c for c, at in activity.items() if at < old_before and c in keep
            ),
        }
        for rule, conversations in by_rule.items():
            if not conversations:
                continue
            report.conversations += len(conversations)
            if dry_run:
                continue
            done = erase(
                Person("by the retention job", conversations=set(conversations)),
                tracker_engine,
                actor="retention",
                action="retention_deleted",
                detail=rule,
                compact=False,  # zeroed as deleted (secure_delete); no lock on a live file
                db_url=db_url,
            )
            report.records += done.records
            report.tracker_events += done.tracker_events
    return report


def _drop_unfinished(
    now: datetime, rules: RetentionFacts, db_url: Optional[str], dry_run: bool
) -> int:
    before = now - timedelta(days=rules.unfinished_days)
    with session(db_url) as s:
        stale = s.execute(
            sa.select(FlowDraft.id, FlowDraft.conversation_id, FlowDraft.flow).where(
                FlowDraft.status.in_(UNFINISHED), FlowDraft.updated_at < before
            )
        ).all()
        if dry_run or not stale:
            return len(stale)
        s.execute(sa.delete(FlowDraft).where(FlowDraft.id.in_([d.id for d in stale])))
        for draft in stale:
            audit.add(
                s,
                "retention_deleted_draft",
                actor="retention",
                conversation_id=draft.conversation_id,
                record=f"flow_drafts:{draft.id}",
                detail=f"unfinished {draft.flow}, untouched for {rules.unfinished_days} days",
            )
        return len(stale)


@contextmanager
def _single_pass(db_url: Optional[str]) -> Iterator[bool]:
    """PostgreSQL: True for the one worker holding the advisory lock, False for the others.
    Elsewhere always True (a SQLite database has one machine's workers, and its deletes are
    serialised by the database anyway)."""
    eng = engine(db_url)
    if eng.dialect.name != "postgresql":
        yield True
        return
    with eng.connect() as conn:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
        try:
            yield bool(got)
        finally:
            if got:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})


def run_quietly(tracker_engine: Optional[Engine]) -> None:
    """A pass for the notification worker: any failure is logged (its class only) and the
    worker goes on sending."""
    try:
        report = run_once(tracker_engine=tracker_engine)
    except Exception as exc:  # noqa: BLE001 - the outbox must keep going whatever happens here
        log.error("retention pass failed (%s); next try in an hour", type(exc).__name__)
        return
    if report.skipped:
        log.info("retention pass left to another worker (it holds the lock)")
    else:
        log.info("retention pass: deleted %s", report)  # counts only


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.privacy.retention",
        description="Delete unfinished drafts and abandoned conversations past the profile's "
        "retention periods.",
    )
    parser.add_argument("--dry-run", action="store_true", help="only count what would go")
    parser.add_argument("--endpoints", help="Rasa endpoints file (default: RASA_ENDPOINTS)")
    args = parser.parse_args(argv)
    try:
        tracker_engine = tracker.connect(endpoints=args.endpoints)
    except tracker.TrackerStoreError as exc:
        print(f"Nothing deleted: {exc}", file=sys.stderr)
        return 2
    report = run_once(tracker_engine=tracker_engine, dry_run=args.dry_run)
    rules = periods()
    print(
        ("Would delete " if args.dry_run else "Deleted ")
        + str(report)
        + f" (unfinished after {rules.unfinished_days} days, abandoned after "
        f"{rules.abandoned_days} days, everything after {rules.records_years} years)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
