"""The screening, insurance and booking flows' own rules, without the servers."""

from datetime import datetime, timezone

import pytest

from bot import screening
from bot.dialog import NotUnderstood
from bot.flows.booking import BookingFlow, contact_ways
from bot.flows.engine import Context, Engine
from bot.flows.screening import ScreeningFlow
from bot.profile import load_profile

PROFILE = load_profile()


@pytest.mark.parametrize(
    "text, ways",
    [
        ("Text and email", ["text", "email"]),
        ("Text only", ["text"]),
        ("Email only", ["email"]),
        ("Neither, thanks", []),
        ("yes, by email please", ["email"]),
        ("Email is fine, no texts", ["email"]),
        ("both", ["text", "email"]),
        ("no", []),
        ("please don't text, email is ok", ["email"]),
    ],
)
def test_contact_consent_is_what_the_person_named(text, ways):
    assert contact_ways(text) == ways


@pytest.mark.parametrize(
    "key, text",
    [
        ("phq9.9", "no actually yes"),
        ("phq9.9", "No. Yes."),
        ("asq.1", "no but sometimes"),
        ("asq.5", "not really, well maybe"),
        ("nida.1", "1"),
    ],
)
def test_hedged_answers_to_risk_questions_and_ambiguous_numbers_are_asked_again(key, text):
    with pytest.raises(NotUnderstood):
        ScreeningFlow().parse(screening.question(key), text, {}, None)


@pytest.mark.parametrize(
    "key, text, value",
    [
        ("phq9.9", "Not at all", 0),
        ("asq.1", "no", 0),
        ("asq.5", "I'd rather not say", 2),
        ("phq9.1", "2", 2),
        ("nida.1", "never", 0),
        ("nida.1", "0", 0),
        ("auditc.1", "0", 0),
    ],
)
def test_plain_answers_still_count(key, text, value):
    assert ScreeningFlow().parse(screening.question(key), text, {}, None) == value


def test_a_resumed_booking_still_waits_for_the_clinician_after_a_risk_screening(db_url):
    from bot import consent
    from bot.screening.models import ScreeningRecord
    from bot.store import session

    ctx = Context("conv-risk", PROFILE, db_url=db_url, metadata={"timezone": "America/Chicago"})
    consent.record("conv-risk", db_url)
    engine = Engine({"booking": BookingFlow()})
    engine.start("booking", ctx)
    assert engine.current(ctx)[0].key == "booking.slot"
    with session(db_url) as s:
        s.add(
            ScreeningRecord(
                conversation_id="conv-risk",
                consent_version="v",
                status="complete",
                consent_at=datetime.now(timezone.utc),
                answers={},
                scores={},
                reasons=[],
                recommendation="",
                level="safety_review",
                coordinator_review=True,
            )
        )
    engine.start("booking", ctx)  # "book an assessment" again: resumes the same draft
    assert engine.current(ctx)[0].key == "callback.times"


@pytest.mark.parametrize(
    "text", ["04/04/2004", "04042004", "April 4th, 2004", "my dob is 2004-04-04"]
)
def test_a_birth_date_accepted_by_the_insurance_check_also_proves_a_booking(text):
    from datetime import date

    from bot import coverage, scheduling

    assert scheduling.parse_dob(text) == coverage.parse_dob(text) == date(2004, 4, 4)
