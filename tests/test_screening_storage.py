"""Screening storage: PHI encrypted at rest, round-trip, coordinator summary."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
from cryptography.fernet import Fernet

from bot.screening import SKIPPED, intake_summary, save_screening
from bot.store import crypto, session

LICENSED = ["TX", "OK", "LA", "AR", "NM", "CO"]


@pytest.fixture()
def phi_key(monkeypatch):
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", Fernet.generate_key().decode())
    crypto.cipher.cache_clear()
    yield
    crypto.cipher.cache_clear()


ANSWERS = {
    "fit.age": 34,
    "fit.state": "TX",
    "fit.for_whom": "couple",
    "fit.withdrawal_alcohol": False,
    "fit.withdrawal_meds": False,
    "fit.withdrawal_seizures": False,
    "fit.safe_housing": True,
    "fit.safe_at_home": True,
    "fit.device_private": True,
    "fit.hours": "not_sure",
    "sex": "female",
    **{f"phq9.{n}": v for n, v in enumerate([2, 2, 2, 1, 1, 1, 1, 0, 1], start=1)},  # 11
    **{f"gad7.{n}": v for n, v in enumerate([1, 1, 1, 1, 0, 0, SKIPPED], start=1)},  # 4, incomplete
    "auditc.1": 3,
    "auditc.2": 1,
    "auditc.3": 1,  # 5
    "nida.1": 0,
    "asq.1": 0,
    "asq.2": 0,
    "asq.3": 0,
    "asq.4": 0,
}
CONSENT_AT = datetime(2026, 5, 4, 15, 30, tzinfo=timezone.utc)


def test_answers_encrypted_at_rest_and_round_trip(db_url, phi_key):
    sid = save_screening(
        "conv-1", ANSWERS, "screening-v1", CONSENT_AT, db_url=db_url, licensed_states=LICENSED
    )
    assert isinstance(sid, int)

    raw = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    try:
        row = raw.execute(
            "SELECT answers, scores, reasons, recommendation, level, coordinator_review, status, "
            "conversation_id, consent_version FROM screenings WHERE id = ?",
            (sid,),
        ).fetchone()
    finally:
        raw.close()
    answers_raw, scores_raw, reasons_raw, rec_raw, level, review, status, conv, cver = row
    for column in (answers_raw, scores_raw, reasons_raw, rec_raw, level):
        # Needles that cannot occur by chance in a Fernet token (url-safe base64: no quote,
        # dot, space or hyphen).
        for needle in (
            '"TX"',
            "fit.state",
            "phq9.1",
            '"female"',
            '"couple"',
            "not_sure",
            "moderate",
            "__skipped__",
            "PHQ-9",
            " ",
        ):
            assert needle not in column
        assert column.startswith("gAAAAA")  # a Fernet token
    # The level is PHI under 42 CFR Part 2 (`withdrawal_management` next to a conversation
    # id): encrypted like the answers; only the review flag stays plain.
    assert "iop_fit" not in level
    assert (review, status, conv, cver) == (
        0,
        "complete",
        "conv-1",
        "screening-v1",
    )

    from bot.screening.models import ScreeningRecord as Row

    with session(db_url) as s:
        stored = s.get(Row, sid)
        assert stored.answers == ANSWERS and stored.level == "iop_fit"
        assert stored.scores["phq9"]["total"] == 11 and stored.scores["phq9"]["band"] == "moderate"
        assert stored.scores["gad7"]["complete"] is False
        assert stored.scores["auditc"]["positive"] is True
        assert stored.scores["asq"]["result"] == "negative"
        assert stored.consent_at.replace(tzinfo=timezone.utc) == CONSENT_AT
        assert stored.recommendation["offer"] == ["check_insurance", "book"]
        assert "depression screen (PHQ-9): 11, moderate" in stored.reasons


def test_intake_summary(db_url, phi_key):
    sid = save_screening(
        "conv-2", ANSWERS, "screening-v1", CONSENT_AT, db_url=db_url, licensed_states=LICENSED
    )
    text = intake_summary(sid, db_url=db_url)
    assert "screening, not a diagnosis" in text
    assert "Recommendation: IOP looks like a fit" in text
    assert "depression screen (PHQ-9): 11 (moderate)" in text
    assert "anxiety screen (GAD-7): 4 (minimal, incomplete)" in text
    assert "alcohol screen (AUDIT-C): 5 (positive)" in text
    assert "drug use screen (NIDA Quick Screen): 0 (negative)" in text
    assert "suicide risk screen (NIMH ASQ): negative" in text
    assert "PHQ-9 item 9 (thoughts of death or self-harm): Several days (1)" in text
    assert "Which US state do you live in? TX" in text
    assert "Who is the program for? Me and my partner" in text
    assert "consent screening-v1 at 2026-05-04 15:30 UTC" in text


def test_stopped_and_crisis_rows(db_url, phi_key):
    sid = save_screening(
        "conv-3",
        {"fit.age": 16},
        "screening-v1",
        CONSENT_AT,
        db_url=db_url,
        licensed_states=LICENSED,
    )
    text = intake_summary(sid, db_url=db_url)
    assert "status stopped" in text and "not eligible" in text and "under 18" in text
    crisis = {**ANSWERS, "asq.1": 1, "asq.5": 2}
    sid = save_screening(
        "conv-4", crisis, "screening-v1", CONSENT_AT, db_url=db_url, licensed_states=LICENSED
    )
    text = intake_summary(sid, db_url=db_url)
    assert "CRISIS" in text and "(coordinator review needed)" in text and "acute positive" in text


def test_licensed_states_default_to_profile(db_url, phi_key):
    sid = save_screening("conv-5", {**ANSWERS, "fit.state": "CA"}, "v1", CONSENT_AT, db_url=db_url)
    assert "not eligible" in intake_summary(sid, db_url=db_url)


def test_unknown_id(db_url, phi_key):
    with pytest.raises(KeyError):
        intake_summary(12345, db_url=db_url)


def test_nothing_logged(db_url, phi_key, caplog):
    caplog.set_level("DEBUG")
    sid = save_screening(
        "conv-6", ANSWERS, "v1", CONSENT_AT, db_url=db_url, licensed_states=LICENSED
    )
    intake_summary(sid, db_url=db_url)
    assert "not_sure" not in caplog.text and "couple" not in caplog.text
