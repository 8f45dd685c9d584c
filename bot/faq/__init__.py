"""Which FAQ answer to give for a question the classifier put under a topic.

An insurance question that names a plan type is answered for that plan ("do you take
medicare?" gets the Medicare answer, built from `insurance.plans`), whichever insurance
topic the classifier chose; every other question keeps its topic.

A topic is answered only when the classifier is sure of it and a second, independent model
agrees (`answerable`); otherwise the assistant asks "Did you mean …?". A confident answer
to another question is worse than asking. `choose` adds two cases the classifier alone
misses: two questions in one message, and a short follow-up to the last answer.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot.coverage.parsing import mentioned_plan
from bot.dialog import faq_topic
from bot.faq.second_opinion import second_opinion

# Topics under which a named plan type decides the answer.
INSURANCE_TOPICS = frozenset(
    {
        "insurance",
        "ppo_coverage",
        "epo_plans",
        "cost",
        "self_pay",
        "veterans",
        "medicare",
        "medicaid",
        "tricare",
        "hmo_plans",
    }
)
# The answer for each plan type; POS plans are handled like PPO plans in the general answer.
PLAN_TOPIC = {
    "medicare": "medicare",
    "medicaid": "medicaid",
    "tricare": "tricare",
    "hmo": "hmo_plans",
    "epo": "epo_plans",
    "ppo": "ppo_coverage",
    "pos": "insurance",
}


def answer_topic(topic: Optional[str], text: str) -> Optional[str]:
    """The topic to answer: the plan's own topic when an insurance question names one."""
    if topic in INSURANCE_TOPICS:
        plan = mentioned_plan(text or "")
        if plan:
            return PLAN_TOPIC[plan]
    return topic


# The answering rule, chosen on the blind FAQ set (scripts/faq_eval.py --sweep, README).
# The second opinion must name the same intent, and either the classifier is this sure and
# this far ahead of its runner-up...
MIN_CONFIDENCE = 0.8
MIN_MARGIN = 0.2
# ...or the classifier is at least fairly sure and the second opinion is clear-cut (its
# score this far ahead of its own runner-up).
FAIR_CONFIDENCE = 0.5
CLEAR_SECOND_OPINION = 1.0


