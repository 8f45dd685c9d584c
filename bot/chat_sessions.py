"""Chat session ids the server hands out, so a browser resumes its own conversation and
cannot pick someone else's.

A widget gets a token `<conversation id>.<signature>` when it connects: a fresh random
conversation id and an HMAC of it under a secret derived from the PHI key
(`bot.store.crypto.derived_secret`: SIGNING_SECRET, or the oldest PHI key, so a key
rotation keeps open chats). It sends the
token back to resume after a reload; a token the server did not sign is refused. Only the
conversation id is stored (tracker, escalations): reading a database or a log never gives
what is needed to join a person's chat.
"""

from __future__ import annotations

import hmac
import secrets
from hashlib import sha256
from typing import Optional

from bot.store.crypto import derived_secret

PURPOSE = "chat-session-id"
SIGNATURE_CHARS = 32  # 128 bits of HMAC-SHA256, hex
MAX_TOKEN_CHARS = 128


def _signature(conversation_id: str) -> str:
    digest = hmac.new(derived_secret(PURPOSE), conversation_id.encode(), sha256).hexdigest()
    return digest[:SIGNATURE_CHARS]


def check_secret() -> None:
    """Fail at start-up, naming the setting, rather than on the first connection."""
    derived_secret(PURPOSE)


def new_id() -> str:
    """A new conversation's id: 128 random bits, hex."""
    return secrets.token_hex(16)


def sign(conversation_id: str) -> str:
    """The token the widget keeps for this conversation."""
    return f"{conversation_id}.{_signature(conversation_id)}"


def conversation_of(token: object) -> Optional[str]:
    """The conversation id of a token this server signed; None for anything else."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        return None
    conversation_id, dot, signature = token.rpartition(".")
    if not dot or not conversation_id:
        return None
    valid = hmac.compare_digest(signature.encode(), _signature(conversation_id).encode())
    return conversation_id if valid else None
