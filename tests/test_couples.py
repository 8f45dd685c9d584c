"""Couples enrollment's domain core (bot.couples): invitations (single use, expiry with an
injected clock, revoke, decline, self-join, a third person, one outcome for every bad code,
the guessing limits hit and released, a join race on SQLite and PostgreSQL), the
relationship-safety check as data (validation naming the bad key, gate, parsing, scoring,
encrypted at rest), the joint recommendation (the matrix, and that a partner's outcome
depends on the other only through "together"), the flag never in partner-facing output,
and the coordinators' cohort record (audited)."""

from __future__ import annotations

import itertools
import secrets
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot import couples
from bot.couples import (
    ALREADY_IN_COUPLE,
    DECLINED,
    JOINED,
    NOT_VALID,
    OWN_INVITATION,
    TOO_MANY_ATTEMPTS,
    AlreadyLinked,
    CoupleError,
    CouplesContentError,
    GuessLimits,
    JoinResult,
    PartnerState,
    accept_invitation,
    create_invitation,
    decline_invitation,
    find_code,
    invitation_status,
    may_go_on_alone,
    revoke_invitation,
)
from bot.couples.content import SAFETY_PATH, TEXTS_PATH, load_safety, load_texts
from bot.couples.invitations import ALPHABET
from bot.couples.recommend import (
    INDIVIDUAL_FIRST,
    IOP_TOGETHER,
    OWN_PATH,
    WAITING,
    joint_recommendation,
    partner_outcome,
    together,
)
from bot.dialog import SKIPPED, NotUnderstood
from bot.store import crypto, session
from tests.conftest import scratch_postgres

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
LEVELS = [
    "crisis",
    "safety_review",
    "not_eligible",
    "withdrawal_management",
    "higher_level",
    "iop_fit",
    "lower_level",
]


@pytest.fixture()
def phi_key(monkeypatch):
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", Fernet.generate_key().decode())
    crypto.cipher.cache_clear()
    yield
    crypto.cipher.cache_clear()


@pytest.fixture()
def db(db_url, phi_key):
    return db_url


def linked(db, a="conv-a", b="conv-b", now=T0):
    inv = create_invitation(a, now=now, db_url=db)
    result = accept_invitation(b, code=inv.code, now=now, db_url=db)
    assert result.outcome == JOINED
    return result.couple_id


# --- invitations ----------------------------------------------------------------------------


def test_an_invitation_is_a_long_token_and_an_8_character_code_stored_only_as_hashes(db):
    inv = create_invitation("conv-a", now=T0, db_url=db)
    code = inv.code.replace("-", "")
    assert len(code) == 8 and all(ch in ALPHABET for ch in code)
    assert len(ALPHABET) == 32  # 8 x 5 = 40 bits
    assert len(inv.token) >= 43  # 32 random bytes, url-safe
    assert inv.expires_at == T0 + timedelta(days=7)  # the profile's couples.invitation_days
    raw = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        dump = "\n".join(raw.iterdump())
    finally:
        raw.close()
    for secret in (inv.token, code, inv.code, code.lower()):
        assert secret not in dump


def test_the_expiry_comes_from_the_profile(db, tmp_path, monkeypatch):
    profile = yaml.safe_load(Path("bot/profile/program.yml").read_text())
    profile["facts"]["couples"]["invitation_days"] = 3
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    monkeypatch.setenv("PROGRAM_PROFILE", str(path))
    assert create_invitation("conv-a", now=T0, db_url=db).expires_at == T0 + timedelta(days=3)


def test_the_second_partner_joins_by_code_however_it_is_typed(db):
    for n, typed in enumerate(["{}", "{lower}", "{plain}", " {spaced} ", "my code is {}"]):
        inv = create_invitation(f"a{n}", now=T0, db_url=db)
        plain = inv.code.replace("-", "")
        text = typed.format(
            inv.code, lower=inv.code.lower(), plain=plain, spaced=f"{plain[:4]} {plain[4:]}"
        )
        result = accept_invitation(f"b{n}", code=find_code(text) or text, now=T0, db_url=db)
        assert result.outcome == JOINED, typed
        a, b = couples.shared_record(f"a{n}", db), couples.shared_record(f"b{n}", db)
        assert a == b and a.couple_id == result.couple_id and a.status == "linked"


