"""The Rasa NLU component: the matcher and the classifier combined, on real Message objects."""

import pytest
from rasa.shared.nlu.training_data.message import Message

from components.crisis_detector import CrisisDetector


@pytest.fixture(scope="module")
def component():
    return CrisisDetector({"classifier_threshold": 0.8})


def message(text, ranking):
    m = Message(data={"text": text})
    m.set("intent", dict(ranking[0]))
    m.set("intent_ranking", [dict(r) for r in ranking])
    return m


def entities(m):
    return {e["entity"]: e["value"] for e in m.get("entities") or []}


def test_rule_match_overrides_any_intent(component):
    m = message(
        "ok thanks, honestly i want to end my life", [{"name": "thanks", "confidence": 0.9}]
    )
    component.process([m])
    assert m.get("intent")["name"] == "crisis"
    assert entities(m) == {"crisis_level": "acute", "crisis_reason": "suicidal"}


def test_rule_match_wins_over_the_fallback(component):
    m = message(
        "kms", [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "greet", "confidence": 0.3}]
    )
    component.process([m])
    assert m.get("intent")["name"] == "crisis"


def test_confident_classifier_triggers_when_rules_are_silent(component):
    m = message(
        "everything feels pointless and tonight feels final",
        [{"name": "crisis", "confidence": 0.93}, {"name": "faq_cost", "confidence": 0.02}],
    )
    component.process([m])
    assert m.get("intent")["name"] == "crisis"
    assert entities(m)["crisis_reason"] == "classifier"


def test_unsure_classifier_is_withdrawn(component):
    m = message(
        "the weather is wild today",
        [{"name": "crisis", "confidence": 0.55}, {"name": "out_of_scope", "confidence": 0.3}],
    )
    component.process([m])
    assert m.get("intent")["name"] == "nlu_fallback"
    assert "crisis" not in [r["name"] for r in m.get("intent_ranking")]


def test_classifier_does_not_override_an_idiom(component):
    m = message("I'd kill for a coffee", [{"name": "crisis", "confidence": 0.99}])
    component.process([m])
    assert m.get("intent")["name"] != "crisis"


def test_past_mention_is_a_concern(component):
    m = message("I attempted suicide years ago", [{"name": "faq_who_is_it_for", "confidence": 0.6}])
    component.process([m])
    assert m.get("intent")["name"] == "crisis"
    assert entities(m)["crisis_level"] == "concern"


def in_a_question():
    from rasa.shared.core.events import ActiveLoop
    from rasa.shared.core.trackers import DialogueStateTracker

    return DialogueStateTracker.from_events("q", [ActiveLoop("intake_form")])


@pytest.mark.parametrize("text", ["myself", "for myself", "by myself", "Rebecca Hurt"])
def test_a_short_message_never_raises_the_alarm_on_the_classifier_alone(component, text):
    m = message(text, [{"name": "crisis", "confidence": 0.99}, {"name": "inform", "confidence": 0}])
    component.process([m])
    assert m.get("intent")["name"] != "crisis" and "crisis_level" not in entities(m)


def test_inside_a_question_the_classifier_alone_is_only_tentative(component):
    m = message(
        "everything feels pointless and tonight feels final",
        [{"name": "crisis", "confidence": 0.93}, {"name": "inform", "confidence": 0.02}],
    )
    component.process([m], tracker=in_a_question())
    assert m.get("intent")["name"] != "crisis"
    assert entities(m) == {"crisis_tentative": "acute", "crisis_reason": "classifier"}


def test_inside_a_question_acute_rule_evidence_still_wins(component):
    m = message("myself, and I want to die", [{"name": "inform", "confidence": 0.9}])
    component.process([m], tracker=in_a_question())
    assert m.get("intent")["name"] == "crisis"
    assert entities(m)["crisis_level"] == "acute"
