"""Invitations: how the second partner's conversation joins the first one's.

The first partner gets a link token (256 random bits, for a link that opens the website
chat already linked) and a short code to type (8 characters of Crockford's base32 alphabet,
no I, L, O or U, always a digit: 39.9 bits). Both are stored only as HMAC-SHA256 hashes
keyed with a secret derived from the PHI key, so a copy of the database joins nobody. An
invitation works once, expires (the profile's `couples.invitation_days`, 7 by default) and
can be revoked by the person who made it; making a new one revokes the old.

A reused, expired, revoked, declined, mistyped or guessed code or link all give one outcome,
NOT_VALID, which says nothing about whether a couple or an invitation exists. Failed
attempts are counted (GuessLimits): at most 5 per conversation in any hour (links and codes),
and at most 50 codes in any hour across all conversations (then codes are refused for
everyone until the hour moves on; links, which cannot be guessed, still work). An attempt
over a limit is refused before the code is looked at, so a right guess is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional, Tuple

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store import session, utcnow
from bot.store.crypto import derived_secret

from .models import Couple, CoupleInvitation, CouplePartner, JoinAttempt

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
CODE_LENGTH = 8  # 8 x 5 bits = 40 bits, 39.9 with the digit every code holds
# Letters people type for the digits they look like (Crockford's decoding).
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{4})[ -]?([0-9A-Za-z]{4})(?![0-9A-Za-z])")

# Outcomes of accept_invitation / decline_invitation.
JOINED = "joined"
DECLINED = "declined"
NOT_VALID = "not_valid"  # the one outcome for every bad code or link
TOO_MANY_ATTEMPTS = "too_many_attempts"
OWN_INVITATION = "own_invitation"
ALREADY_IN_COUPLE = "already_in_couple"

# What invitation_status says to the person who made it.
PENDING, ACCEPTED, EXPIRED, REVOKED = "pending", "accepted", "expired", "revoked"


class AlreadyLinked(ValueError):
    """This conversation is already one of a couple: there is nobody left to invite."""


@dataclass(frozen=True)
class GuessLimits:
    per_conversation: int = 5  # failed attempts (link or code) per conversation per window
    overall: int = 50  # failed code attempts per window, all conversations together
    window: timedelta = timedelta(hours=1)


LIMITS = GuessLimits()


@dataclass(frozen=True)
class Invitation:
    """What the first partner passes on. The token and code exist only here (and in what the
    person is shown); the database keeps their hashes."""

    token: str
    code: str  # displayed as XXXX-XXXX
    expires_at: datetime


@dataclass(frozen=True)
class JoinResult:
    outcome: str  # JOINED, DECLINED, NOT_VALID, TOO_MANY_ATTEMPTS, OWN_INVITATION, ...
    couple_id: Optional[int] = None  # when JOINED
    retry_after: Optional[datetime] = None  # when TOO_MANY_ATTEMPTS


def normalize_code(text: str) -> Optional[str]:
    """The code in canonical form (8 characters, upper case, no hyphen), or None when the
    text cannot be a code. Spaces, hyphens, case and O/I/L for 0/1 do not matter."""
    raw = re.sub(r"[\s-]", "", text or "").upper().translate(_LOOKALIKES)
    if len(raw) == CODE_LENGTH and all(ch in ALPHABET for ch in raw):
        return raw
    return None


def find_code(text: str) -> Optional[str]:
    """A code inside a message ("my code is 7kq2-m9xd"), canonical, or None."""
    whole = normalize_code(text)
    if whole:
        return whole
    for match in reversed(list(_CODE_IN_TEXT.finditer(text or ""))):
        typed = match.group(1) + match.group(2)
        # Inside a sentence, two four-letter words ("does this") are not a code: a code
        # typed among words must hold a digit (one typed on its own needs none).
        if any(ch.isdigit() for ch in typed):
            return normalize_code(typed)
    return None


_LINK_IN_TEXT = re.compile(r"#couple=[A-Za-z0-9_\-]+")
# _CODE_IN_TEXT inside a lookahead: every candidate, overlapping ones too.
_CODE_CANDIDATES = re.compile(
    r"(?<![0-9A-Za-z])(?=([0-9A-Za-z]{4})[ -]?([0-9A-Za-z]{4})(?![0-9A-Za-z]))"
)


def hide_invitations(text: str) -> str:
    """The text with any invitation link or code masked. A transcript shown to staff must
    not hand them a live way to join someone's couple. Candidates overlap ("code 7kq2 m9xd"
    holds two), so every one that could be a code is masked, a word too many at worst."""
    text = _LINK_IN_TEXT.sub("#couple=[hidden]", text or "")
    spans = []
    for match in _CODE_CANDIDATES.finditer(text):
        typed = match.group(1) + match.group(2)
        mixed = any(c.isdigit() for c in typed) and any(c.isalpha() for c in typed)
        if mixed and normalize_code(typed):
            spans.append((match.start(1), match.end(2)))
    merged: List[Tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    for start, end in reversed(merged):
        text = text[:start] + "[invitation code]" + text[end:]
    return text


def new_code() -> str:
    """A random code that holds a digit, so one typed inside a sentence is found (find_code);
    about 1 in 20 draws has none and is drawn again (39.9 bits)."""
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if any(ch.isdigit() for ch in code):
            return code


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _digest(kind: str, secret: str) -> str:
    key = derived_secret("couple-invitation")
    return hmac.new(key, f"{kind}:{secret}".encode(), hashlib.sha256).hexdigest()


def _invitation_days() -> int:
    from bot.profile import load_profile

    return int(load_profile().facts.couples.invitation_days)


def partner_row(s: Session, conversation_id: str) -> Optional[CouplePartner]:
    return s.execute(
        select(CouplePartner).where(CouplePartner.conversation_id == conversation_id)
    ).scalar()


def create_invitation(
    conversation_id: str,
    now: Optional[datetime] = None,
    days: Optional[int] = None,
    db_url: Optional[str] = None,
) -> Invitation:
    """A new invitation from this conversation (any earlier one still waiting is revoked).
    Raises AlreadyLinked when the conversation is already one of a couple."""
    now = now or utcnow()
    expires_at = now + timedelta(days=days or _invitation_days())
    for _ in range(3):  # a code equal to an earlier one (1 in 2**40): draw again
        token = secrets.token_urlsafe(32)
        code = new_code()
        try:
            with session(db_url) as s:
                if partner_row(s, conversation_id) is not None:
                    raise AlreadyLinked("this conversation is already linked with a partner")
                _revoke_pending(s, conversation_id, now)
                s.add(
                    CoupleInvitation(
                        inviter_conversation_id=conversation_id,
                        token_hash=_digest("token", token),
                        code_hash=_digest("code", code),
                        status=PENDING,
                        created_at=now,
                        expires_at=expires_at,
                    )
                )
            return Invitation(token=token, code=display_code(code), expires_at=expires_at)
        except IntegrityError:
            continue
    raise RuntimeError("could not store a new invitation")


def _revoke_pending(s: Session, conversation_id: str, now: datetime) -> int:
    done = s.execute(
        update(CoupleInvitation)
        .where(
            CoupleInvitation.inviter_conversation_id == conversation_id,
            CoupleInvitation.status == PENDING,
        )
        .values(status=REVOKED, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0)


def revoke_invitation(
    conversation_id: str, now: Optional[datetime] = None, db_url: Optional[str] = None
) -> bool:
    """Revoke this conversation's invitation if one is waiting; True when one was."""
    now = now or utcnow()
    with session(db_url) as s:
        live = s.execute(
            select(CoupleInvitation.id).where(
                CoupleInvitation.inviter_conversation_id == conversation_id,
                CoupleInvitation.status == PENDING,
                CoupleInvitation.expires_at > now,
            )
        ).first()
        _revoke_pending(s, conversation_id, now)
        return live is not None


