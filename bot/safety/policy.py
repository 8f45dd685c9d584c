"""When a message is a crisis: the one place that weighs the rule matcher, the trained
classifier and the conversation's context.

- Crisis language the rules find as acute wins everywhere, inside any question too
  ("myself, and I want to die").
- The classifier alone never raises the acute alarm on a short message (a few tokens) the
  rules don't support: "myself", "by myself", "Rebecca Hurt" are answers, not alarms.
- Inside a question, anything short of acute rule evidence is *tentative*: it becomes an
  alarm only if the flow cannot read the message as an answer to that question ("yes, I
  had a seizure last time I stopped drinking" answers the seizure question). Free-text
  questions (names, call-back times) read almost anything, so there a tentative alarm
  stands unless the message is short.

Plain functions, no Rasa: the NLU component (components/crisis_detector.py) decides what it
can from the message and the tracker; the form validator settles tentative decisions with
`settle` once the flow has tried to read the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import FrozenSet, Optional

from bot.content import read_yaml
from bot.safety import ACUTE, CONCERN, PATTERNS_PATH, Detection, PatternError

SHORT_MESSAGE_TOKENS = 4  # "for myself", "just me lol": too short for a classifier alarm
CLASSIFIER = "classifier"  # the reason recorded when only the classifier saw a crisis
UNSPECIFIED = "unspecified"  # the reason recorded when none that we know came with it


@dataclass(frozen=True)
class Evidence:
    rules: Optional[Detection]  # what the rule matcher found, if anything
    mitigated: bool  # the rules found an idiom or a past/policy marker
    classifier_confidence: float  # the classifier's confidence in `crisis` (0 if not its top)
    tokens: int  # words in the message


@dataclass(frozen=True)
class Decision:
    level: Optional[str]  # ACUTE, CONCERN, or None: not a crisis
    reason: str = ""  # a pattern group such as "suicidal", or "classifier"; never text
    tentative: bool = False  # inside a question: only an alarm if it is not an answer


NOT_A_CRISIS = Decision(None)


def decide(evidence: Evidence, in_question: bool, classifier_threshold: float) -> Decision:
    """The decision before any flow has read the message."""
    rules = evidence.rules
    if rules is not None and rules.level == ACUTE:
        return Decision(ACUTE, rules.reason)
    if rules is not None:
        return Decision(CONCERN, rules.reason, tentative=in_question)
    confident = evidence.classifier_confidence >= classifier_threshold
    if not confident or evidence.mitigated or evidence.tokens <= SHORT_MESSAGE_TOKENS:
        return NOT_A_CRISIS
    return Decision(ACUTE, CLASSIFIER, tentative=in_question)


def settle(decision: Decision, understood_as_answer: bool) -> Decision:
    """A tentative decision, once the flow tried to read the message as its answer."""
    if decision.tentative and understood_as_answer:
        return NOT_A_CRISIS
    return Decision(decision.level, decision.reason)


@lru_cache(maxsize=1)
def known_reasons() -> FrozenSet[str]:
    """Every reason a decision can carry: the acute and concern pattern groups, CLASSIFIER and
    UNSPECIFIED. A reason from anywhere else (an `/intent{json}` message sets any entity
    it likes) is none of these, and is recorded as UNSPECIFIED."""
    raw = read_yaml(PATTERNS_PATH, PatternError)
    return frozenset({*raw["acute"], *raw["concern"], CLASSIFIER, UNSPECIFIED})


def token_count(text: str) -> int:
    return len(text.split())
