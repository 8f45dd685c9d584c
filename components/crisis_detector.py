"""The crisis detector as a Rasa NLU component, placed last in the pipeline.

It gathers the evidence (the spaCy rule matcher in bot.safety, the trained `crisis`
intent's confidence, the message's length, and whether the conversation is inside a
question of intake_form) and lets bot.safety.policy decide. A decision overrides the
intent, so the crisis rule wins over every form, fallback and FAQ; the level ("acute" /
"concern") and the reason travel as entities so the answer is chosen without the text.
A tentative decision (inside a question, without acute rule evidence) leaves the intent
alone and travels as the `crisis_tentative` entity: the form validator settles it once the
flow has tried to read the message as an answer.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety import default_detector
from bot.safety.policy import Decision, Evidence, decide, token_count

CRISIS_INTENT = "crisis"
FALLBACK_INTENT = "nlu_fallback"
EXTRACTOR = "CrisisDetector"
QUESTION_LOOP = "intake_form"  # the form every flow's questions run in


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CrisisDetector(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"classifier_threshold": 0.6}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CrisisDetector":
        return cls(config)

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.detector = default_detector()
        self.classifier_threshold = float(config["classifier_threshold"])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(
        self, messages: List[Message], tracker: Optional[DialogueStateTracker] = None
    ) -> List[Message]:
        # Rasa's recipe hands NLU components the conversation's tracker when they ask for
        # it: the context that tells an answer to a question from a first message.
        in_question = tracker is not None and tracker.active_loop_name == QUESTION_LOOP
        for message in messages:
            text = message.get(TEXT) or ""
            assessment = self.detector.assess(text)
            evidence = Evidence(
                rules=assessment.detection,
                mitigated=assessment.mitigated,
                classifier_confidence=_crisis_confidence(message),
                tokens=token_count(text),
            )
            decision = decide(evidence, in_question, self.classifier_threshold)
            if decision.level is None or decision.tentative:
                # The classifier's crisis guess (if any) is withdrawn: only a decision made
                # here ever reaches the crisis rule.
                _withdraw_crisis(message)
                if decision.tentative:
                    _add_entities(
                        message, crisis_tentative=decision.level, crisis_reason=decision.reason
                    )
            else:
                _mark_crisis(message, decision)
        return messages


def _ranking(message: Message) -> List[Dict[str, Any]]:
    return [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != FALLBACK_INTENT]


def _crisis_confidence(message: Message) -> float:
    """The classifier's confidence in `crisis` when it is its best guess, else 0."""
    ranking = _ranking(message)
    if not ranking or ranking[0].get("name") != CRISIS_INTENT:
        return 0.0
    return float(ranking[0].get("confidence") or 0.0)


def _withdraw_crisis(message: Message) -> None:
    """Not a crisis after all: treat the message as not understood (two-stage fallback)."""
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT]
    if (message.get(INTENT) or {}).get("name") == CRISIS_INTENT:
        message.set(INTENT, {"name": FALLBACK_INTENT, "confidence": 1.0}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)


def _mark_crisis(message: Message, decision: Decision) -> None:
    intent = {"name": CRISIS_INTENT, "confidence": 1.0}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT]
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent] + ranking, add_to_output=True)
    _add_entities(message, crisis_level=decision.level, crisis_reason=decision.reason)


def _add_entities(message: Message, **values: Optional[str]) -> None:
    entities: List[Dict[str, Any]] = list(message.get(ENTITIES) or [])
    entities += [_entity(name, value) for name, value in values.items() if value]
    message.set(ENTITIES, entities, add_to_output=True)


def _entity(name: str, value: str) -> Dict[str, Any]:
    return {"entity": name, "value": value, "extractor": EXTRACTOR, "confidence": 1.0}