def test_every_code_can_be_found_inside_a_sentence():
    for _ in range(500):  # without a digit, about 1 in 20 would not be
        code = couples.invitations.new_code()
        assert find_code(f"my code is {couples.invitations.display_code(code)}") == code


def test_letters_that_look_like_digits_are_read_as_digits():
    assert couples.invitations.normalize_code("O1LI-0000") == "01110000"
    assert find_code("hello there") is None
    assert find_code("does this work") is None  # two words are not a code
    assert find_code("7kq2 m9xd please") == "7KQ2M9XD"


def test_the_second_partner_joins_by_link(db):
    inv = create_invitation("conv-a", now=T0, db_url=db)
    result = accept_invitation("conv-b", token=inv.token, now=T0, db_url=db)
    assert result.outcome == JOINED
    assert invitation_status("conv-a", now=T0, db_url=db) == "accepted"
    assert couples.couple_id_of("conv-a", db) == couples.couple_id_of("conv-b", db)


def test_an_invitation_works_once_and_a_third_person_cannot_join(db):
    inv = create_invitation("conv-a", now=T0, db_url=db)
    assert accept_invitation("conv-b", code=inv.code, now=T0, db_url=db).outcome == JOINED
    assert accept_invitation("conv-c", code=inv.code, now=T0, db_url=db) == JoinResult(NOT_VALID)
    assert accept_invitation("conv-c", token=inv.token, now=T0, db_url=db) == JoinResult(NOT_VALID)
    assert couples.shared_record("conv-c", db) is None
    # Nor can either partner invite a third: a couple is two.
    with pytest.raises(AlreadyLinked):
        create_invitation("conv-a", now=T0, db_url=db)
    with pytest.raises(AlreadyLinked):
        create_invitation("conv-b", now=T0, db_url=db)
    other = create_invitation("conv-c", now=T0, db_url=db)
    assert accept_invitation("conv-b", code=other.code, now=T0, db_url=db) == JoinResult(
        ALREADY_IN_COUPLE
    )


def test_an_invitation_expires(db):
    inv = create_invitation("conv-a", now=T0, days=7, db_url=db)
    just_before = T0 + timedelta(days=7) - timedelta(seconds=1)
    assert invitation_status("conv-a", now=just_before, db_url=db) == "pending"
    assert not may_go_on_alone("conv-a", now=just_before, db_url=db)
    late = T0 + timedelta(days=7)
    assert accept_invitation("conv-b", code=inv.code, now=late, db_url=db) == JoinResult(NOT_VALID)
    assert invitation_status("conv-a", now=late, db_url=db) == "expired"
    assert may_go_on_alone("conv-a", now=late, db_url=db)
    assert may_go_on_alone("conv-b", now=late, db_url=db)  # the one who tried, too


def test_the_first_partner_can_revoke(db):
    inv = create_invitation("conv-a", now=T0, db_url=db)
    assert revoke_invitation("conv-a", now=T0, db_url=db) is True
    assert revoke_invitation("conv-a", now=T0, db_url=db) is False  # nothing left to revoke
    assert accept_invitation("conv-b", code=inv.code, now=T0, db_url=db) == JoinResult(NOT_VALID)
    assert invitation_status("conv-a", now=T0, db_url=db) == "revoked"
    assert may_go_on_alone("conv-a", now=T0, db_url=db)


def test_only_its_maker_can_revoke_an_invitation(db):
    inv = create_invitation("conv-a", now=T0, db_url=db)
    assert revoke_invitation("conv-b", now=T0, db_url=db) is False
    assert accept_invitation("conv-b", code=inv.code, now=T0, db_url=db).outcome == JOINED


def test_a_new_invitation_replaces_the_old_one(db):
    old = create_invitation("conv-a", now=T0, db_url=db)
    new = create_invitation("conv-a", now=T0, db_url=db)
    assert accept_invitation("conv-b", code=old.code, now=T0, db_url=db) == JoinResult(NOT_VALID)
    assert accept_invitation("conv-b", code=new.code, now=T0, db_url=db).outcome == JOINED


def test_the_second_partner_may_decline_and_the_first_goes_on_alone(db):
    inv = create_invitation("conv-a", now=T0, db_url=db)
    assert decline_invitation("conv-b", code=inv.code, now=T0, db_url=db).outcome == DECLINED
    assert invitation_status("conv-a", now=T0, db_url=db) == "declined"
    assert may_go_on_alone("conv-a", now=T0, db_url=db)
    assert accept_invitation("conv-b", code=inv.code, now=T0, db_url=db) == JoinResult(NOT_VALID)
    assert "own intake" in couples.TEXTS.invitation.go_on_alone


