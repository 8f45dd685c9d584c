"""bot.safety.policy: the one place that decides what is a crisis, with context."""

import pytest

from bot.safety import ACUTE, CONCERN, Detection
from bot.safety.policy import NOT_A_CRISIS, Decision, Evidence, decide, settle

ACUTE_RULE = Detection(ACUTE, "suicidal", "want to die")
CONCERN_RULE = Detection(CONCERN, "overdose_medical", "seizure")


def evidence(rules=None, confidence=0.0, tokens=8, mitigated=False):
    return Evidence(rules, mitigated, confidence, tokens)


@pytest.mark.parametrize("in_question", [False, True])
def test_acute_rule_evidence_wins_everywhere(in_question):
    assert decide(evidence(ACUTE_RULE), in_question, 0.8) == Decision(ACUTE, "suicidal")


def test_a_concern_is_tentative_inside_a_question_only():
    assert decide(evidence(CONCERN_RULE), False, 0.8) == Decision(CONCERN, "overdose_medical")
    inside = decide(evidence(CONCERN_RULE), True, 0.8)
    assert inside.tentative and settle(inside, understood_as_answer=True) == NOT_A_CRISIS
    assert settle(inside, understood_as_answer=False) == Decision(CONCERN, "overdose_medical")


@pytest.mark.parametrize("tokens", [1, 2, 4])
def test_the_classifier_alone_never_alarms_on_a_short_message(tokens):
    assert decide(evidence(confidence=0.99, tokens=tokens), False, 0.8) == NOT_A_CRISIS


def test_the_classifier_alone_alarms_on_a_longer_message_unless_mitigated_or_unsure():
    assert decide(evidence(confidence=0.9), False, 0.8) == Decision(ACUTE, "classifier")
    assert decide(evidence(confidence=0.9, mitigated=True), False, 0.8) == NOT_A_CRISIS
    assert decide(evidence(confidence=0.7), False, 0.8) == NOT_A_CRISIS
    inside = decide(evidence(confidence=0.9), True, 0.8)
    assert inside == Decision(ACUTE, "classifier", tentative=True)
    assert settle(inside, understood_as_answer=False) == Decision(ACUTE, "classifier")
