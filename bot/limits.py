"""Rate limits and lockouts: how often something may happen, per conversation, per client
address, per booking or overall.

One small limiter for the whole system. A limit (bot.config RATE_LIMIT_DEFAULTS, changed
with RATE_LIMITS) is "at most `count` in `window` seconds". Counts are kept per (limit, who)
in a window that opens at the first counted event and closes `window` seconds later (Redis'
INCR + EXPIRE pattern): a lockout lasts at most one window from the first failure, and at a
window's edge up to twice the count can pass in a short time (accepted: these limits bound
cost and guessing, they are not a billing meter).

Where the counts live: Redis when RATE_LIMIT_REDIS_URL is set (every replica shares them;
Redis' own clock expires them), otherwise the app database (`rate_limit_counts`, one row per
open window, rows past their window purged as it goes). Keys are HMAC-SHA256 of the limit
and the who under a secret derived from the PHI key: no conversation id, address or booking
code is stored in clear (an IP address is an identifier under HIPAA).

    check(items)   whether the next event would be allowed; counts nothing
    take(items)    check, and when allowed count one in every item (the event happens)
    count(items)   count one in every item (a failure, for limits on failures)

`items` are (limit name, who) pairs; an item whose who is None (an address the channel did
not give) is left out. The builders below name the items of each use.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, Iterable, List, Optional, Protocol, Tuple

from sqlalchemy import Column, Integer, String, case, delete, literal, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.config import settings
from bot.errors import describe
from bot.store import Base, UTCDateTime, session, utcnow
from bot.store.crypto import derived_secret

log = logging.getLogger(__name__)

Item = Tuple[str, Optional[str]]  # (limit name, who); who None: not known, not counted
OVERALL = "*"  # the who of a limit over everyone together
PURGE_EVERY = 60.0  # seconds between purges of closed windows from the database

# What the channels say to a conversation over its message limit (kind; 988 in sight).
SLOW_DOWN = (
    "You're sending messages faster than I can read them. Please wait a minute and try "
    "again. If you are in crisis, call or text 988, or call 911 in an emergency."
)


class RateCount(Base):
    """One open window of one (limit, who): how many events so far, and when it closes."""

    __tablename__ = "rate_limit_counts"

    bucket = Column(String(64), primary_key=True)  # HMAC of limit and who (hex)
    hits = Column(Integer, nullable=False)
    closes_at = Column(UTCDateTime, nullable=False, index=True)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0  # seconds until the refusing limit's window closes
    limit: str = ""  # the name of the limit that refused

    def __bool__(self) -> bool:
        return self.allowed


# --- which items each use counts ---------------------------------------------------------


def messages(conversation_id: str, address: Optional[str]) -> List[Item]:
    return [
        ("messages_per_conversation", conversation_id),
        ("messages_per_address", address_key(address)),
    ]


def coverage_checks(conversation_id: str, address: Optional[str] = None) -> List[Item]:
    return [
        ("coverage_checks_per_conversation", conversation_id),
        ("coverage_checks_per_address", address_key(address)),
        ("coverage_checks_overall", OVERALL),
    ]


def booking_proofs(conversation_id: str, code: str, address: Optional[str] = None) -> List[Item]:
    """Failed look-ups of a booking; `code` as canonical as the scheduler stores it."""
    return [
        ("booking_proof_failures_per_conversation", conversation_id),
        ("booking_proof_failures_per_address", address_key(address)),
        ("booking_proof_failures_per_booking", code.upper()),
    ]


def console_logins(address: Optional[str]) -> List[Item]:
    return [("console_login_failures_per_address", address_key(address))]


def address_key(address: Optional[str]) -> Optional[str]:
    """The address as limits count it: an IPv4 address itself, an IPv6 address by its /64
    (one household or server gets a whole /64); anything else as given."""
    text = (address or "").strip()
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


# --- the three operations ----------------------------------------------------------------


def check(
    items: Iterable[Item], now: Optional[datetime] = None, db_url: Optional[str] = None
) -> Verdict:
    """Whether one more event would be allowed by every limit; nothing is counted."""
    now = now or utcnow()
    store = counter(db_url)
    for name, who, (limit, _window) in _known(items):
        hits, closes_in = store.peek(_bucket(name, who), now)
        if hits >= limit:
            return Verdict(False, closes_in, name)
    return Verdict(True)


def take(
    items: Iterable[Item], now: Optional[datetime] = None, db_url: Optional[str] = None
) -> Verdict:
    """Check, and when allowed count the event in every limit. Refused when a limit was
    already full, or filled up by others between the check and the count (a race)."""
    wanted = list(items)
    verdict = check(wanted, now, db_url)
    if not verdict:
        return verdict
    for name, limit, hits, closes_in in _add(wanted, now or utcnow(), db_url):
        if hits > limit:
            return Verdict(False, closes_in, name)
    return Verdict(True)


def count(
    items: Iterable[Item], now: Optional[datetime] = None, db_url: Optional[str] = None
) -> Verdict:
    """Count one event (a failure) in every limit; says whether one more would be allowed."""
    for name, limit, hits, closes_in in _add(list(items), now or utcnow(), db_url):
        if hits >= limit:
            return Verdict(False, closes_in, name)
    return Verdict(True)


def allow_message(
    conversation_id: str,
    address: Optional[str] = None,
    now: Optional[datetime] = None,
    db_url: Optional[str] = None,
) -> Verdict:
    """For the chat channels: whether this conversation (and client address) may send one
    more message now; counts it when so. Over a limit, the channel answers SLOW_DOWN and
    drops the message. Fails open: when the counts cannot be reached the message goes
    through (a person in crisis must never be silenced by a Redis outage); logged by class."""
    try:
        return take(messages(conversation_id, address), now, db_url)
    except Exception as exc:  # noqa: BLE001 - any failure of the store lets the message pass
        log.warning("message limit not checked: %s", describe(exc))
        return Verdict(True)


def _add(
    items: List[Item], now: datetime, db_url: Optional[str]
) -> List[Tuple[str, int, int, float]]:
    """Count one event per item: (name, limit, hits now, seconds until the window closes)."""
    store = counter(db_url)
    added = []
    for name, who, (limit, window) in _known(items):
        hits, closes_in = store.add(_bucket(name, who), window, now)
        added.append((name, limit, hits, closes_in))
    return added


def _known(items: Iterable[Item]) -> Iterable[Tuple[str, str, Tuple[int, float]]]:
    config = settings()
    for name, who in items:
        if who is not None and who != "":
            yield name, who, config.rate_limit(name)


def _bucket(name: str, who: str) -> str:
    key = derived_secret("rate-limits")
    return hmac.new(key, f"{name}\n{who}".encode(), hashlib.sha256).hexdigest()


# --- where the counts live ---------------------------------------------------------------


class DatabaseCounts:
    """Counts in the app database: one upsert per event (SQLite and PostgreSQL both have
    INSERT … ON CONFLICT DO UPDATE, atomic per row)."""

    def __init__(self, db_url: Optional[str]) -> None:
        self.db_url = db_url

    def add(self, bucket: str, window: float, now: datetime) -> Tuple[int, float]:
        closes = now + timedelta(seconds=window)
        table = RateCount.__table__
        closed = table.c.closes_at <= literal(now, UTCDateTime())
        with session(self.db_url) as s:
            dialect = s.get_bind().dialect.name
            insert: Any = postgres_insert if dialect == "postgresql" else sqlite_insert
            s.execute(
                insert(table)
                .values(bucket=bucket, hits=1, closes_at=closes)
                .on_conflict_do_update(
                    index_elements=[table.c.bucket],
                    # Both read the row as it was: a closed window starts again at 1.
                    set_={
                        "hits": case((closed, 1), else_=table.c.hits + 1),
                        "closes_at": case(
                            (closed, literal(closes, UTCDateTime())), else_=table.c.closes_at
                        ),
                    },
                )
            )
            hits, closes_at = s.execute(
                select(table.c.hits, table.c.closes_at).where(table.c.bucket == bucket)
            ).one()
        self._purge(now)
        return int(hits), max((closes_at - now).total_seconds(), 0.0)

    def peek(self, bucket: str, now: datetime) -> Tuple[int, float]:
        with session(self.db_url) as s:
            row = s.execute(
                select(RateCount.hits, RateCount.closes_at).where(RateCount.bucket == bucket)
            ).first()
        if row is None or row.closes_at <= now:
            return 0, 0.0
        return int(row.hits), (row.closes_at - now).total_seconds()

    def _purge(self, now: datetime) -> None:
        # Closed windows count for nothing: delete them now and then (not on every event).
        key = self.db_url or ""
        with _purge_lock:
            if time.monotonic() - _last_purge.get(key, -PURGE_EVERY) < PURGE_EVERY:
                return
            _last_purge[key] = time.monotonic()
        with session(self.db_url) as s:
            s.execute(delete(RateCount).where(RateCount.closes_at <= now))


_last_purge: Dict[str, float] = {}
_purge_lock = threading.Lock()

# INCR, and the window's expiry set by the event that opened it (atomic in Redis).
_REDIS_ADD = """
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {hits, ttl}
"""


class RedisCounts:
    """Counts in Redis, shared by every process; windows expire on Redis' clock (an
    injected `now` is not used)."""

    PREFIX = "iop:limit:"

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.script = self.client.register_script(_REDIS_ADD)

    def add(self, bucket: str, window: float, now: datetime) -> Tuple[int, float]:
        hits, ttl = self.script(keys=[self.PREFIX + bucket], args=[max(int(window * 1000), 1)])
        return int(hits), int(ttl) / 1000

    def peek(self, bucket: str, now: datetime) -> Tuple[int, float]:
        pipe = self.client.pipeline()
        pipe.get(self.PREFIX + bucket)
        pipe.pttl(self.PREFIX + bucket)
        raw, ttl = pipe.execute()
        if raw is None:
            return 0, 0.0
        return int(raw), max(int(ttl), 0) / 1000


class Counts(Protocol):
    def add(self, bucket: str, window: float, now: datetime) -> Tuple[int, float]:
        """Count one event: (hits in the open window, seconds until it closes)."""

    def peek(self, bucket: str, now: datetime) -> Tuple[int, float]:
        """(hits in the open window, seconds until it closes); (0, 0) when none is open."""


_redis: Dict[str, RedisCounts] = {}
_redis_lock = threading.Lock()


def counter(db_url: Optional[str] = None) -> Counts:
    """Redis when RATE_LIMIT_REDIS_URL is set (one client per URL and process), else the app
    database `db_url` (default DATABASE_URL)."""
    url = settings().rate_limit_redis_url
    if not url:
        return DatabaseCounts(db_url)
    with _redis_lock:
        if url not in _redis:
            _redis[url] = RedisCounts(url)
        return _redis[url]