def test_a_partner_cannot_join_their_own_invitation(db):
    inv = create_invitation("conv-a", now=T0, db_url=db)
    for _ in range(8):  # not counted as guesses either
        assert accept_invitation("conv-a", code=inv.code, now=T0, db_url=db) == JoinResult(
            OWN_INVITATION
        )
        assert accept_invitation("conv-a", token=inv.token, now=T0, db_url=db) == JoinResult(
            OWN_INVITATION
        )
    assert couples.shared_record("conv-a", db) is None
    assert invitation_status("conv-a", now=T0, db_url=db) == "pending"
    assert accept_invitation("conv-b", code=inv.code, now=T0, db_url=db).outcome == JOINED


def test_joining_revokes_the_joiners_own_invitation(db):
    theirs = create_invitation("conv-b", now=T0, db_url=db)
    linked(db, "conv-a", "conv-b")
    assert invitation_status("conv-b", now=T0, db_url=db) == "revoked"
    assert accept_invitation("conv-c", code=theirs.code, now=T0, db_url=db) == JoinResult(NOT_VALID)


def test_every_bad_code_gives_the_same_single_outcome(db):
    """Reused, expired, revoked, declined, mistyped, guessed: the same result and text, so
    nothing tells whether a couple or an invitation exists."""
    used = create_invitation("a1", now=T0, db_url=db)
    linked_result = accept_invitation("b1", code=used.code, now=T0, db_url=db)
    assert linked_result.outcome == JOINED
    expired = create_invitation("a2", now=T0 - timedelta(days=8), db_url=db)
    revoked = create_invitation("a3", now=T0, db_url=db)
    revoke_invitation("a3", now=T0, db_url=db)
    declined = create_invitation("a4", now=T0, db_url=db)
    decline_invitation("b4", code=declined.code, now=T0, db_url=db)
    live = create_invitation("a5", now=T0, db_url=db).code.replace("-", "")
    mistyped = live[:-1] + ("0" if live[-1] != "0" else "1")
    tries = {
        "reused": used.code,
        "expired": expired.code,
        "revoked": revoked.code,
        "declined": declined.code,
        "mistyped": mistyped,
        "too short": live[:7],
        "guessed": "".join(secrets.choice(ALPHABET) for _ in range(8)),
    }
    results = {}
    for n, (kind, code) in enumerate(tries.items()):
        results[kind] = accept_invitation(f"x{n}", code=code, now=T0, db_url=db)
    assert set(results.values()) == {JoinResult(NOT_VALID)}, results
    assert {couples.join_reply(r) for r in results.values()} == {
        " ".join(couples.TEXTS.invitation.not_valid.split())
    }
    links = [
        accept_invitation("y1", token=used.token, now=T0, db_url=db),
        accept_invitation("y2", token=expired.token, now=T0, db_url=db),
        accept_invitation("y3", token=secrets.token_urlsafe(32), now=T0, db_url=db),
    ]
    assert set(links) == {JoinResult(NOT_VALID)}


def test_guessing_is_limited_per_conversation_and_released_after_an_hour(db):
    inv = create_invitation("conv-a", now=T0, db_url=db)
    for n in range(5):
        guess = accept_invitation("guesser", code="ZZZZ-ZZZ" + str(n), now=T0, db_url=db)
        assert guess.outcome == NOT_VALID
    # The sixth attempt is refused before the code is looked at: even the right one.
    refused = accept_invitation("guesser", code=inv.code, now=T0 + timedelta(minutes=30), db_url=db)
    assert refused.outcome == TOO_MANY_ATTEMPTS
    assert refused.retry_after == T0 + timedelta(hours=1)
    assert accept_invitation("guesser", token=inv.token, now=T0, db_url=db).outcome == (
        TOO_MANY_ATTEMPTS
    )
    # Other conversations are not held up by one guesser.
    assert accept_invitation("other", code="ZZZZ-ZZZZ", now=T0, db_url=db).outcome == NOT_VALID
    released = accept_invitation("guesser", code=inv.code, now=T0 + timedelta(hours=1), db_url=db)
    assert released.outcome == JOINED


