"""The app database: SQLAlchemy 1.4 models and a session factory.

SQLite under var/ by default, PostgreSQL in production (DATABASE_URL). The schema is
Alembic's (bot/store/migrations): `engine()` upgrades a database to head on its first use in
a process, so every process sees the migrated schema; nothing here calls `create_all` (tests
may, on a scratch database). Records are keyed by conversation today and by person once
intakes exist.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Optional

from sqlalchemy import Column, DateTime, Integer, String, create_engine, event, select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.types import TypeDecorator

from bot.config import database_url
from bot.store.crypto import EncryptedLabel

# SQLAlchemy 1.4 builds the base class at run time, so mypy (without the sqlalchemy2-stubs
# plugin) cannot see it: Any, so the model classes may derive from it.
Base: Any = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, stored naive-UTC on every database
    (SQLite has no time zones; PostgreSQL would otherwise apply the session's zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(
        self, value: Optional[datetime], dialect: Dialect
    ) -> Optional[datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Escalation(Base):
    """A request for a human: the coordinator queue's input.

    Holds no message text: the reason is a detector label such as "suicidal", encrypted.
    """

    __tablename__ = "escalations"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    priority = Column(Integer, nullable=False)  # lower is more urgent; see bot.handoff
    kind = Column(String(32), nullable=False)  # crisis / concern / request
    # A detector label such as "suicidal": PHI under 42 CFR Part 2, so encrypted. The queue
    # sorts by `priority` and `kind` (plain), and shows the reason decrypted.
    reason = Column(EncryptedLabel, nullable=False)
    status = Column(String(16), nullable=False, default="open")  # open / claimed / resolved
    # The coordinator holding it (bot.console); one at a time.
    claimed_by = Column(Integer, nullable=True)
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    # While a coordinator holds it: until when the person counts as typing (the widget
    # refreshes it every few seconds; the console shows "The person is typing…").
    person_typing_until = Column(UTCDateTime, nullable=True)


# Each capability keeps its tables in its own models module (on the shared Base); all are
# imported before the metadata is used (migrations' autogenerate and compare, tests).
MODEL_MODULES = (
    "bot.store.audit",
    "bot.consent.models",
    "bot.flows.models",
    "bot.screening.models",
    "bot.coverage.models",
    "bot.scheduling.models",
    "bot.console.models",
    "bot.notify.models",
    "bot.notify.optout",
    "bot.couples.models",
    "bot.limits",
)


def import_models() -> None:
    """Register every capability's tables on Base.metadata."""
    for name in MODEL_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # the capability's package is not there at all
            found = False
        if found:
            importlib.import_module(name)


_import_models = import_models  # the former name


_engines: Dict[str, Engine] = {}
_lock = threading.Lock()


def engine(url: Optional[str] = None) -> Engine:
    """The engine for `url` (default DATABASE_URL), one per URL and process. On first use the
    database is upgraded to the newest migration (a no-op when it is already there; safe when
    several processes start at once: see bot.store.migrate)."""
    url = url or database_url()
    with _lock:
        if url not in _engines:
            from bot.store.migrate import upgrade_engine

            eng = create_engine(url, future=True, pool_pre_ping=True)
            if url.startswith("sqlite"):
                event.listen(eng, "connect", _sqlite_pragmas)
            import_models()
            try:
                upgrade_engine(eng)
            except BaseException:
                eng.dispose()
                raise
            _engines[url] = eng
        return _engines[url]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the action server write while tests and the console read.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # What is deleted or overwritten is zeroed in the file, not left in its free space
    # (a deletion on request, the retention job, a rescheduled booking's old row).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def latest_for(s: Session, model: Any, conversation_id: str) -> Any:
    """The newest row of a conversation-keyed table, or None."""
    return s.execute(
        select(model)
        .where(model.conversation_id == conversation_id)
        .order_by(model.id.desc())
        .limit(1)
    ).scalar()


def latest_columns(s: Session, model: Any, conversation_id: str, *columns: str) -> Any:
    """Only `columns` of the newest row of a conversation-keyed table (a Row), or None: for
    views that show a status, so the row's encrypted columns are not even decrypted."""
    return s.execute(
        select(*(getattr(model, c) for c in columns))
        .where(model.conversation_id == conversation_id)
        .order_by(model.id.desc())
        .limit(1)
    ).first()


@contextmanager
def session(url: Optional[str] = None) -> Iterator[Session]:
    factory = sessionmaker(bind=engine(url), future=True, expire_on_commit=False)
    with factory() as s, s.begin():
        yield s
