"""Scores, severity bands and positive screens, from the instruments' `scoring` data."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from bot.dialog import SKIPPED

from .questionnaire import Questionnaire
from .schema import Instrument


def score_instrument(
    screening: Questionnaire, inst: Instrument, answers: Mapping[str, Any]
) -> Dict[str, Any]:
    items = screening.applicable_items(inst, answers)
    asked = bool(items)
    values: Dict[int, int] = {}
    complete = asked
    for n in items:
        value = screening.effective(answers, inst.key(n))
        if isinstance(value, bool) or not isinstance(value, int):
            complete = False  # not answered yet, or skipped without a scored value
            continue
        values[n] = value
    s = inst.scoring
    if s.method == "asq":
        return _score_asq(inst, answers, values, complete, asked)
    if not values:
        return {
            "total": None,
            "band": None,
            "positive": False,
            "complete": False,
            "answered": 0,
            "asked": asked,
        }
    total = sum(values.values())
    threshold = s.positive_from
    if s.positive_from_by is not None:
        threshold = s.positive_from_by.values.get(
            str(answers.get(s.positive_from_by.key)), threshold
        )
    positive = threshold is not None and total >= threshold
    band = None
    for b in s.bands:
        if total >= b.from_:
            band = b.band
    if band is None:
        band = "positive" if positive else "negative"
    return {
        "total": total,
        "band": band,
        "positive": positive,
        "complete": complete,
        "answered": len(values),
        "asked": asked,
    }


def _score_asq(
    inst: Instrument,
    answers: Mapping[str, Any],
    values: Dict[int, int],
    complete: bool,
    asked: bool,
) -> Dict[str, Any]:
    s = inst.scoring
    if not asked:
        return {
            "result": "not_asked",
            "positive": False,
            "complete": True,
            "asked": False,
            "refused": False,
        }
    screen = [values.get(n) for n in s.screen_items]
    acuity_item = s.acuity_item  # never None: the schema requires it for asq scoring
    asked_items = s.screen_items + ([acuity_item] if acuity_item is not None else [])
    raw = [answers.get(inst.key(n)) for n in asked_items]
    refused = any(v == 2 for v in values.values()) or SKIPPED in raw
    positive = any(v is not None and v > 0 for v in screen)
    if not positive:
        result = "negative"
    else:
        acuity = values.get(acuity_item) if acuity_item is not None else None
        result = "acute_positive" if acuity is not None and acuity > 0 else "non_acute_positive"
    return {
        "result": result,
        "positive": positive,
        "complete": complete,
        "asked": True,
        "refused": refused,
    }


def score_all(screening: Questionnaire, answers: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {
        inst_id: score_instrument(screening, inst, answers)
        for inst_id, inst in screening.instruments.items()
    }
