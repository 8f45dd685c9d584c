"""PHI encryption at rest: Fernet (AES-128-CBC + HMAC-SHA256) from the `cryptography` library.

The key comes from PHI_ENCRYPTION_KEY in `.env` (several keys separated by commas rotate:
the first encrypts, all decrypt; `python -m bot.store.rotate` re-encrypts what is stored
with the first). Only with APP_ENV=development (the .env `make run` creates,
and the test stacks) is a key generated once under var/; anywhere else, APP_ENV unset
included, a missing key stops start-up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any, List, Optional

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Dialect
from sqlalchemy.types import Text, TypeDecorator

from bot.config import GENERATE_KEY, ROOT, settings

DEV_KEY_PATH = ROOT / "var" / "phi-dev.key"


class MissingKeyError(RuntimeError):
    """No usable encryption key; the message says what to set."""


def _load_keys() -> List[Fernet]:
    return [Fernet(k.encode()) for k in _key_texts()]


def _key_texts() -> List[str]:
    config = settings()  # PHI_ENCRYPTION_KEY and APP_ENV (unset: production)
    raw = config.phi_encryption_key
    if not raw:
        if config.app_env != "development":
            raise MissingKeyError(
                "PHI_ENCRYPTION_KEY is not set. Outside development every screening, coverage "
                f"check and booking is encrypted with it: generate one with `{GENERATE_KEY}` "
                "and put it in .env."
            )
        DEV_KEY_PATH.parent.mkdir(exist_ok=True)
        if not DEV_KEY_PATH.exists():
            DEV_KEY_PATH.write_bytes(Fernet.generate_key())
            DEV_KEY_PATH.chmod(0o600)
        raw = DEV_KEY_PATH.read_text().strip()
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    try:
        for k in keys:
            Fernet(k.encode())
        return keys
    except (ValueError, TypeError):
        raise MissingKeyError(
            "PHI_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64 bytes)."
        ) from None


@lru_cache(maxsize=1)
def cipher() -> MultiFernet:
    return MultiFernet(_load_keys())


def primary_cipher() -> Fernet:
    """The first key alone: what encrypts now (bot.store.rotate skips what it can read)."""
    return Fernet(_key_texts()[0].encode())


def derived_secret(purpose: str) -> bytes:
    """A secret for one purpose (e.g. signing calendar links), so a link never reveals a key.

    Derived from SIGNING_SECRET, else from the LAST key of PHI_ENCRYPTION_KEY, never the
    first: a rotation puts the new key in front ("A" becomes "B,A"), so signed links, chat
    session tokens and the hashes stored as look-up keys (SMS opt-outs, couples invitations,
    rate-limit buckets) stay valid. Before the old key leaves the list, SIGNING_SECRET takes
    its value (README, Privacy); changing the signing secret itself is a separate rotation.
    """
    master = settings().signing_secret or _key_texts()[-1]
    return hmac.new(master.encode(), purpose.encode(), hashlib.sha256).digest()


def check_key() -> None:
    """Fail fast at start-up (action server, make run) rather than on the first PHI write."""
    cipher()


def encrypt(value: Any) -> str:
    return cipher().encrypt(json.dumps(value, default=str).encode()).decode()


def decrypt(token: str) -> Any:
    try:
        return json.loads(cipher().decrypt(token.encode()))
    except InvalidToken:
        raise MissingKeyError(
            "A stored PHI field cannot be decrypted with the configured key(s)."
        ) from None


class EncryptedJSON(TypeDecorator):
    """A column holding any JSON value, stored as a Fernet token (never plain text)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Optional[Any], dialect: Dialect) -> Optional[str]:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: Optional[str], dialect: Dialect) -> Optional[Any]:
        return None if value is None else decrypt(value)


# Every Fernet token starts with these characters (version byte 0x80, then the timestamp).
FERNET_PREFIX = "gAAAAA"


def is_encrypted(value: str) -> bool:
    return value.startswith(FERNET_PREFIX)


class EncryptedLabel(EncryptedJSON):
    """A short label next to a conversation id that is PHI under 42 CFR Part 2 (a screening
    level such as `withdrawal_management`, an escalation reason such as `suicidal`):
    encrypted like any PHI column. A row written before migration 0008 still holds the plain
    label and reads as it is until `bot.store.migrate` encrypts it (make run, the Docker
    image); a plain label never starts like a Fernet token."""

    cache_ok = True

    def process_result_value(self, value: Optional[str], dialect: Dialect) -> Optional[Any]:
        if value is not None and not is_encrypted(value):
            return value
        return super().process_result_value(value, dialect)
