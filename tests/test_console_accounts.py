"""Coordinator accounts: hashing, sign-in with lockout, sessions, CSRF, the audit trail and
the add-coordinator command."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.console import accounts
from bot.console.accounts import (
    AccountError,
    SignInFailed,
    add_coordinator,
    audit,
    audit_log,
    current,
    end_session,
    sign_in,
    start_session,
)
from bot.console.models import ConsoleSession, Coordinator
from bot.store import session

PASSWORD = "correct horse battery"


def test_an_account_stores_only_an_argon2_hash(db_url):
    person = add_coordinator("Alex@Example.org ", "Alex", PASSWORD)
    assert person.email == "alex@example.org" and person.role == "coordinator"
    with session() as s:
        stored = s.execute(select(Coordinator)).scalar_one()
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


@pytest.mark.parametrize(
    "email, name, password, role, message",
    [
        ("alex", "Alex", PASSWORD, "coordinator", "not an email"),
        ("alex@example.org", "", PASSWORD, "coordinator", "name"),
        ("alex@example.org", "Alex", "short", "coordinator", "at least 12"),
        ("alex@example.org", "Alex", PASSWORD, "root", "role"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(db_url, email, name, password, role, message):
    with pytest.raises(AccountError, match=message):
        add_coordinator(email, name, password, role)


def test_one_account_per_email(db_url):
    add_coordinator("alex@example.org", "Alex", PASSWORD)
    with pytest.raises(AccountError, match="already exists"):
        add_coordinator("ALEX@example.org", "Alex Again", PASSWORD)


def test_sign_in_with_the_right_password_only(db_url):
    add_coordinator("alex@example.org", "Alex", PASSWORD, role="admin")
    person = sign_in("alex@example.org", PASSWORD)
    assert person.name == "Alex" and person.is_admin
    for email, password in (("alex@example.org", "wrong password!"), ("nobody@x.org", PASSWORD)):
        with pytest.raises(SignInFailed):
            sign_in(email, password)


def test_repeated_failures_lock_the_account_even_for_the_right_password(db_url, monkeypatch):
    add_coordinator("alex@example.org", "Alex", PASSWORD)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with pytest.raises(SignInFailed):
            sign_in("alex@example.org", "guess guess guess")
    with pytest.raises(SignInFailed):
        sign_in("alex@example.org", PASSWORD)
    # After the lockout the right password works again, and resets the count.
    later = accounts.utcnow() + accounts.LOCKOUT + timedelta(seconds=1)
    monkeypatch.setattr(accounts, "utcnow", lambda: later)
    assert sign_in("alex@example.org", PASSWORD).email == "alex@example.org"


def test_a_session_is_found_by_its_token_until_it_ends_or_expires(db_url, monkeypatch):
    person = add_coordinator("alex@example.org", "Alex", PASSWORD)
    token, csrf = start_session(person)
    signed_in = current(token)
    assert signed_in and signed_in.person == person
    assert signed_in.csrf_ok(csrf) and not signed_in.csrf_ok("forged") and not signed_in.csrf_ok("")
    with session() as s:  # only the token's hash is stored
        assert token not in [r.token_hash for r in s.execute(select(ConsoleSession)).scalars()]
    assert current("not-a-token") is None and current(None) is None
    end_session(token)
    assert current(token) is None

    token, _ = start_session(person)
    later = accounts.utcnow() + accounts.SESSION_LIFETIME + timedelta(seconds=1)
    monkeypatch.setattr(accounts, "utcnow", lambda: later)
    assert current(token) is None


def test_the_audit_trail_lists_who_opened_what_newest_first(db_url):
    person = add_coordinator("alex@example.org", "Alex", PASSWORD)
    sign_in("alex@example.org", PASSWORD)
    audit(person.id, "opened", "conv-1")
    lines = audit_log()
    assert [(a.email, a.action, a.conversation_id) for a in lines] == [
        ("alex@example.org", "opened", "conv-1"),
        ("alex@example.org", "signed_in", None),
    ]


def test_add_coordinator_reads_the_password_from_stdin(db_url):
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "bot.console", "add-coordinator", "sam@example.org"]
    done = subprocess.run(
        command + ["--name", "Sam", "--role", "admin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "DATABASE_URL": db_url},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert sign_in("sam@example.org", PASSWORD).is_admin
    again = subprocess.run(
        command + ["--name", "Sam"],
        input="short\n",
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "DATABASE_URL": db_url},
        timeout=60,
    )
    assert again.returncode == 1 and "Not created" in again.stderr


def test_parallel_wrong_passwords_are_all_counted(db_url):
    import threading

    add_coordinator("alex@example.org", "Alex", PASSWORD)
    start = threading.Barrier(8)

    def guess():
        start.wait()
        with pytest.raises(SignInFailed):
            sign_in("alex@example.org", "parallel guess!!")

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pytest.raises(SignInFailed):  # locked: 8 guesses at once passed the limit of 5
        sign_in("alex@example.org", PASSWORD)


def test_a_non_ascii_csrf_value_is_refused_not_an_error(db_url):
    person = add_coordinator("alex@example.org", "Alex", PASSWORD)
    token, csrf = start_session(person)
    assert current(token).csrf_ok("é" * 10) is False
