"""What the channels accept: message length, request size, and text that is safe to store.

A message over MAX_MESSAGE_CHARS never reaches the assistant: the person gets TOO_LONG
and nothing else happens to the conversation, unless it speaks of a crisis: then the part
that does goes on, so the crisis answer and the coordinators' alert follow as for any turn.
Bodies over MAX_BODY_BYTES are refused by Sanic (413) and by the socket.io server before
anything reads them.

Messages are limited per conversation and per client address (`may_pass`). Behind the proxy
the address is the one the proxy vouches for, and only then (`client_address`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from types import SimpleNamespace
from typing import Any, Optional

from sanic import Blueprint, Sanic
from sanic.headers import parse_forwarded

MAX_MESSAGE_CHARS = 2000
CRISIS_SCAN_CHARS = 10_000  # of an over-long message, this much of its start and end is read
MAX_BODY_BYTES = 64 * 1024  # a 2,000-character message fits even with every character escaped

# Kind, and it keeps 988 in sight: a long message may be someone telling their story.
TOO_LONG = (
    "That message is too long for me to read. Could you send it in shorter messages, "
    f"under {MAX_MESSAGE_CHARS:,} characters each? If you are in crisis, call or text 988, "
    "or call 911 in an emergency."
)

# When the assistant fails on a message (logged by failure(), never with the text).
FAILED = (
    "Sorry, something went wrong on my side. Please try again, or call or text 988 if you "
    "are in crisis."
)

_KEPT_CONTROLS = {"\n", "\t"}
_PAYLOAD = re.compile(r"/[A-Za-z0-9_]+(\{.*\})?", re.S)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def clean_text(text: str) -> str:
    """The message without control characters (NUL cannot be stored in PostgreSQL text)
    and with unpaired surrogates (valid JSON, invalid UTF-8) replaced; a message starting
    with "/" that is not a button's payload is read as words."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in _KEPT_CONTROLS or unicodedata.category(c) != "Cc")
    if text.startswith("/"):
        # Rasa decodes the JSON of "/intent{json}" after this: an escaped lone surrogate
        # would become an entity value no request to the action server can carry.
        text = _SURROGATE_ESCAPE.sub("?", text)
        if not is_payload(text):
            # Typed, not a button: Rasa would try it as an intent and log it whole.
            text = text.lstrip("/ ") or text
    return text


def is_payload(text: str) -> bool:
    """A button's payload: "/intent" or "/intent{...}" with a JSON object."""
    match = _PAYLOAD.fullmatch(text)
    if match is None:
        return False
    if match.group(1) is None:
        return True
    try:
        return isinstance(json.loads(match.group(1)), dict)
    except ValueError:
        return False


def too_long(text: str) -> bool:
    return len(text) > MAX_MESSAGE_CHARS


def crisis_part(text: str) -> Optional[str]:
    """For a message over the limit: a part of it, within the limit, in which the crisis
    rules (bot.safety, the same ones the assistant runs on every turn) find a crisis; None
    when there is none. Crisis detection wins over the length limit too."""
    from bot.safety import default_detector  # spaCy: loaded only for long messages

    detector = default_detector()
    if len(text) > 2 * CRISIS_SCAN_CHARS:  # where people say it: at the start or the end
        text = text[:CRISIS_SCAN_CHARS] + "\n" + text[-CRISIS_SCAN_CHARS:]
    found = detector.detect(text)
    if found is None:
        return None
    # Most often the matched words are found as typed: the window around them.
    at = text.lower().find(found.matched.lower()) if found.matched else -1
    if at >= 0:
        start = max(0, at - MAX_MESSAGE_CHARS // 2)
        window = text[start : start + MAX_MESSAGE_CHARS]
        if detector.detect(window) is not None:
            return window
    step = MAX_MESSAGE_CHARS // 2  # overlapping windows: a sentence on a border is whole in one
    for start in range(0, max(len(text) - step, 1), step):
        window = text[start : start + MAX_MESSAGE_CHARS]
        if detector.detect(window) is not None:
            return window
    return None


def cap_request_bodies(bp: Blueprint) -> None:
    """Cap every request body of the Rasa server (its HTTP API included) at MAX_BODY_BYTES;
    Sanic's default is 100 MB. Set before the server starts: each connection reads it."""

    @bp.listener("before_server_start")
    async def cap(app: Sanic, _loop: object) -> None:
        app.config.REQUEST_MAX_SIZE = min(app.config.REQUEST_MAX_SIZE, MAX_BODY_BYTES)


def failure(exc: BaseException) -> str:
    """An exception for the log: its type and its cause's, never its text (it may quote
    what the person typed)."""
    cause = exc.__cause__ or exc.__context__
    return type(exc).__name__ + (f" (from {type(cause).__name__})" if cause else "")


def may_pass(conversation_id: str, text: str, address: Optional[str] = None) -> bool:
    """Whether a chat message goes on under the message limits per conversation and per
    client address (bot.limits.allow_message, which fails open; an address of None is not
    counted). One that speaks of a crisis always does: the crisis answer wins over every
    limit."""
    from bot.limits import allow_message

    if allow_message(conversation_id, address):
        return True
    from bot.safety import default_detector

    return default_detector().detect(text) is not None


def client_address(request: Any, development: bool) -> Optional[str]:
    """The chat client's address, for the per-address message limit; None when it is not
    known, and then it is not counted per address. `request` is the Sanic request the socket
    connected with (python-engineio puts it in the environ as "sanic.request").

    - Behind the proxy, SANIC_FORWARDED_SECRET is set, and deploy/haproxy.cfg sends the same
      secret in the Forwarded header it writes (a client's own Forwarded header is dropped):
      the address the proxy vouches for (`vouched_address`). A request without the secret
      did not come through the proxy: None. Its forwarding headers are never read, whatever
      they say.
    - Without the secret: the connection's peer in development (`make run`, no proxy);
      elsewhere None, since behind a proxy the peer is the proxy, one address for every
      person (the channel warns at start-up).
    """
    if request is None:
        return None
    config = request.app.config
    secret = config.get("FORWARDED_SECRET")
    if secret:
        return vouched_address(request.headers, str(secret), config.get("PROXIES_COUNT"))
    return (request.ip or None) if development else None


def vouched_address(headers: Any, secret: str, proxies_count: Any = None) -> Optional[str]:
    """The client's address as the proxy that knows `secret` gives it; None when no
    Forwarded element carries the secret (the request did not come through the proxy).

    By default, the `for` of that element (HAProxy writes `for="<its peer>"`). With
    SANIC_PROXIES_COUNT=n, n proxies each appended what they saw to X-Forwarded-For, HAProxy
    last (`option forwardfor`): the n-th entry from the right, which a client cannot
    push aside by sending entries of its own (they come first)."""
    vouched = parse_forwarded(headers, SimpleNamespace(FORWARDED_SECRET=secret))
    if not vouched:
        return None
    count = int(proxies_count or 0)
    if count > 0:
        entries = [
            p.strip()
            for h in headers.getall("x-forwarded-for", [])
            for p in h.split(",")
            if p.strip()
        ]
        address = entries[-count] if len(entries) >= count else None
    else:
        address = vouched.get("for")
    if not isinstance(address, str):
        return None
    address = address.strip()
    if address.startswith("[") and address.endswith("]"):  # an IPv6 address, bracketed
        address = address[1:-1]
    return address or None