def invitation_status(
    conversation_id: str, now: Optional[datetime] = None, db_url: Optional[str] = None
) -> Optional[str]:
    """For the person who invited, about their newest invitation: pending, accepted, expired,
    declined or revoked (None: they never made one). Nothing about who used it."""
    now = now or utcnow()
    with session(db_url) as s:
        row = s.execute(
            select(CoupleInvitation.status, CoupleInvitation.expires_at)
            .where(CoupleInvitation.inviter_conversation_id == conversation_id)
            .order_by(CoupleInvitation.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    status, expires_at = row
    return EXPIRED if status == PENDING and expires_at <= now else str(status)


def may_go_on_alone(
    conversation_id: str, now: Optional[datetime] = None, db_url: Optional[str] = None
) -> bool:
    """True when this person goes on as an individual: not linked with a partner, and no
    invitation of theirs still waiting (it expired, was declined or revoked, or there was
    none). Either partner may go on alone; the first partner is told kindly
    (texts.yml invitation.go_on_alone)."""
    with session(db_url) as s:
        if partner_row(s, conversation_id) is not None:
            return False
    return invitation_status(conversation_id, now, db_url) != PENDING


def accept_invitation(
    conversation_id: str,
    code: Optional[str] = None,
    token: Optional[str] = None,
    now: Optional[datetime] = None,
    limits: GuessLimits = LIMITS,
    db_url: Optional[str] = None,
) -> JoinResult:
    """Join the couple of whoever made the invitation, by its code (as typed) or its link
    token. JOINED with the couple's id, or one of NOT_VALID, TOO_MANY_ATTEMPTS (with
    retry_after), OWN_INVITATION, ALREADY_IN_COUPLE."""
    return _redeem(conversation_id, code, token, JOINED, now or utcnow(), limits, db_url)


def decline_invitation(
    conversation_id: str,
    code: Optional[str] = None,
    token: Optional[str] = None,
    now: Optional[datetime] = None,
    limits: GuessLimits = LIMITS,
    db_url: Optional[str] = None,
) -> JoinResult:
    """The second partner says no: the invitation stops working and its maker may go on
    alone. DECLINED, or the same failures as accept_invitation."""
    return _redeem(conversation_id, code, token, DECLINED, now or utcnow(), limits, db_url)


def _redeem(
    conversation_id: str,
    code: Optional[str],
    token: Optional[str],
    action: str,
    now: datetime,
    limits: GuessLimits,
    db_url: Optional[str],
) -> JoinResult:
    if (code is None) == (token is None):
        raise ValueError("give either a code or a link token")
    by_code = code is not None
    if by_code:
        canonical = normalize_code(code or "")
        digest = _digest("code", canonical) if canonical else None
    else:
        digest = _digest("token", token or "")
    try:
        with session(db_url) as s:
            if partner_row(s, conversation_id) is not None:
                return JoinResult(ALREADY_IN_COUPLE)
            wait = _refused_until(s, conversation_id, by_code, now, limits)
            if wait is not None:
                return JoinResult(TOO_MANY_ATTEMPTS, retry_after=wait)
            column = CoupleInvitation.code_hash if by_code else CoupleInvitation.token_hash
            found = (
                s.execute(select(CoupleInvitation).where(column == digest)).scalar()
                if digest
                else None
            )
            if found is not None and found.inviter_conversation_id == conversation_id:
                return JoinResult(OWN_INVITATION)
            if found is None or found.status != PENDING or found.expires_at <= now:
                return _failed(s, conversation_id, by_code, now)
            # Single use under concurrency: only one UPDATE finds it still pending.
            claimed = s.execute(
                update(CoupleInvitation)
                .where(CoupleInvitation.id == found.id, CoupleInvitation.status == PENDING)
                .values(status=ACCEPTED if action == JOINED else DECLINED, closed_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return _failed(s, conversation_id, by_code, now)
            if action == DECLINED:
                return JoinResult(DECLINED)
            couple = Couple(status="linked", created_at=now, updated_at=now)
            s.add(couple)
            s.flush()
            s.add_all(
                [
                    CouplePartner(
                        couple_id=couple.id,
                        conversation_id=found.inviter_conversation_id,
                        role="inviter",
                        joined_at=now,
                    ),
                    CouplePartner(
                        couple_id=couple.id,
                        conversation_id=conversation_id,
                        role="invitee",
                        joined_at=now,
                    ),
                ]
            )
            s.execute(
                update(CoupleInvitation)
                .where(CoupleInvitation.id == found.id)
                .values(couple_id=couple.id)
                .execution_options(synchronize_session=False)
            )
            _revoke_pending(s, conversation_id, now)  # the joiner's own invitation, if any
            s.flush()  # the UNIQUE conversation_id fails here if either joined elsewhere
            return JoinResult(JOINED, couple_id=couple.id)
    except IntegrityError:
        # The inviter was linked with someone else at this very moment: for this person the
        # invitation no longer works, as for any used one.
        return JoinResult(NOT_VALID)


def _failed(s: Session, conversation_id: str, by_code: bool, now: datetime) -> JoinResult:
    s.add(JoinAttempt(at=now, conversation_id=conversation_id, by_code=by_code))
    # Attempts older than a day count for nothing any more.
    s.execute(delete(JoinAttempt).where(JoinAttempt.at < now - timedelta(days=1)))
    return JoinResult(NOT_VALID)


def _refused_until(
    s: Session, conversation_id: str, by_code: bool, now: datetime, limits: GuessLimits
) -> Optional[datetime]:
    """When this attempt would be refused: the time the limit it hits frees up; else None."""
    since = now - limits.window
    mine = s.execute(
        select(JoinAttempt.at)
        .where(JoinAttempt.conversation_id == conversation_id, JoinAttempt.at > since)
        .order_by(JoinAttempt.at)
    ).scalars()
    waits: List[datetime] = []
    until = _frees_at(list(mine), limits.per_conversation, limits.window)
    if until:
        waits.append(until)
    if by_code:
        everyone = s.execute(
            select(JoinAttempt.at)
            .where(JoinAttempt.by_code.is_(True), JoinAttempt.at > since)
            .order_by(JoinAttempt.at)
        ).scalars()
        until = _frees_at(list(everyone), limits.overall, limits.window)
        if until:
            waits.append(until)
    return max(waits) if waits else None


def _frees_at(failures: List[datetime], limit: int, window: timedelta) -> Optional[datetime]:
    # With n >= limit failures in the window (oldest first), the count falls below the limit
    # when failure n - limit leaves the window.
    if len(failures) < limit:
        return None
    return failures[len(failures) - limit] + window