def test_guessing_is_limited_overall_for_codes_but_links_still_work(db):
    limits = GuessLimits(per_conversation=5, overall=3, window=timedelta(hours=1))
    inv = create_invitation("conv-a", now=T0, db_url=db)
    for n in range(3):  # three conversations, one wrong guess each
        result = accept_invitation(f"g{n}", code="ZZZZ-ZZZZ", now=T0, limits=limits, db_url=db)
        assert result.outcome == NOT_VALID
    refused = accept_invitation("conv-b", code=inv.code, now=T0, limits=limits, db_url=db)
    assert refused.outcome == TOO_MANY_ATTEMPTS
    # A link (256 random bits) cannot be guessed: the overall limit does not stop it.
    by_link = accept_invitation("conv-b", token=inv.token, now=T0, limits=limits, db_url=db)
    assert by_link.outcome == JOINED
    inv2 = create_invitation("conv-c", now=T0, db_url=db)
    later = T0 + timedelta(hours=1)
    assert (
        accept_invitation("conv-d", code=inv2.code, now=later, limits=limits, db_url=db).outcome
        == JOINED
    )


def _race(url):
    inv = create_invitation("conv-a", now=T0, db_url=url)
    start = threading.Barrier(10)
    results, errors = [], []

    def join(n):
        try:
            start.wait()
            results.append(accept_invitation(f"racer-{n}", code=inv.code, now=T0, db_url=url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=join, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def test_ten_people_racing_with_one_code_link_one_couple_sqlite(db):
    results, errors = _race(db)
    assert errors == []
    assert sorted(r.outcome for r in results) == [JOINED] + [NOT_VALID] * 9


@pytest.fixture()
def postgres_url(phi_key):
    with scratch_postgres("couples") as url:
        yield url


def test_ten_people_racing_with_one_code_link_one_couple_postgresql(postgres_url):
    results, errors = _race(postgres_url)
    assert errors == []
    assert sorted(r.outcome for r in results) == [JOINED] + [NOT_VALID] * 9


# --- the relationship-safety check as data ------------------------------------------------------


def _edited(tmp_path, source, change):
    data = yaml.safe_load(source.read_text())
    change(data)
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda d: d["items"][2].pop("licence"), "items.2.licence: field required"),
        (lambda d: d["items"][1].update(why_usable=" "), "items.1.why_usable: must not be empty"),
        (lambda d: d["items"][0].update(extra="x"), "items.0.extra: extra fields not permitted"),
        (lambda d: d["items"].append(dict(d["items"][0])), "items: 6.id: duplicate id 'afraid'"),
        (
            lambda d: d["options"][1].update(positive="no"),
            "options.1.positive: value is not a valid boolean",
        ),
        (lambda d: d["gate"].pop("source"), "gate.source: field required"),
        (
            lambda d: d["gate"]["options"][1].update(private=True),
            "gate.options: needs an option with private: true and one with private: false",
        ),
        (
            lambda d: d.update(resources="Call a friend."),
            "resources: must include '1-800-799-7233'",
        ),
        (
            lambda d: d.update(closing="word " * 61),
            "closing: 61 words; a reply may have at most 60",
        ),
    ],
)
def test_a_bad_safety_file_is_refused_naming_the_key(tmp_path, change, named):
    path = _edited(tmp_path, SAFETY_PATH, change)
    with pytest.raises(CouplesContentError) as exc:
        load_safety(path)
    assert str(path) in str(exc.value) or "safety.yml" in str(exc.value)
    assert named in str(exc.value)


@pytest.mark.parametrize(
    "change, named",
    [
        (
            lambda d: d["outcomes"]["waiting"].update(offer=["hug"]),
            "outcomes.waiting.offer.0: unknown offer 'hug'",
        ),
        (lambda d: d["invitation"].pop("not_valid"), "invitation.not_valid: field required"),
        (
            lambda d: d["invitation"].update(created="Your code is {code}."),
            "invitation.created: must include the placeholder {days}",
        ),
        (
            lambda d: d["invitation"]["status"].update(pending="word " * 70),
            "invitation.status.pending: 70 words",
        ),
        (
            lambda d: d["flows"].update(joint_booked="Booked for {time}."),
            "flows.joint_booked: unknown placeholder(s) time (allowed here: when)",
        ),
        (lambda d: d["flows"].pop("linked"), "flows.linked: field required"),
    ],
)
def test_a_bad_texts_file_is_refused_naming_the_key(tmp_path, change, named):
    path = _edited(tmp_path, TEXTS_PATH, change)
    with pytest.raises(CouplesContentError) as exc:
        load_texts(path)
    assert named in str(exc.value)


