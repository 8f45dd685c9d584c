"""Coordinator accounts: passwords (argon2id), sign-in with lockout, sessions, CSRF, audit.

There is no default account and no password in any file: accounts are made with
`python -m bot.console add-coordinator EMAIL --name NAME` (password from standard input).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update

from bot import limits
from bot.console.models import ROLES, ConsoleSession, Coordinator
from bot.store import audit as audit_store
from bot.store import session, utcnow
from bot.store.audit import AuditEntry

MIN_PASSWORD_LENGTH = 12
MAX_FAILED_LOGINS = 5  # then the account is locked for LOCKOUT
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)  # one working shift

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the email is unknown, so a wrong email costs the same time as a wrong
# password and the response time does not tell which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A bad account request; the message is safe to show."""


class SignInFailed(Exception):
    """Wrong email or password, or a locked account: one message for all, on purpose."""


@dataclass(frozen=True)
class Person:
    """A signed-in coordinator, as the console needs them (no password hash)."""

    id: int
    email: str
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _person(c: Coordinator) -> Person:
    return Person(id=c.id, email=c.email, name=c.name, role=c.role)


def _normal_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254 or " " in email:
        raise AccountError(f"not an email address: {email!r}")
    return email


def add_coordinator(
    email: str, name: str, password: str, role: str = "coordinator", db_url: Optional[str] = None
) -> Person:
    email = _normal_email(email)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if not (name or "").strip():
        raise AccountError("a name is required (coordinators are introduced by it)")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    with session(db_url) as s:
        if s.execute(select(Coordinator).where(Coordinator.email == email)).scalar():
            raise AccountError(f"an account for {email} already exists")
        c = Coordinator(
            email=email, name=name.strip(), role=role, password_hash=_hasher.hash(password)
        )
        s.add(c)
        s.flush()
        return _person(c)


def sign_in(
    email: str, password: str, db_url: Optional[str] = None, address: Optional[str] = None
) -> Person:
    """The coordinator, or SignInFailed. After MAX_FAILED_LOGINS wrong passwords in a row
    the account is locked for LOCKOUT, even for the right password; and the client address
    (when given) is refused after `console_login_failures_per_address` failed sign-ins of
    any accounts (bot.limits), so one address cannot try passwords across accounts. A
    refusal looks and takes the same as a wrong password."""
    tries = limits.console_logins(address)
    if not limits.check(tries, db_url=db_url):
        _check(_DUMMY_HASH, password)
        raise SignInFailed()
    try:
        return _sign_in(email, password, db_url)
    except SignInFailed:
        limits.count(tries, db_url=db_url)
        raise


def _sign_in(email: str, password: str, db_url: Optional[str]) -> Person:
    """sign_in without the address limit.

    The slow argon2 check runs outside any transaction, and a failure is counted by one
    UPDATE … SET failed_logins = failed_logins + 1, so parallel guesses are all counted
    (SQLite has no row locks) and a flood of them holds no lock while hashing."""
    try:
        email = _normal_email(email)
    except AccountError:
        raise SignInFailed() from None
    with session(db_url) as s:
        c = s.execute(select(Coordinator).where(Coordinator.email == email)).scalar()
        found = None if c is None else (c.id, c.password_hash, c.locked_until)
    if found is None:
        _check(_DUMMY_HASH, password)  # the same time as a wrong password
        raise SignInFailed()
    coordinator_id, password_hash, locked_until = found
    ok = _check(password_hash, password)  # checked even when locked: the same time again
    now = utcnow()
    if locked_until and locked_until > now:
        raise SignInFailed()
    with session(db_url) as s:
        if not ok:
            s.execute(
                update(Coordinator)
                .where(Coordinator.id == coordinator_id)
                .values(failed_logins=Coordinator.failed_logins + 1)
            )
            s.execute(
                update(Coordinator)
                .where(
                    Coordinator.id == coordinator_id,
                    Coordinator.failed_logins >= MAX_FAILED_LOGINS,
                )
                .values(locked_until=now + LOCKOUT, failed_logins=0)
            )
        else:
            c = s.get(Coordinator, coordinator_id)
            c.failed_logins, c.locked_until = 0, None
            if _hasher.check_needs_rehash(c.password_hash):
                c.password_hash = _hasher.hash(password)
            person = _person(c)
    if not ok:
        raise SignInFailed()
    audit(person.id, "signed_in", db_url=db_url)
    return person


def _check(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(person: Person, db_url: Optional[str] = None) -> Tuple[str, str]:
    """A new session: (token for the cookie, CSRF token for the forms)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with session(db_url) as s:
        s.add(
            ConsoleSession(
                token_hash=_digest(token),
                coordinator_id=person.id,
                csrf_token=csrf,
                expires_at=utcnow() + SESSION_LIFETIME,
            )
        )
    return token, csrf


@dataclass(frozen=True)
class SignedIn:
    person: Person
    csrf_token: str
    expires_at: datetime

    def csrf_ok(self, given: Optional[str]) -> bool:
        # Bytes: compare_digest refuses non-ASCII str (a forged header must not be a 500).
        return bool(given) and hmac.compare_digest(self.csrf_token.encode(), (given or "").encode())


def current(token: Optional[str], db_url: Optional[str] = None) -> Optional[SignedIn]:
    """The session a cookie token belongs to, if it exists and has not expired."""
    if not token:
        return None
    with session(db_url) as s:
        row = s.execute(
            select(ConsoleSession, Coordinator)
            .join(Coordinator, Coordinator.id == ConsoleSession.coordinator_id)
            .where(ConsoleSession.token_hash == _digest(token))
        ).first()
        if row is None:
            return None
        sess, c = row
        if sess.expires_at <= utcnow():
            s.delete(sess)
            return None
        return SignedIn(_person(c), sess.csrf_token, sess.expires_at)


def end_session(token: Optional[str], db_url: Optional[str] = None) -> None:
    if not token:
        return
    with session(db_url) as s:
        s.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _digest(token)))


def audit(
    coordinator_id: int,
    action: str,
    conversation_id: Optional[str] = None,
    db_url: Optional[str] = None,
    record: Optional[str] = None,
) -> None:
    """Record who did what to which conversation (the general audit log, bot.store.audit)."""
    audit_store.log(
        action,
        coordinator_id=coordinator_id,
        conversation_id=conversation_id,
        record=record,
        db_url=db_url,
    )


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    email: str  # the coordinator's, or who else acted: "(person)", "(command)", "(retention)"
    action: str
    conversation_id: Optional[str]
    record: Optional[str] = None
    detail: Optional[str] = None


def audit_log(limit: int = 200, db_url: Optional[str] = None) -> List[AuditLine]:
    """The newest audit entries first, for admins."""
    with session(db_url) as s:
        rows = s.execute(
            select(AuditEntry, Coordinator.email)
            .outerjoin(Coordinator, Coordinator.id == AuditEntry.coordinator_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        ).all()
        return [
            AuditLine(
                a.at, email or f"({a.actor})", a.action, a.conversation_id, a.record, a.detail
            )
            for a, email in rows
        ]


def mark_online(
    token: Optional[str], until: Optional[datetime], db_url: Optional[str] = None
) -> None:
    """Record that this session's console is open until `until` (None: closed now)."""
    if not token:
        return
    with session(db_url) as s:
        s.execute(
            update(ConsoleSession)
            .where(ConsoleSession.token_hash == _digest(token))
            .values(online_until=until)
        )
