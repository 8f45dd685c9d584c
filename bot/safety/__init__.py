"""Crisis detection: a deterministic, high-recall spaCy rule matcher.

No statistical model is needed (none can be downloaded here): a blank English pipeline gives
tokens, spacy-lookups-data gives lemmas, and the patterns in `patterns.yml` do the rest.

`CrisisDetector().detect(text)` returns a `Detection` or None:
- level "acute": someone may be in danger now (suicidal intent, self-harm in progress,
  overdose or medical emergency, violence, about the writer or about someone else);
- level "concern": safety is mentioned but not as a present danger (past thoughts, a
  question about policy, a hypothetical), which deserves a gentle answer, not an alarm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import spacy
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from bot.content import ContentError, read_yaml

PATTERNS_PATH = Path(__file__).with_name("patterns.yml")
ACUTE, CONCERN = "acute", "concern"


# spaCy splits "can't" into "ca" + "n't"; spell negations out so "not" is one token.
_CONTRACTION_FORMS = {"can't": "can not", "won't": "will not", "n't": " not"}
_CONTRACTIONS = re.compile(r"can't|won't|n't")


class PatternError(ContentError):
    """patterns.yml is malformed; the message names the bad key."""


@dataclass(frozen=True)
class Assessment:
    detection: Optional["Detection"]
    mitigated: bool  # an idiom or a past/policy marker is present


@dataclass(frozen=True)
class Detection:
    level: str  # "acute" or "concern"
    reason: str  # the pattern group that matched, e.g. "suicidal"; never message text
    matched: str  # the matched words, for tests and tuning (not logged)


def _compile(rule: Any, where: str, lemma: Callable[[str], str]) -> List[Dict[str, Any]]:
    """A rule is a spaCy token-pattern list, or a string shorthand:
    words are matched on their lemma ("kill myself" also finds "killed myself"),
    `a|b` is a choice of single words, `=word` matches the exact lowercase text, `~` is one
    optional word, `*` is up to four optional words, and `#` is a number.
    """
    if isinstance(rule, list):
        return rule
    if not isinstance(rule, str) or not rule.strip():
        raise PatternError(f"{where}: a rule must be a non-empty string or a token-pattern list")
    tokens: List[Dict[str, Any]] = []
    for word in rule.lower().split():
        if word == "~":
            tokens.append({"OP": "?"})
        elif word == "*":
            tokens.extend({"OP": "?"} for _ in range(4))
        elif word == "#":
            tokens.append({"LIKE_NUM": True})
        elif word.startswith("="):
            tokens.append({"LOWER": {"IN": [w.lstrip("=") for w in word.split("|")]}})
        else:
            choices = word.split("|")
            if any(c in ("#", "~", "*") or c.startswith("=") for c in choices):
                raise PatternError(
                    f"{where}: '#', '~', '*' and '=' words cannot be mixed into a choice"
                )
            tokens.append({"LEMMA": {"IN": sorted({lemma(w) for w in choices} | set(choices))}})
    return tokens


class CrisisDetector:
    def __init__(self, patterns_path: Path = PATTERNS_PATH):
        raw = read_yaml(patterns_path, PatternError)
        for key in (
            "normalize",
            "acute",
            "concern",
            "not_crisis",
            "never_vetoed",
            "downgrade",
            "keep_acute",
        ):
            if key not in raw:
                raise PatternError(f"{patterns_path}: missing key '{key}'")
        self.nlp = _pipeline()
        self._lemma = lambda word: self.nlp(word)[0].lemma_ if " " not in word else word
        self._normalize = [
            (re.compile(rf"(?<![\w']){re.escape(src)}(?![\w'])", re.IGNORECASE), dst)
            for src, dst in sorted(raw["normalize"].items(), key=lambda kv: -len(kv[0]))
        ]
        self.matchers: Dict[str, Matcher] = {}
        for group in ("acute", "concern"):
            matcher = Matcher(self.nlp.vocab)
            if not isinstance(raw[group], dict):
                raise PatternError(f"{group}: expected a mapping of reason -> rules")
            for reason, rules in raw[group].items():
                compiled = [
                    _compile(r, f"{group}.{reason}[{i}]", self._lemma) for i, r in enumerate(rules)
                ]
                matcher.add(reason, compiled)
            self.matchers[group] = matcher
        for group in ("not_crisis", "never_vetoed", "downgrade", "keep_acute"):
            matcher = Matcher(self.nlp.vocab)
            rules = raw[group]
            if not isinstance(rules, list):
                raise PatternError(f"{group}: expected a list of rules")
            matcher.add(
                group, [_compile(r, f"{group}[{i}]", self._lemma) for i, r in enumerate(rules)]
            )
            self.matchers[group] = matcher

    def normalize(self, text: str) -> str:
        text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
        text = _CONTRACTIONS.sub(lambda m: _CONTRACTION_FORMS[m.group(0)], text)
        for pattern, replacement in self._normalize:
            text = pattern.sub(replacement, text)
        return text

    def _spans(self, group: str, doc: Doc) -> List[Tuple[str, int, int]]:
        matcher = self.matchers[group]
        return [(self.nlp.vocab.strings[mid], s, e) for mid, s, e in matcher(doc)]

    def detect(self, text: str) -> Optional[Detection]:
        return self.assess(text).detection

    def assess(self, text: str) -> "Assessment":
        """The detection, plus whether the text holds an idiom or a past/policy marker:
        evidence that a statistical classifier's crisis guess should not override."""
        if not text or not text.strip():
            return Assessment(None, False)
        normalized = self.normalize(text)
        doc = self.nlp(normalized)
        # These rules may say "the message ends here" with a stop; the prefix's tokens, and so
        # the spans, are the same in both docs.
        closed = normalized if normalized.rstrip().endswith((".", "!", "?")) else normalized + " ."
        kept = self._spans("never_vetoed", self.nlp(closed))
        vetoes = [
            v for v in self._spans("not_crisis", doc) if not any(_overlap(v, k) for k in kept)
        ]
        mitigated = bool(vetoes) or bool(self._spans("downgrade", doc))
        return Assessment(self._detect(doc, vetoes), mitigated)

    def _detect(self, doc: Doc, vetoes: List[Tuple[str, int, int]]) -> Optional[Detection]:

        def vetoed(match: Tuple[str, int, int]) -> bool:
            return any(_overlap(match, v) for v in vetoes)

        acute = [m for m in self._spans("acute", doc) if not vetoed(m)]
        if acute:
            reason, start, end = acute[0]
            sentence = doc[start].sent
            in_sentence = sentence.as_doc() if sentence is not None else doc
            downgraded = self._spans("downgrade", in_sentence) and not self._spans(
                "keep_acute", doc
            )
            level = CONCERN if downgraded else ACUTE
            return Detection(level, reason, doc[start:end].text)
        concern = [m for m in self._spans("concern", doc) if not vetoed(m)]
        if concern:
            reason, start, end = concern[0]
            return Detection(CONCERN, reason, doc[start:end].text)
        return None


def _overlap(a: Tuple[str, int, int], b: Tuple[str, int, int]) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def _pipeline() -> Language:
    """Blank English, sentences, and lookup lemmas from spacy-lookups-data (offline).

    Text is lowercased first, so lemmas are lowercase; a word missing from the tables
    keeps its own text as lemma and still matches itself.
    """
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # Lookup mode needs no training examples; the tables come from spacy-lookups-data.
    lemmatizer.initialize(get_examples=lambda: [])
    return nlp


@lru_cache(maxsize=1)
def default_detector() -> CrisisDetector:
    return CrisisDetector()
