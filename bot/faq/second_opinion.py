"""A second, independent reading of a question, to catch the classifier's confident mistakes.

A linear SVM over character and word n-grams, trained on the same examples as the assistant's
NLU (data/nlu) when first used. The FAQ answers a topic only when both readings agree
(bot.faq.answerable); when they disagree, the assistant asks "Did you mean …?" instead.
Different features and a different learner make different mistakes, so agreement removes
most wrong-topic answers for a few honest "Did you mean …?" (measured: scripts/faq_eval.py).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import List, Optional, Tuple

import yaml

NLU_DIR = Path(__file__).resolve().parents[2] / "data" / "nlu"
_lock = threading.Lock()
_model: Optional["SecondOpinion"] = None


def training_examples(nlu_dir: Path = NLU_DIR) -> Tuple[List[str], List[str]]:
    """(texts, intents) of every example in the Rasa NLU files of a directory."""
    texts: List[str] = []
    intents: List[str] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    texts.append(line[2:].strip())
                    intents.append(block["intent"])
    return texts, intents


class SecondOpinion:
    def __init__(self, texts: List[str], intents: List[str]):
        # Imported here: scikit-learn is only needed once a question is checked.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.svm import LinearSVC

        self._pipeline = make_pipeline(
            make_union(
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True),
                TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
            ),
            LinearSVC(C=1.0),
        )
        self._pipeline.fit([t.lower() for t in texts], intents)

    def intent(self, text: str) -> str:
        return self.read(text)[0]

    def read(self, text: str) -> Tuple[str, float]:
        """The intent, and how far its score is ahead of the runner-up's."""
        scores = self._pipeline.decision_function([(text or "").lower()])[0]
        first, second = sorted(range(len(scores)), key=lambda i: -scores[i])[:2]
        return str(self._pipeline.classes_[first]), float(scores[first] - scores[second])


def second_opinion() -> SecondOpinion:
    """The model, trained once per process (under a second) and then shared."""
    global _model
    with _lock:
        if _model is None:
            _model = SecondOpinion(*training_examples())
        return _model
