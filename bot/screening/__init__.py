"""Pre-admission screening: fit questions, PHQ-9, GAD-7, AUDIT-C, the NIDA drug question and
the NIMH ASQ; parsing of typed answers, scoring, an explained recommendation, encrypted
storage and a coordinator summary. Plain Python, no Rasa imports.

Content is data (instruments/*.yml, fit.yml, parsing.yml, recommend.yml), validated at
import: a bad key stops start-up with a message naming the file and the key, e.g.
`bot/screening/instruments/phq9.yml: items.3.options.1.value: value is not a valid integer`.
Check the content without starting anything: `python -m bot.screening`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional

from bot.dialog import SKIPPED, NotUnderstood, Option, Question

from . import recommend as _recommend
from . import scoring as _scoring
from . import storage as _storage
from .content import ScreeningContentError, load_instruments
from .questionnaire import OUT_OF_STATE, UNDER_18, Questionnaire, load_screening
from .recommend import Recommendation
from .schema import Instrument

CONTENT: Questionnaire = load_screening()
TEXTS = _recommend.load_texts()
INSTRUMENTS: Dict[str, Instrument] = CONTENT.instruments
FIT = CONTENT.fit


def next_question(answers: Mapping[str, Any], licensed_states: List[str]) -> Optional[Question]:
    """The next question to ask, or None when the screening is done or stopped early."""
    return CONTENT.next_question(answers, licensed_states)


def stop_reason(answers: Mapping[str, Any], licensed_states: List[str]) -> Optional[str]:
    """ "under_18", "out_of_state" or None."""
    return CONTENT.stop_reason(answers, licensed_states)


def question(key: str, answers: Optional[Mapping[str, Any]] = None) -> Question:
    """The Question for a key (e.g. to re-ask it)."""
    return CONTENT.question(key, answers)


def state_of_residence(answers: Mapping[str, Any]) -> Optional[str]:
    """The state the person lives in (two-letter code), from screening answers so far."""
    for q in FIT.questions:
        if q.kind == "state" and isinstance(answers.get(q.key), str) and answers[q.key] != SKIPPED:
            return str(answers[q.key])
    return None


def safety_review_pending(conversation_id: str, db_url: Optional[str] = None) -> bool:
    """This conversation's screening found suicide risk (ASQ positive, acute or not): a
    clinician talks with them before any booking."""
    return _storage.safety_review_pending(conversation_id, db_url)


def parse_answer(key: str, text: str) -> Any:
    """int for scored items; int (age), str (state code, choice value) or bool (yes/no) for
    fit questions. Raises NotUnderstood with a kind explanation."""
    return CONTENT.parse_answer(key, text)


def score_all(answers: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
    return _scoring.score_all(CONTENT, answers)


def recommend(answers: Mapping[str, Any], licensed_states: List[str]) -> Recommendation:
    return _recommend.recommend(CONTENT, TEXTS, answers, licensed_states)


def save_screening(
    conversation_id: str,
    answers: Mapping[str, Any],
    consent_version: str,
    consent_at: datetime,
    db_url: Optional[str] = None,
    licensed_states: Optional[List[str]] = None,
    person_id: Optional[str] = None,
) -> int:
    """Store answers, scores, recommendation and consent; returns the row id. Licensed states
    default to the program profile's."""
    return _storage.save_screening(
        CONTENT,
        TEXTS,
        conversation_id,
        answers,
        consent_version,
        consent_at,
        db_url,
        licensed_states,
        person_id,
    )


def intake_summary(screening_id: int, db_url: Optional[str] = None) -> str:
    return _storage.intake_summary(CONTENT, screening_id, db_url)


__all__ = [
    "INSTRUMENTS",
    "FIT",
    "SKIPPED",
    "UNDER_18",
    "OUT_OF_STATE",
    "Instrument",
    "Question",
    "Option",
    "NotUnderstood",
    "Recommendation",
    "ScreeningContentError",
    "load_instruments",
    "load_screening",
    "next_question",
    "stop_reason",
    "state_of_residence",
    "safety_review_pending",
    "question",
    "parse_answer",
    "score_all",
    "recommend",
    "save_screening",
    "intake_summary",
]
