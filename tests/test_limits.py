"""bot.limits: counts hit and released in the app database (SQLite, PostgreSQL, on an
injected clock) and in Redis (short windows); what each use counts; and, without the
servers, the insurance check, booking look-ups and console sign-ins over their limits.
(tests/test_e2e_limits.py does the insurance check and a booking lock through the servers.)"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import consent, limits
from bot.config import RATE_LIMIT_DEFAULTS, ConfigError, settings
from bot.console import accounts
from bot.flows.coverage import CoverageFlow
from bot.flows.engine import Context, Engine
from bot.flows.manage_booking import ManageBookingFlow
from bot.profile import load_profile
from bot.store import session, utcnow
from tests.conftest import scratch_postgres

PROFILE = load_profile()
T0 = utcnow()
REDIS_URL = "redis://127.0.0.1:6379/7"


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture()
def postgres_url(monkeypatch):
    with scratch_postgres("limits") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, monkeypatch):
    monkeypatch.delenv("RATE_LIMIT_REDIS_URL", raising=False)
    return request.getfixturevalue("db_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture()
def redis_counts(monkeypatch, db_url):
    if not _reachable(6379):
        pytest.skip("Redis (6379) is needed")
    monkeypatch.setenv("RATE_LIMIT_REDIS_URL", REDIS_URL)
    return limits.counter()


def limit(monkeypatch, spec: str) -> None:
    monkeypatch.setenv("RATE_LIMITS", spec)


def conversation() -> str:
    return f"conv-{secrets.token_hex(6)}"


# --- the limiter ---------------------------------------------------------------------------


def test_a_limit_is_hit_and_released_in_the_database(database, monkeypatch):
    limit(monkeypatch, "coverage_checks_per_conversation=3/60s")
    items = limits.coverage_checks(conversation())
    for _ in range(10):  # looking counts nothing
        assert limits.check(items, T0, database)
    assert [bool(limits.take(items, T0 + timedelta(seconds=i), database)) for i in range(3)] == [
        True,
        True,
        True,
    ]
    refused = limits.take(items, T0 + timedelta(seconds=5), database)
    assert not refused and refused.limit == "coverage_checks_per_conversation"
    assert refused.retry_after == pytest.approx(55, abs=0.01)  # from the first check
    assert not limits.check(items, T0 + timedelta(seconds=59.9), database)
    # The window closes 60 s after it opened: a new one starts at 1.
    assert limits.take(items, T0 + timedelta(seconds=60), database)
    assert limits.take(items, T0 + timedelta(seconds=61), database)
    assert limits.take(items, T0 + timedelta(seconds=62), database)
    assert not limits.take(items, T0 + timedelta(seconds=63), database)


@pytest.mark.parametrize("name", sorted(RATE_LIMIT_DEFAULTS))
def test_every_limit_is_hit_and_released_through_its_builder(name, db_url, monkeypatch):
    limit(monkeypatch, f"{name}=2/60s")
    who, address = conversation(), "192.0.2.44"
    items = {
        "messages": limits.messages(who, address),
        "coverage_checks": limits.coverage_checks(who, address),
        "booking_proof": limits.booking_proofs(who, "APT-7KQ2M-8XDPR", address),
        "console_login": limits.console_logins(address),
    }[
        next(
            k
            for k in ("messages", "coverage_checks", "booking_proof", "console_login")
            if name.startswith(k)
        )
    ]
    assert name in [n for n, _ in items]
    assert limits.count(items, T0, db_url)
    refused = limits.count(items, T0 + timedelta(seconds=1), db_url)
    assert not refused and refused.limit == name
    assert not limits.check(items, T0 + timedelta(seconds=59), db_url)
    assert limits.check(items, T0 + timedelta(seconds=60), db_url)


def test_a_limit_is_hit_and_released_in_redis(redis_counts, monkeypatch, db_url):
    limit(monkeypatch, "coverage_checks_per_conversation=2/1s")
    items = limits.coverage_checks(conversation())
    assert limits.take(items) and limits.take(items)
    refused = limits.take(items)
    assert not refused and 0 < refused.retry_after <= 1
    assert not limits.check(items)
    time.sleep(1.1)
    assert limits.check(items) and limits.take(items)
    # Nothing went to the app database.
    with session(db_url) as s:
        assert s.execute(select(limits.RateCount)).all() == []


def test_counts_are_kept_under_a_keyed_hash_never_the_id_or_address(database, monkeypatch):
    who, address = conversation(), "203.0.113.77"
    limits.take(limits.coverage_checks(who, address), db_url=database)
    limits.count(limits.booking_proofs(who, "APT-7KQ2M-8XDPR", address), db_url=database)
    with session(database) as s:
        rows = s.execute(select(limits.RateCount.bucket)).scalars().all()
    assert len(rows) == 6  # 3 coverage (conversation, address, overall) + 3 booking
    for stored in rows:
        assert len(stored) == 64 and int(stored, 16) >= 0
        for secret in (who, address, "7KQ2M", "coverage"):
            assert secret not in stored


def test_redis_keys_hold_no_id_or_address(redis_counts):
    import redis

    who, address = conversation(), "203.0.113.78"
    limits.take(limits.coverage_checks(who, address))
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).keys("iop:limit:*")]
    assert keys and not [k for k in keys if who in k or address in k]


def test_each_who_counts_apart_and_the_overall_limit_counts_everyone(db_url, monkeypatch):
    limit(monkeypatch, "coverage_checks_per_conversation=2/1h,coverage_checks_overall=3/1h")
    a, b, c, d = (conversation() for _ in range(4))
    assert limits.take(limits.coverage_checks(a), T0, db_url)
    assert limits.take(limits.coverage_checks(a), T0, db_url)
    assert not limits.take(limits.coverage_checks(a), T0, db_url)  # a: its own limit
    assert limits.take(limits.coverage_checks(b), T0, db_url)  # b: its own count
    refused = limits.take(limits.coverage_checks(c), T0, db_url)
    assert not refused and refused.limit == "coverage_checks_overall"
    assert limits.take(limits.coverage_checks(d), T0 + timedelta(hours=1), db_url)


def test_racing_events_never_pass_the_limit(database, monkeypatch):
    limit(monkeypatch, "coverage_checks_overall=5/1h")
    limits.check(limits.coverage_checks("warm-up"), T0, database)  # migrate before the race
    results = []
    start = threading.Barrier(20)

    def one(i: int) -> None:
        start.wait()
        results.append(bool(limits.take(limits.coverage_checks(f"racer-{i}"), T0, database)))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 15 + [True] * 5


def test_an_address_nobody_gave_is_not_counted_and_ipv6_counts_by_its_64(db_url, monkeypatch):
    limit(monkeypatch, "console_login_failures_per_address=1/1h")
    assert limits.console_logins(None) == [("console_login_failures_per_address", None)]
    limits.count(limits.console_logins(None), T0, db_url)
    assert limits.check(limits.console_logins(None), T0, db_url)
    assert limits.address_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert limits.address_key("::ffff:198.51.100.4") == "198.51.100.4"
    assert limits.address_key(" 198.51.100.4 ") == "198.51.100.4"
    limits.count(limits.console_logins("2001:db8:1:2::7"), T0, db_url)
    assert not limits.check(limits.console_logins("2001:db8:1:2:ffff::9"), T0, db_url)
    assert limits.check(limits.console_logins("2001:db8:1:3::7"), T0, db_url)


def test_limits_are_settings_checked_on_load(monkeypatch):
    assert settings({}).rate_limit("coverage_checks_per_conversation") == (4, 86400.0)
    s = settings({"RATE_LIMITS": "booking_proof_failures_per_booking=3/15m"})
    assert s.rate_limit("booking_proof_failures_per_booking") == (3, 900.0)
    with pytest.raises(ConfigError, match="RATE_LIMITS: unknown limit 'coverage_check'"):
        settings({"RATE_LIMITS": "coverage_check=3/1h"})
    with pytest.raises(ConfigError, match="RATE_LIMITS: 'messages_per_address=9' is not"):
        settings({"RATE_LIMITS": "messages_per_address=9"})


# --- messages: what the channels call --------------------------------------------------


def test_messages_per_conversation_and_per_address(db_url, monkeypatch):
    limit(monkeypatch, "messages_per_conversation=3/60s,messages_per_address=5/60s")
    one, two, address = conversation(), conversation(), "198.51.100.9"
    assert all(limits.allow_message(one, address, T0, db_url) for _ in range(3))
    refused = limits.allow_message(one, address, T0, db_url)
    assert not refused and refused.limit == "messages_per_conversation"
    # Another conversation has its own count, but the address is full after 5 (a refused
    # message is not counted).
    assert limits.allow_message(two, address, T0, db_url)
    assert limits.allow_message(two, address, T0, db_url)
    refused = limits.allow_message(two, address, T0, db_url)
    assert not refused and refused.limit == "messages_per_address"
    assert limits.allow_message(two, "198.51.100.10", T0, db_url)  # another address
    assert limits.allow_message(one, address, T0 + timedelta(seconds=60), db_url)  # released


def test_messages_pass_when_the_counts_cannot_be_reached(monkeypatch, caplog, db_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("RATE_LIMIT_REDIS_URL", f"redis://127.0.0.1:{closed}/0")
    with caplog.at_level(logging.WARNING):
        assert limits.allow_message("conv-typed-555-0187", "198.51.100.11")
    assert "message limit not checked: ConnectionError" in caplog.text
    assert "555-0187" not in caplog.text and "198.51.100.11" not in caplog.text
    # Elsewhere a store failure is an error (the action answers kindly; nothing is called).
    with pytest.raises(Exception, match="Connect"):
        limits.take(limits.coverage_checks("conv-x"))


# --- the insurance check, booking look-ups and console sign-ins ----------------------------


JANE = ["Aetna", "PPO", "AETNA12345", "my own", "Jane", "Doe", "04/04/2004"]


def coverage_engine(db_url: str, who: str):
    consent.record(who, db_url)
    return Engine({"coverage": CoverageFlow()}), Context(who, PROFILE, db_url=db_url)


def test_a_new_insurance_check_over_the_limit_asks_nothing_and_offers_a_coordinator(
    db_url, monkeypatch
):
    limit(monkeypatch, "coverage_checks_per_conversation=1/1s")
    who = conversation()
    engine, ctx = coverage_engine(db_url, who)
    assert limits.take(limits.coverage_checks(who), db_url=db_url)  # one check was made
    turn = engine.start("coverage", ctx)
    said = " ".join(r.text for r in turn.say)
    assert not turn.active and "can't run another insurance check" in said
    assert PROFILE.facts.program.phone in said and turn.say[-1].buttons
    assert engine.current(ctx) is None
    time.sleep(1.1)
    turn = engine.start("coverage", ctx)
    assert turn.active and engine.current(ctx)[0].key == "coverage.insurer"


def test_the_check_itself_is_refused_before_any_call(db_url, monkeypatch):
    from bot.coverage import checks_for
    from bot.flows import coverage as coverage_flow

    # Were the insurer called, this address would answer with an error, not the limit.
    monkeypatch.setenv("CLEARINGHOUSE_URL", "http://127.0.0.1:9/")
    coverage_flow._client.cache_clear()
    limit(monkeypatch, "coverage_checks_overall=2/1h")
    who = conversation()
    engine, ctx = coverage_engine(db_url, who)
    engine.start("coverage", ctx)
    for answer in JANE[:-1]:
        assert engine.handle(answer, "", 0.0, ctx).active
    limits.take(limits.coverage_checks("someone else"), db_url=db_url)
    limits.take(limits.coverage_checks("and another"), db_url=db_url)
    turn = engine.handle(JANE[-1], "", 0.0, ctx)
    assert not turn.active
    assert "can't run another insurance check" in turn.say[0].text
    assert checks_for(who, db_url) == []  # no clearinghouse call was made or recorded
    coverage_flow._client.cache_clear()


@pytest.fixture()
def booked(db_url):
    """A booking in the built-in scheduler and how to look it up in a new conversation."""
    from bot import scheduling

    sched = scheduling.scheduler_from_env(PROFILE.facts.intake, db_url)
    request = scheduling.BookingRequest(
        conversation_id="conv-booked",
        name="Jordan Rivers",
        phone="+15125550142",
        dob=None,
        contact_consent=[],
    )
    booking = sched.book(sched.available(utcnow(), limit=1)[0], request)
    engine = Engine({"reschedule": ManageBookingFlow("reschedule")})

    def look_up(who: str, proof: str, code: str = booking.code) -> str:
        ctx = Context(who, PROFILE, db_url=db_url, metadata={"timezone": "America/Chicago"})
        engine.start("reschedule", ctx)
        engine.handle(code, "", 0.0, ctx)
        turn = engine.handle(proof, "", 0.0, ctx)
        asked = engine.current(ctx)
        return " ".join(r.text for r in turn.say) + (f" [{asked[0].key}]" if asked else "")

    return booking, look_up


def test_a_booking_locks_after_repeated_wrong_details_even_for_the_right_ones(booked, monkeypatch):
    booking, look_up = booked
    limit(monkeypatch, "booking_proof_failures_per_booking=3/2s")
    assert "couldn't find" in look_up("conv-a", "(512) 555-0199")
    assert "couldn't find" in look_up("conv-b", "(512) 555-0198")
    locked = look_up("conv-c", "(512) 555-0197")  # the third failure locks it
    assert "can't look this one up right now" in locked
    assert PROFILE.facts.program.phone in locked and PROFILE.facts.program.email in locked
    assert "can't look this one up" in look_up("conv-d", "(512) 555-0142")  # right, locked
    # A code that does not exist locks the same way (no hint that this one does).
    for who in ("conv-e", "conv-f", "conv-g"):
        said = look_up(who, "(512) 555-0142", code="APT-ZZZZZ-ZZZZZ")
    assert "can't look this one up right now" in said
    time.sleep(2.1)
    found = look_up("conv-h", "(512) 555-0142")
    assert "couldn't" not in found and "can't" not in found and "[" in found, found


def test_one_conversation_gets_a_few_wrong_details_across_new_look_ups(booked, db_url, monkeypatch):
    _, look_up = booked
    limit(monkeypatch, "booking_proof_failures_per_conversation=3/2s")
    assert "once more" in look_up("conv-x", "(512) 555-0199")
    # The flow ends after two misses; started again, the third miss is the limit.
    assert "still couldn't find" in look_up("conv-x", "(512) 555-0198")
    assert "can't look this one up" in look_up("conv-x", "(512) 555-0197")
    assert "can't look this one up" in look_up("conv-x", "(512) 555-0142")
    assert "can't" not in look_up("conv-y", "(512) 555-0142")  # another conversation
    time.sleep(2.1)
    assert "can't" not in look_up("conv-x", "(512) 555-0142")


@pytest.mark.parametrize(
    "typed",
    [
        "APT-7KQ2M-8XDPR",
        "my code is apt 7kq2m 8xdpr",
        "it's 7kq2m-8xdpr",
        "APT7KQ2M8XDPR.",
        "7KQ2M-8XDPR",
        "APT-7KQ2M",
        "code APT 7KQ2M",
    ],
)
def test_new_and_old_codes_are_read_from_the_answer(typed):
    from bot.dialog import Question
    from bot.scheduling.core import normalise_code

    flow = ManageBookingFlow("cancel")
    value = flow.parse(Question("manage.code", ""), typed, {}, None)
    assert normalise_code(value, "APT") in ("APT-7KQ2M-8XDPR", "APT-7KQ2M")


def test_console_sign_ins_are_limited_per_address(db_url, monkeypatch):
    limit(monkeypatch, "console_login_failures_per_address=3/2s")
    accounts.add_coordinator("alex@clinic.org", "Alex", "a long enough password", db_url=db_url)
    guesser, colleague = "198.51.100.20", "198.51.100.21"
    for email in ("alex@clinic.org", "sam@clinic.org", "kim@clinic.org"):
        with pytest.raises(accounts.SignInFailed):
            accounts.sign_in(email, "wrong password!", db_url, guesser)
    with pytest.raises(accounts.SignInFailed):  # the right password, from that address
        accounts.sign_in("alex@clinic.org", "a long enough password", db_url, guesser)
    assert accounts.sign_in("alex@clinic.org", "a long enough password", db_url, colleague)
    time.sleep(2.1)
    assert accounts.sign_in("alex@clinic.org", "a long enough password", db_url, guesser)
