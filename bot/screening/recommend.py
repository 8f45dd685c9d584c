"""From answers and scores to a recommended next step (ASAM-informed, explained, never a
diagnosis). The rules are here; what is said is in recommend.yml. First matching rule wins:

1. ASQ acute positive                          -> crisis
2. ASQ non-acute positive                      -> safety_review
3. under 18 / not living in a licensed state   -> not_eligible
4. any withdrawal-risk answer yes              -> withdrawal_management
5. no safe place to live / cannot stay safe    -> higher_level
6. PHQ-9 or GAD-7 >= 10, AUDIT-C or drug screen positive:
     able to attend (safe at home, device + private space, hours yes / not sure) -> iop_fit
     otherwise -> iop_fit with what is missing, offer a person (text "iop_barriers")
7. otherwise                                   -> lower_level

`reasons` lists every finding in plain words (not only the one that decided the level), for
the person's coordinator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Mapping, Optional

from bot.dialog import SKIPPED

from .content import load_recommendations
from .questionnaire import OUT_OF_STATE, UNDER_18, Questionnaire
from .schema import RecommendFile
from .scoring import score_all

WITHDRAWAL = {
    "fit.withdrawal_alcohol": "drinks heavily every day (withdrawal risk)",
    "fit.withdrawal_meds": "dependent on benzodiazepines or opioids (withdrawal risk)",
    "fit.withdrawal_seizures": "has had seizures or DTs when stopping alcohol or drugs",
}
MAX_WORDS = 60


@dataclass
class Recommendation:
    # crisis | safety_review | not_eligible | withdrawal_management | higher_level | iop_fit
    # | lower_level
    level: str
    reasons: List[str] = field(default_factory=list)
    coordinator_review: bool = False
    text: str = ""
    offer: List[str] = field(default_factory=list)


def check_texts(texts: RecommendFile) -> None:
    """The longest possible iop_barriers text must still fit a bubble."""
    from .content import ScreeningContentError

    longest = " and ".join(texts.missing.values())
    words = len(texts.levels["iop_barriers"].text.replace("{missing}", longest).split())
    if words > MAX_WORDS:
        raise ScreeningContentError(
            f"bot/screening/recommend.yml: levels.iop_barriers.text: {words} words with every "
            f"missing item filled in; a reply may have at most {MAX_WORDS}"
        )


def _yes(answers: Mapping[str, Any], key: str) -> bool:
    return answers.get(key) is True


def _no(answers: Mapping[str, Any], key: str) -> bool:
    return answers.get(key) is False


def _unknown(answers: Mapping[str, Any], key: str) -> bool:
    return answers.get(key) is None or answers.get(key) == SKIPPED


def recommend(
    screening: Questionnaire,
    texts: RecommendFile,
    answers: Mapping[str, Any],
    licensed_states: List[str],
) -> Recommendation:
    scores = score_all(screening, answers)
    reasons: List[str] = []
    review = False
    titles = {i: inst.title for i, inst in screening.instruments.items()}

    # Findings, in rule order.
    asq = scores.get("asq", {}).get("result")
    if asq == "acute_positive":
        reasons.append(
            "suicide risk screen (ASQ): acute positive "
            "(thoughts of suicide right now, or declined to say)"
        )
    elif asq == "non_acute_positive":
        reasons.append("suicide risk screen (ASQ): positive, not acute")
    stop = screening.stop_reason(answers, licensed_states)
    if stop == UNDER_18:
        reasons.append("under 18")
    elif stop == OUT_OF_STATE:
        reasons.append(f"lives outside the licensed states ({answers.get('fit.state')})")
    withdrawal = [text for key, text in WITHDRAWAL.items() if _yes(answers, key)]
    reasons.extend(withdrawal)
    if any(answers.get(k) == SKIPPED for k in WITHDRAWAL):
        reasons.append("did not answer every withdrawal question")
        review = True
    unsafe = []
    if _no(answers, "fit.safe_housing"):
        unsafe.append("no safe, stable place to live")
    if _no(answers, "fit.safe_at_home"):
        unsafe.append("not sure they can stay safe at home between sessions")
    reasons.extend(unsafe)
    if answers.get("fit.safe_housing") == SKIPPED or answers.get("fit.safe_at_home") == SKIPPED:
        reasons.append("did not answer every safety question")
        review = True

    need = []
    for inst_id in ("phq9", "gad7"):
        sc = scores.get(inst_id, {})
        if sc.get("positive"):
            need.append(f"{titles[inst_id]}: {sc['total']}, {sc['band'].replace('_', ' ')}")
    for inst_id, words in (
        ("auditc", "positive"),
        ("nida", "positive (drug use in the past year)"),
    ):
        sc = scores.get(inst_id, {})
        if sc.get("positive"):
            need.append(
                f"{titles[inst_id]}: {words}"
                + (f", score {sc['total']}" if inst_id == "auditc" else "")
            )
    reasons.extend(need)
    incomplete = [
        titles[i] for i, sc in scores.items() if sc.get("asked", True) and not sc.get("complete")
    ]
    if incomplete and not stop:
        reasons.append("not every question answered: " + ", ".join(incomplete))

    missing = []
    if not _yes(answers, "fit.safe_at_home"):
        missing.append("safe_at_home")
    if not _yes(answers, "fit.device_private"):
        missing.append("device")
    if answers.get("fit.hours") not in ("yes", "not_sure"):
        missing.append("hours")

    # The first matching rule decides.
    if asq == "acute_positive":
        return _make("crisis", "crisis", texts, reasons, review)
    if asq == "non_acute_positive":
        return _make("safety_review", "safety_review", texts, reasons, review)
    if stop:
        return _make("not_eligible", stop, texts, reasons, review)
    if withdrawal:
        return _make("withdrawal_management", "withdrawal_management", texts, reasons, review)
    if unsafe:
        return _make("higher_level", "higher_level", texts, reasons, review)
    if need:
        if not missing:
            return _make("iop_fit", "iop_fit", texts, reasons, review)
        labels = {
            "safe_at_home": "can stay safe at home not confirmed",
            "device": "no device with camera and private space confirmed",
            "hours": "about 9 hours a week not confirmed",
        }
        reasons.extend(labels[m] for m in missing)
        fill = " and ".join(texts.missing[m] for m in missing)
        return _make("iop_fit", "iop_barriers", texts, reasons, review, missing=fill)
    return _make("lower_level", "lower_level", texts, reasons, review)


def _make(
    level: str,
    text_key: str,
    texts: RecommendFile,
    reasons: List[str],
    review: bool,
    missing: str = "",
) -> Recommendation:
    entry = texts.levels[text_key]
    text = " ".join(entry.text.replace("{missing}", missing).split())
    return Recommendation(
        level=level,
        reasons=list(reasons),
        coordinator_review=entry.coordinator_review or review,
        text=text,
        offer=list(entry.offer),
    )


def load_texts(path: Optional[Path] = None) -> RecommendFile:
    texts = load_recommendations(path)
    check_texts(texts)
    return texts


__all__ = ["Recommendation", "recommend", "load_texts"]