def confident(ranking: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the top intent of a ranking is sure enough to answer as a topic."""
    if not ranking:
        return False
    top = float(ranking[0].get("confidence") or 0.0)
    second = float(ranking[1].get("confidence") or 0.0) if len(ranking) > 1 else 0.0
    return top >= MIN_CONFIDENCE and top - second >= MIN_MARGIN


def agreement(intent: str, text: str) -> Optional[float]:
    """How clearly the second opinion reads the question as the same intent (its margin),
    or None when it reads another. A button's payload ("/faq_cost") was chosen by the
    person, so it needs no second opinion."""
    text = (text or "").strip()
    if text.startswith("/"):
        return float("inf")
    read, margin = second_opinion().read(text)
    if read == intent:
        return margin
    # Two insurance topics that name the same plan give the same answer: "do you take ppo
    # insurance" is insurance to one model and ppo_coverage to the other, answered for PPO.
    same = faq_topic(read) and answer_topic(faq_topic(read), text) == answer_topic(
        faq_topic(intent), text
    )
    return margin if same else None


def agrees(intent: str, text: str) -> bool:
    return agreement(intent, text) is not None


def answerable(ranking: Sequence[Mapping[str, Any]], text: str) -> bool:
    """Whether to answer the top-ranked topic, or ask "Did you mean …?" instead."""
    if not ranking:
        return False
    margin = agreement(str(ranking[0].get("name") or ""), text)
    if margin is None:
        return False
    by_answer = answer_ranking(ranking, text)
    top = float(by_answer[0]["confidence"])
    return confident(by_answer) or (top >= FAIR_CONFIDENCE and margin >= CLEAR_SECOND_OPINION)


def answer_ranking(ranking: Sequence[Mapping[str, Any]], text: str) -> List[Dict[str, Any]]:
    """The ranking by the answer each intent would give: "do you take ppo insurance" split
    between insurance and ppo_coverage is one answer (PPO), with their confidences summed."""
    totals: Dict[str, float] = {}
    for r in ranking:
        name = str(r.get("name") or "")
        key = answer_topic(faq_topic(name), text) or name
        totals[key] = totals.get(key, 0.0) + float(r.get("confidence") or 0.0)
    ordered = sorted(totals.items(), key=lambda kv: -kv[1])
    return [{"name": name, "confidence": confidence} for name, confidence in ordered]


# Where one question ends and the next starts: "?", a full stop, or "and"/"also" before a
# question word ("how much is it and do you take aetna?"). "my partner and i" never splits.
_CLAUSE_BREAK = re.compile(
    r"\?+\s*|[.;]\s+|,?\s+(?:and|also|plus)\s+(?=(?:do|does|is|are|can|could|will|would|"
    r"what|whats|what's|how|who|where|when|which|if|there)\b)|,\s*(?=(?:also|and|plus)\b)",
    re.IGNORECASE,
)
# A message that leans on the previous answer: "and on weekends?", "what about medicaid".
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|but|so|ok(?:ay)?|also|what about|how about|what if)\b", re.IGNORECASE
)
# How far down the classifier's ranking a clause's topic may be and still count as agreed.
RANKED_WITHIN = 3
MAX_ANSWERS = 2


# How a question starts ("is there…", "and do you…"); a clause ending in "?" is one too.
_QUESTION_START = re.compile(
    r"^(?:and |also |so |plus )?(?:do|does|did|is|are|am|was|can|could|will|would|should|"
    r"what|whats|what's|how|who|where|when|which|why|any|have|has)\b",
    re.IGNORECASE,
)


def clauses(text: str) -> List[str]:
    """The questions in a message, each at least two words. A statement before a question
    ("my wife wants to do this. is that a thing?") is context, not a second question."""
    found, start = [], 0
    text = text or ""
    for match in [*_CLAUSE_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        clause = text[start:end].strip(" ,.")
        asked = bool(match and "?" in match.group())
        if len(clause.split()) >= 2 and (asked or _QUESTION_START.match(clause)):
            found.append(clause)
        start = match.end() if match else len(text)
    return found


def choose(
    ranking: Sequence[Mapping[str, Any]],
    text: str,
    previous_topic: Optional[str] = None,
) -> List[str]:
    """The topics to answer, in order; empty means ask "Did you mean …?".

    1. One question the classifier is sure of and the second opinion agrees with.
    2. Two questions in one message: each clause's second opinion is a topic the classifier
       also ranks near the top for the whole message.
    3. A follow-up to the last answer: a plan type named after an insurance answer, or the
       classifier's first choice when the second opinion agrees, however unsure it is.
    """
    ranking = [r for r in ranking if r.get("name") != "nlu_fallback"]
    if not ranking:
        return []
    top = str(ranking[0].get("name") or "")
    near_top = [str(r.get("name") or "") for r in ranking[:RANKED_WITHIN]]
    # Two questions first: a classifier sure of one of them would otherwise answer only it.
    parts = clauses(text)
    if len(parts) >= 2:
        found: List[str] = []
        for part in parts:
            intent = second_opinion().intent(part)
            topic = answer_topic(faq_topic(intent), part)
            if faq_topic(intent) and intent in near_top and topic not in found:
                found.append(topic or "")
        if len(found) >= 2:
            return found[:MAX_ANSWERS]
    if faq_topic(top) and answerable(ranking, text):
        return [answer_topic(faq_topic(top), text) or ""]
    if previous_topic and _FOLLOW_UP.search(text or ""):
        plan = mentioned_plan(text)
        if plan and previous_topic in INSURANCE_TOPICS:
            return [PLAN_TOPIC[plan]]
        intent = second_opinion().intent(text)
        if faq_topic(intent) and intent == near_top[0]:
            return [answer_topic(faq_topic(intent), text) or ""]
    return []