def test_every_item_says_where_it_comes_from_and_the_resources_are_there():
    content = load_safety()
    assert content.items
    for item in [content.gate, *content.items]:
        assert item.source.strip() and item.licence.strip() and item.why_usable.strip()
    thanks, resources = couples.safety_closing()
    for needed in ("1-800-799-7233", "START to 88788", "911"):
        assert needed in resources


def test_the_private_place_question_comes_first_and_not_now_asks_nothing():
    q = couples.safety_question({})
    assert q.key == couples.SAFETY.gate_key and "private" in q.text and not q.skippable
    later = {q.key: couples.parse_safety_answer(q.key, "Not right now")}
    assert couples.safety_question(later) is None
    result = couples.score_safety(later)
    assert (result.deferred, result.complete, result.flagged) == (True, False, False)
    assert couples.parse_safety_answer(q.key, "no") == "later"
    assert couples.parse_safety_answer(q.key, "yes") == "private"
    with pytest.raises(NotUnderstood):
        couples.parse_safety_answer(q.key, "what is this about?")


def _walk(replies):
    """Answer the check in order with the given replies (the gate answered "I'm alone")."""
    answers = {couples.SAFETY.gate_key: "private"}
    for reply in replies:
        q = couples.safety_question(answers)
        answers[q.key] = reply if reply == SKIPPED else couples.parse_safety_answer(q.key, reply)
    assert couples.safety_question(answers) is None
    return answers


def test_items_come_in_order_with_the_privacy_promise_first():
    answers = {couples.SAFETY.gate_key: "private"}
    first = couples.safety_question(answers)
    assert first.key == couples.SAFETY.item_keys[0]
    assert "never see them" in first.text
    assert [o.title for o in first.options] == ["Yes", "No", "Not sure / rather not say"]


@pytest.mark.parametrize(
    "replies, flagged",
    [
        (["no"] * 6, False),
        (["No", "nope", "never", "not really", "no", "No"], False),
        (["no", "no", "yes", "no", "no", "no"], True),
        (["no", "sometimes", "no", "no", "no", "no"], True),
        (["no", "no", "no", "no", "no", "I'd rather not say"], True),
        (["not sure", "no", "no", "no", "no", "no"], True),
        (["no", "no", "no", SKIPPED, "no", "no"], True),
    ],
)
def test_any_positive_answer_flags(replies, flagged):
    result = couples.score_safety(_walk(replies))
    assert result.complete and not result.deferred
    assert result.flagged is flagged


def test_the_safety_answers_are_encrypted_at_rest_and_only_clinicians_read_them(db):
    from bot.console.accounts import add_coordinator

    couple_id = linked(db)
    couples.save_safety_check("conv-b", _walk(["yes", "no", "no", "no", "no", "no"]), db_url=db)
    raw = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        query = "SELECT conversation_id, result FROM relationship_safety_checks"
        rows = raw.execute(query).fetchall()
    finally:
        raw.close()
    assert len(rows) == 1 and rows[0][0] == "conv-b"
    stored = rows[0][1]
    assert stored.startswith("gAAAA")  # a Fernet token
    for plain in ("flagged", "true", "yes", "afraid", "relationship_safety"):
        assert plain not in stored.lower()
    staff = add_coordinator("lee@clinic.example", "Lee", "a long enough password", db_url=db)
    view = couples.clinician_view(couple_id, staff.id, db_url=db)
    b = next(p for p in view.partners if p.conversation_id == "conv-b")
    a = next(p for p in view.partners if p.conversation_id == "conv-a")
    assert (b.safety_flag, a.safety_flag) == (True, None)
    assert b.safety_answers["relationship_safety.afraid"] == "yes"
    assert any("relationship-safety check positive" in r for r in view.recommendation.reasons)


def test_only_a_finished_check_is_stored(db):
    with pytest.raises(ValueError):
        couples.save_safety_check("conv-a", {couples.SAFETY.gate_key: "later"}, db_url=db)


# --- the joint recommendation -----------------------------------------------------------------

