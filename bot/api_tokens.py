"""Short-lived, scoped tokens (JWT, HS256) for Rasa's HTTP API.

Rasa 3.6 checks them itself: scripts/rasa_server.py gives it `--jwt-secret` and `--jwt-method`
from here, inside the process (never on a command line). A token whose `user.role` is
"admin" may call every route; one whose role is "user" only the routes of the conversation
its `user.username` names: another conversation's tracker, `/execute` or events, and routes
of no conversation (`/status`, `/model…`), get 403. The socket.io channel's typing route
(channels/socketio.py) applies the same rule to its `sender`.

The coordinator console holds no lasting credential for Rasa: each of its calls carries a
token for the one conversation it acts on, valid CONSOLE_TTL seconds (Rasa's sanic-jwt
accepts up to 3 minutes past `exp` for clock skew).

The key is derived (bot.store.crypto.derived_secret) from SIGNING_SECRET, else the oldest PHI
key, like the chat session signatures: the processes that hold it (Rasa, the console, the
action server) already read everything Rasa's API could give them, and nothing new has to be
generated, stored or rotated.

    for_conversation(id)   the console's token for one conversation
    admin()                a token for every route (tests, an operator's script)
    scope(token)           (role, username) of an unexpired token signed here; None otherwise
    allows(token, id)      whether that token may act on conversation `id`
"""

from __future__ import annotations

import time
from typing import Optional, Tuple

import jwt

from bot.store.crypto import derived_secret

PURPOSE = "rasa-http-api-jwt"
ALGORITHM = "HS256"
ROLES = ("admin", "user")
CONSOLE_TTL = 120  # seconds: one call, or one transcript refresh, plus slack
ADMIN_TTL = 300
LEEWAY = 30  # seconds past `exp` the typing route still accepts (clock skew between hosts)
MAX_TOKEN_CHARS = 2048


def secret() -> str:
    """The shared key, as text (Rasa's `--jwt-secret` takes text): 64 hex characters."""
    return derived_secret(PURPOSE).hex()


def mint(username: str, role: str, ttl: float, now: Optional[float] = None) -> str:
    """A token for `role` ("admin" or "user"), valid `ttl` seconds from `now`."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if not username:
        raise ValueError("a token needs a username (the conversation id for role user)")
    issued = int(time.time() if now is None else now)
    payload = {
        "user": {"username": username, "role": role},
        "iat": issued,
        "exp": issued + int(ttl),
    }
    return jwt.encode(payload, secret(), algorithm=ALGORITHM)


def for_conversation(conversation_id: str, ttl: float = CONSOLE_TTL) -> str:
    """A token that acts on this one conversation and nothing else."""
    return mint(conversation_id, "user", ttl)


def admin(ttl: float = ADMIN_TTL) -> str:
    return mint("admin", "admin", ttl)


def scope(token: object) -> Optional[Tuple[str, str]]:
    """(role, username) of a token signed with this key, with HS256, carrying an `exp` that
    has not passed; None for anything else (wrong key or algorithm, expired, malformed)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        payload = jwt.decode(
            token,
            secret(),
            algorithms=[ALGORITHM],
            options={"require": ["exp"]},
            leeway=LEEWAY,
        )
    except jwt.PyJWTError:
        return None
    user = payload.get("user")
    if not isinstance(user, dict):
        return None
    role, username = user.get("role"), user.get("username")
    if role not in ROLES or not isinstance(username, str) or not username:
        return None
    return role, username


def allows(token: object, conversation_id: str) -> bool:
    """Whether `token` may act on `conversation_id`: an admin's, or a user's for it."""
    found = scope(token)
    if found is None:
        return False
    role, username = found
    return role == "admin" or username == conversation_id
