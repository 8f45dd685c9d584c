"""Rasa's SQL tracker store with every event encrypted at rest.

`endpoints.yml` names it as `type: stores.encrypted_tracker.EncryptedSQLTrackerStore` with
the same keys as Rasa's `type: SQL` (dialect, db, url, port, username, password, ...), so it
runs on SQLite and PostgreSQL alike.

What is stored for an event (the `events` table keeps Rasa's schema):

- `data`, the event as Rasa serialises it (what the person typed, slot values, the bot's
  replies), is a Fernet token made with the app's PHI keys (`bot.store.crypto`: the first key
  of PHI_ENCRYPTION_KEY encrypts, all decrypt), and is decrypted when Rasa reads it back;
- `sender_id`, `type_name` and `timestamp` stay in clear: Rasa's queries need them (the
  conversation's events, the start of its latest session, the list of conversations);
- `intent_name` and `action_name` are left empty: they are labels such as `crisis` or
  `action_crisis_response` next to a conversation id, Rasa 3.6 only writes them (no query
  reads them), and the encrypted `data` holds both.

Only the mapped table differs from Rasa's class: its `save`, `_retrieve`, `_event_query` and
`keys` run unchanged, through `self.SQLEvent`.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.types import TypeDecorator

from bot.store import crypto

logger = logging.getLogger(__name__)

TABLE = "events"


def is_plaintext(data: str) -> bool:
    """A row written before encryption: Rasa's JSON. A Fernet token is url-safe base64 and
    never starts with a brace."""
    return data.lstrip().startswith("{")


def encrypt_event(data: str) -> str:
    return crypto.cipher().encrypt(data.encode()).decode()


def decrypt_event(token: str) -> str:
    try:
        return crypto.cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise crypto.MissingKeyError(
            "A tracker store event cannot be decrypted with the configured key(s) "
            "(PHI_ENCRYPTION_KEY): was the store encrypted with another key?"
        ) from None


_warned_plaintext = False


class EncryptedEventData(TypeDecorator):
    """`events.data`: a Fernet token on the way in, Rasa's JSON on the way out.

    A row written before encryption is read as it is, so the store can be switched on
    before `python -m stores.encrypt_tracker` has encrypted the old rows (said once in the
    log, without the row's content)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Optional[str], dialect: Dialect) -> Optional[str]:
        return None if value is None else encrypt_event(value)

    def process_result_value(self, value: Optional[str], dialect: Dialect) -> Optional[str]:
        global _warned_plaintext
        if value is None:
            return None
        if is_plaintext(value):
            if not _warned_plaintext:
                _warned_plaintext = True
                logger.warning(
                    "The tracker store holds events written before encryption; encrypt them "
                    "with `python -m stores.encrypt_tracker --endpoints <endpoints file>`."
                )
            return value
        return decrypt_event(value)


class Withheld(TypeDecorator):
    """A column Rasa writes and never reads: always stored empty (NULL)."""

    impl = sa.String(255)
    cache_ok = True

    def process_bind_param(self, value: Optional[str], dialect: Dialect) -> None:
        return None


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose events are encrypted at rest (see the module's docstring)."""

    Base: Any = declarative_base()

    class SQLEvent(Base):
        """Rasa's `events` table, column for column; only what `data`, `intent_name` and
        `action_name` hold differs."""

        __tablename__ = TABLE

        # The sequence only matters on databases without autoincrement (Oracle), as in Rasa.
        id = sa.Column(sa.Integer, sa.Sequence(f"{TABLE}_seq", optional=True), primary_key=True)
        sender_id = sa.Column(sa.String(255), nullable=False, index=True)
        type_name = sa.Column(sa.String(255), nullable=False)
        timestamp = sa.Column(sa.Float)
        intent_name = sa.Column(Withheld)
        action_name = sa.Column(Withheld)
        data = sa.Column(EncryptedEventData)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No key (outside development) or a malformed one stops Rasa's start here, naming
        # the variable, instead of failing on the first message.
        crypto.check_key()
        super().__init__(*args, **kwargs)