FIT = PartnerState("iop_fit", False)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (FIT, FIT, (IOP_TOGETHER, IOP_TOGETHER)),
        (PartnerState("iop_fit", True), FIT, (INDIVIDUAL_FIRST, INDIVIDUAL_FIRST)),
        (FIT, PartnerState("iop_fit", True), (INDIVIDUAL_FIRST, INDIVIDUAL_FIRST)),
        (FIT, PartnerState("withdrawal_management", False), (INDIVIDUAL_FIRST, OWN_PATH)),
        (FIT, PartnerState("lower_level", False), (INDIVIDUAL_FIRST, OWN_PATH)),
        (PartnerState("higher_level", False), PartnerState("crisis", False), (OWN_PATH, OWN_PATH)),
        (PartnerState("lower_level", True), FIT, (INDIVIDUAL_FIRST, INDIVIDUAL_FIRST)),
        (FIT, PartnerState(None, None), (WAITING, WAITING)),
        (FIT, PartnerState("iop_fit", None), (WAITING, WAITING)),
        (FIT, PartnerState(None, True), (INDIVIDUAL_FIRST, INDIVIDUAL_FIRST)),
        (
            PartnerState("not_eligible", None),
            PartnerState(None, None),
            (OWN_PATH, INDIVIDUAL_FIRST),
        ),
    ],
)
def test_the_joint_recommendation_matrix(a, b, expected):
    assert (partner_outcome(a, b), partner_outcome(b, a)) == expected
    summary = joint_recommendation([a, b])
    assert tuple(summary.outcomes) == expected
    assert (summary.together is True) == (expected == (IOP_TOGETHER, IOP_TOGETHER))


STATES = [PartnerState(level, flag) for level in [None, *LEVELS] for flag in (None, False, True)]


def test_a_partner_learns_of_the_other_only_whether_they_go_on_together():
    """For every state of mine, my outcome is a function of whether we go together and
    whether the other has finished (which "waiting" turning into a step tells anyone): the
    other's level or flag cannot be told apart beyond that."""
    for me in STATES:
        seen = {}
        for other in STATES:
            finished = other.level is not None and other.safety_flag is not None
            key = (together(me, other), finished or bool(other.safety_flag))
            seen.setdefault(key, set()).add(partner_outcome(me, other))
        assert all(len(outcomes) == 1 for outcomes in seen.values()), (me, seen)


def test_my_own_flag_does_not_show_while_the_other_has_not_finished():
    """Said right after the private questions: the same for a flagged and an unflagged
    partner while the other partner has not finished."""
    for level in ("iop_fit", None):
        other = PartnerState(level, None)
        assert partner_outcome(PartnerState("iop_fit", True), other) == partner_outcome(
            PartnerState("iop_fit", False), other
        )


def test_a_flagged_partners_partner_is_told_the_same_as_for_any_other_reason():
    flagged = PartnerState("iop_fit", True)
    for reason in [PartnerState(level, False) for level in LEVELS if level != "iop_fit"]:
        assert partner_outcome(FIT, flagged) == partner_outcome(FIT, reason) == INDIVIDUAL_FIRST


def test_every_outcome_has_its_text():
    for key in couples.OUTCOMES:
        entry = getattr(couples.TEXTS.outcomes, key)
        assert entry.text.strip()
        for word in ("flag", "safety", "violence", "abuse", "your partner's"):
            assert word not in entry.text.lower()


# --- the flag never reaches a partner -----------------------------------------------------------


def screened(db, conversation_id, level):
    """A complete screening at `level` for this conversation (used by the console's tests too)."""
    from bot.screening.models import ScreeningRecord

    with session(db) as s:
        s.add(
            ScreeningRecord(
                conversation_id=conversation_id,
                consent_version="v1",
                consent_at=T0,
                status="complete",
                answers={},
                scores={},
                reasons=[],
                recommendation={},
                level=level,
            )
        )


def _partner_facing(db, conversation_id):
    """Everything a partner-facing path can ask about this conversation."""
    return (
        couples.next_step(conversation_id, db),
        couples.shared_record(conversation_id, db),
        invitation_status(conversation_id, now=T0, db_url=db),
        may_go_on_alone(conversation_id, now=T0, db_url=db),
    )


def _world(db, b_level, b_answers):
    couple_id = linked(db, "conv-a", "conv-b")
    screened(db, "conv-a", "iop_fit")
    screened(db, "conv-b", b_level)
    couples.save_safety_check("conv-a", _walk(["no"] * 6), db_url=db)
    couples.save_safety_check("conv-b", _walk(b_answers), db_url=db)
    return couple_id


