"""The crisis detector as a Rasa NLU component, placed last in the pipeline.

Either signal triggers: the spaCy rule matcher in bot.safety (deterministic, high recall)
or the trained `crisis` intent being the classifier's best guess with at least
`classifier_threshold` confidence (config.yml), unless the rules found an idiom or a
past/policy marker in the message. The result overrides the intent, so the
crisis rule wins over every form, fallback and FAQ; the level ("acute" / "concern") and
the reason travel as entities so the action can choose its answer without the text.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety import ACUTE, Detection, default_detector

CRISIS_INTENT = "crisis"
FALLBACK_INTENT = "nlu_fallback"
EXTRACTOR = "CrisisDetector"


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

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            assessment = self.detector.assess(message.get(TEXT) or "")
            detection = assessment.detection
            if detection is None and _classifier_top_is_crisis(message):
                # The classifier is the second net for wording the rules miss: it counts
                # when it is confident and the rules found no idiom or past/policy marker.
                # Otherwise its guess is withdrawn, so the crisis rule only ever runs on
                # a decision made here.
                if (
                    not assessment.mitigated
                    and _crisis_confidence(message) >= self.classifier_threshold
                ):
                    detection = Detection(ACUTE, "classifier", "")
                else:
                    _withdraw_crisis(message)
            if detection is not None:
                _mark_crisis(message, detection)
        return messages


def _ranking(message: Message) -> List[Dict[str, Any]]:
    return [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != FALLBACK_INTENT]


def _classifier_top_is_crisis(message: Message) -> bool:
    ranking = _ranking(message)
    return bool(ranking) and ranking[0].get("name") == CRISIS_INTENT


def _crisis_confidence(message: Message) -> float:
    return float(_ranking(message)[0].get("confidence") or 0.0)


def _withdraw_crisis(message: Message) -> None:
    """Not a crisis after all: treat the message as not understood (two-stage fallback)."""
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT]
    if (message.get(INTENT) or {}).get("name") == CRISIS_INTENT:
        message.set(INTENT, {"name": FALLBACK_INTENT, "confidence": 1.0}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)


def _mark_crisis(message: Message, detection: Detection) -> None:
    intent = {"name": CRISIS_INTENT, "confidence": 1.0}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT]
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent] + ranking, add_to_output=True)
    entities: List[Dict[str, Any]] = list(message.get(ENTITIES) or [])
    entities += [
        _entity("crisis_level", detection.level),
        _entity("crisis_reason", detection.reason),
    ]
    message.set(ENTITIES, entities, add_to_output=True)


def _entity(name: str, value: str) -> Dict[str, Any]:
    return {"entity": name, "value": value, "extractor": EXTRACTOR, "confidence": 1.0}
