"""Saving a finished screening, and the plain-text summary coordinators read.
Nothing here logs: screening answers never reach a log."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, List, Mapping, Optional

from bot.dialog import SKIPPED

from .questionnaire import Questionnaire as Content
from .schema import RecommendFile


def _licensed_states() -> List[str]:
    from bot.profile import load_profile

    return list(load_profile().facts.licensed_states)


def status_of(content: Content, answers: Mapping[str, Any], licensed_states: List[str]) -> str:
    if content.stop_reason(answers, licensed_states):
        return "stopped"
    return "complete" if content.next_question(answers, licensed_states) is None else "partial"


def save_screening(
    content: Content,
    texts: RecommendFile,
    conversation_id: str,
    answers: Mapping[str, Any],
    consent_version: str,
    consent_at: datetime,
    db_url: Optional[str] = None,
    licensed_states: Optional[List[str]] = None,
    person_id: Optional[str] = None,
) -> int:
    from bot.store import session

    from .models import ScreeningRecord as Row
    from .recommend import recommend
    from .scoring import score_all

    states = list(licensed_states) if licensed_states is not None else _licensed_states()
    answers = dict(answers)
    rec = recommend(content, texts, answers, states)
    if consent_at.tzinfo is None:  # a naive time is taken to be UTC
        consent_at = consent_at.replace(tzinfo=timezone.utc)
    consent_at = consent_at.astimezone(timezone.utc)
    row = Row(
        conversation_id=conversation_id,
        person_id=person_id,
        consent_version=consent_version,
        consent_at=consent_at,
        status=status_of(content, answers, states),
        answers=answers,
        scores=score_all(content, answers),
        reasons=rec.reasons,
        recommendation={"text": rec.text, "offer": rec.offer},
        level=rec.level,
        coordinator_review=rec.coordinator_review,
    )
    with session(db_url) as s:
        s.add(row)
        s.flush()
        return row.id


LEVEL_WORDS = {
    "crisis": "CRISIS: acute suicide risk, follow the crisis protocol now",
    "safety_review": "safety review: a clinician talks with them before booking",
    "not_eligible": "not eligible",
    "withdrawal_management": "medically supervised withdrawal first",
    "higher_level": "higher level of care (24-hour support)",
    "iop_fit": "IOP looks like a fit",
    "lower_level": "lower level of care (e.g. weekly outpatient)",
}


def _utc(when: datetime) -> str:
    """SQLite hands timestamps back without a zone; they were stored in UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return f"{when.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def _answer_words(content: Content, key: str, value: Any) -> str:
    if value == SKIPPED:
        return "skipped"
    if value is None:
        return "not asked"
    try:
        inst, n = content.locate(key)
    except KeyError:
        return str(value)
    options = inst.item_options(n) if inst is not None else content.fit_questions[key].options
    for o in options:
        if o.value is value or (type(o.value) is type(value) and o.value == value):
            return o.title if inst is None else f"{o.title} ({value})"
    return str(value)


def intake_summary(content: Content, screening_id: int, db_url: Optional[str] = None) -> str:
    from bot.store import session

    from .models import ScreeningRecord as Row

    with session(db_url) as s:
        row = s.get(Row, screening_id)
        if row is None:
            raise KeyError(f"no screening with id {screening_id}")
        answers, scores, reasons, rec = row.answers, row.scores, row.reasons, row.recommendation
        head = (
            row.id,
            row.conversation_id,
            row.created_at,
            row.status,
            row.consent_version,
            row.consent_at,
            row.level,
            row.coordinator_review,
        )
    sid, conv, created, status, cver, cat, level, review = head
    lines = [
        f"Pre-admission screening #{sid} (conversation {conv})",
        f"Taken {_utc(created)}; status {status}; consent {cver} at {_utc(cat)}",
        "This is a screening, not a diagnosis.",
        "",
        f"Recommendation: {LEVEL_WORDS.get(level, level)}"
        + (" (coordinator review needed)" if review else ""),
        f"Told the person: {rec.get('text', '')}",
        f"Offered: {', '.join(rec.get('offer', [])) or 'nothing'}",
    ]
    if reasons:
        lines.append("Why:")
        lines.extend(f"  - {r}" for r in reasons)
    lines += ["", "Scores:"]
    for inst_id, inst in content.instruments.items():
        sc = scores.get(inst_id, {})
        if "result" in sc:
            result = sc["result"].replace("_", " ")
            lines.append(
                f"  {inst.title}: {result}"
                + (" (declined or skipped a question, counted as yes)" if sc.get("refused") else "")
            )
        elif sc.get("total") is None:
            lines.append(f"  {inst.title}: not answered")
        else:
            flags = [sc["band"].replace("_", " ")]
            if inst_id in ("auditc", "nida"):
                flags = ["positive" if sc["positive"] else "negative"]
            if not sc.get("complete"):
                flags.append("incomplete")
            lines.append(f"  {inst.title}: {sc['total']} ({', '.join(flags)})")
    item9 = answers.get("phq9.9")
    if item9 is not None:
        words = _answer_words(content, "phq9.9", item9)
        lines.append(f"  PHQ-9 item 9 (thoughts of death or self-harm): {words}")
    lines += ["", "Fit answers:"]
    for q in content.fit.questions:
        value = answers.get(q.key)
        shown = (
            value
            if q.kind in ("age", "state") and value not in (None, SKIPPED)
            else _answer_words(content, q.key, value)
        )
        lines.append(f"  {q.text} {shown}")
    return "\n".join(lines)


def safety_review_pending(conversation_id: str, db_url: Optional[str] = None) -> bool:
    """A screening of this conversation found suicide risk (ASQ positive, acute or not)."""
    from sqlalchemy import select

    from bot.store import session

    from .models import ScreeningRecord

    with session(db_url) as s:
        # The level is encrypted: compared here, not in SQL.
        levels = s.execute(
            select(ScreeningRecord.level).where(ScreeningRecord.conversation_id == conversation_id)
        ).scalars()
        return any(level in ("safety_review", "crisis") for level in levels)