def test_the_flag_never_reaches_a_partner(tmp_path, monkeypatch, phi_key):
    """Partner B is flagged in one world and needs another level of care in the other: A's
    partner-facing results are the same in both, and nothing names B or the check."""
    worlds = {}
    for name, b_level, b_answers in [
        ("flagged", "iop_fit", ["no", "yes", "no", "no", "no", "no"]),
        ("other level", "withdrawal_management", ["no"] * 6),
    ]:
        url = f"sqlite:///{tmp_path / (name.replace(' ', '_') + '.db')}"
        monkeypatch.setenv("DATABASE_URL", url)
        couple_id = _world(url, b_level, b_answers)
        a_sees = _partner_facing(url, "conv-a")
        worlds[name] = (a_sees[0], a_sees[2:], a_sees[1].status, a_sees[1].booking_code)
        assert "conv-b" not in repr(a_sees)
        for seen in (a_sees, _partner_facing(url, "conv-b")):
            for word in ("flag", "safety", "violence", "withdrawal", "afraid"):
                assert word not in repr(seen).lower(), (name, word)
        assert couple_id == a_sees[1].couple_id
    assert worlds["flagged"] == worlds["other level"]
    assert worlds["flagged"][0].outcome == INDIVIDUAL_FIRST


def test_together_when_both_fit_and_no_flag(db):
    _world(db, "iop_fit", ["no"] * 6)
    assert couples.next_step("conv-a", db).outcome == IOP_TOGETHER
    assert couples.next_step("conv-b", db).outcome == IOP_TOGETHER
    assert couples.next_step("someone-else", db) is None


# --- the couple's record: cohort, track, joint booking ----------------------------------------


def test_coordinators_set_the_cohort_and_track_audited(db):
    from bot.console.accounts import add_coordinator, audit_log
    from bot.console.models import AuditEntry

    couple_id = linked(db)
    staff = add_coordinator("sam@clinic.example", "Sam", "a long enough password", db_url=db)
    shared = couples.set_cohort(couple_id, staff.id, "  March   evening A ", "evening", db_url=db)
    assert (shared.cohort, shared.track) == ("March evening A", "evening")
    assert couples.shared_record("conv-a", db) == couples.shared_record("conv-b", db) == shared
    with session(db) as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.conversation_id).where(
                AuditEntry.action == "set_couple_cohort"
            )
        ).all()
    assert sorted(rows) == [("set_couple_cohort", "conv-a"), ("set_couple_cohort", "conv-b")]
    assert any(line.action == "set_couple_cohort" for line in audit_log(db_url=db))
    with pytest.raises(CoupleError, match="unknown track 'night' .*morning, evening"):
        couples.set_cohort(couple_id, staff.id, "x", "night", db_url=db)
    with pytest.raises(CoupleError, match="no couple 999"):
        couples.set_cohort(999, staff.id, "x", None, db_url=db)


def test_the_joint_booking_is_shared(db):
    couple_id = linked(db)
    shared = couples.set_joint_booking(couple_id, "K7Q2M9", db_url=db)
    assert shared.status == "booked" and shared.booking_code == "K7Q2M9"
    assert couples.shared_record("conv-b", db).booking_code == "K7Q2M9"


def test_the_clinician_view_is_audited(db):
    from bot.console.accounts import add_coordinator
    from bot.console.models import AuditEntry

    couple_id = _world(db, "iop_fit", ["no"] * 6)
    staff = add_coordinator("kim@clinic.example", "Kim", "a long enough password", db_url=db)
    view = couples.clinician_view(couple_id, staff.id, db_url=db)
    assert [p.role for p in view.partners] == ["inviter", "invitee"]
    assert [p.screening_level for p in view.partners] == ["iop_fit", "iop_fit"]
    assert view.recommendation.together is True
    with session(db) as s:
        opened = s.execute(
            select(AuditEntry.conversation_id).where(AuditEntry.action == "opened_couple")
        ).scalars()
        assert sorted(opened) == ["conv-a", "conv-b"]


def test_all_combinations_have_a_clinician_summary():
    for a, b in itertools.product(STATES, repeat=2):
        summary = joint_recommendation([a, b])
        assert summary.together == together(a, b)
        if a.safety_flag:
            assert any("partner 1: relationship-safety" in r for r in summary.reasons)
