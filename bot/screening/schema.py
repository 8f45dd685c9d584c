"""The schema of the screening content files: instruments/*.yml, fit.yml, parsing.yml and
recommend.yml, one pydantic model per kind of entry (house style of bot/profile: unknown keys
are errors, and every error names the bad key). Loading them is bot/screening/content.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, TypeVar, Union

from pydantic import BaseModel, Extra, NonNegativeInt, StrictBool, StrictInt, StrictStr, validator

from .conditions import parse_condition

if TYPE_CHECKING:  # how pydantic types its own PositiveInt: an int to mypy
    AtLeastOne = int
    AtLeastTwenty = int
else:
    from pydantic import conint

    AtLeastOne = conint(ge=1)
    AtLeastTwenty = conint(ge=20)

# Phrases are StrictStr: YAML reads a bare `no`, `yes`, `y`, `n`, `on` or `off` as a boolean,
# which must be an error naming the key (quote it), not a silent "False".
Phrases = List[StrictStr]

MAX_BUBBLE_WORDS = 60
OFFERS = ("check_insurance", "book", "person")
V = TypeVar("V")


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid


class Range(_Strict):
    min: NonNegativeInt = 0
    max: Optional[NonNegativeInt] = None
    value: StrictInt

    @validator("max")
    def max_not_below_min(cls, max_: Optional[int], values: Dict[str, Any]) -> Optional[int]:
        if max_ is not None and "min" in values and max_ < values["min"]:
            raise ValueError(f"max ({max_}) is below min ({values['min']})")
        return max_


class NumberRule(_Strict):
    """How a typed number maps to an option: the score itself ("2"), a number of days out of
    the last 14 ("3 days"), a count ("8 drinks") or a rate ("3 times a week")."""

    score: bool = False
    days: Optional[List[Range]] = None
    count: Optional[List[Range]] = None
    per_week: Optional[List[Range]] = None
    per_month: Optional[List[Range]] = None


Numbers = Optional[NumberRule]


class ScoredOption(_Strict):
    title: StrictStr
    value: StrictInt
    synonyms: Phrases = []
    groups: List[str] = []


class FitOption(_Strict):
    title: StrictStr
    value: Union[StrictBool, StrictInt, str]
    synonyms: Phrases = []
    groups: List[str] = []


class Item(_Strict):
    text: str
    help: Optional[str] = None
    options: Optional[List[ScoredOption]] = None
    numbers: Numbers = None
    ask_when: Optional[str] = None
    skippable: Optional[bool] = None

    @validator("ask_when")
    def condition_readable(cls, text: Optional[str]) -> Optional[str]:
        if text is not None:
            parse_condition(text)
        return text


class Band(_Strict):
    from_: NonNegativeInt
    band: str

    class Config:
        fields = {"from_": "from"}


class PositiveBy(_Strict):
    key: str
    values: Dict[str, NonNegativeInt]


class Scoring(_Strict):
    method: str
    bands: List[Band] = []
    positive_from: Optional[NonNegativeInt] = None
    positive_from_by: Optional[PositiveBy] = None
    screen_items: List[AtLeastOne] = []
    acuity_item: Optional[AtLeastOne] = None

    @validator("method")
    def known_method(cls, method: str) -> str:
        if method not in ("sum", "asq"):
            raise ValueError(f"unknown scoring method '{method}' (expected sum or asq)")
        return method

    @validator("bands")
    def bands_ascending(cls, bands: List[Band]) -> List[Band]:
        if bands and bands[0].from_ != 0:
            raise ValueError("the first band must start from 0")
        for a, b in zip(bands, bands[1:], strict=False):  # neighbours
            if b.from_ <= a.from_:
                raise ValueError(f"band '{b.band}' does not start above band '{a.band}'")
        return bands


class Instrument(_Strict):
    id: str
    name: str
    title: str  # plain words for summaries, e.g. "depression screen (PHQ-9)"
    source: str
    licence: str
    preamble: str = ""
    help: str
    options: Optional[List[ScoredOption]] = None  # shared by every item unless it has its own
    numbers: Numbers = None
    items: List[Item]
    scoring: Scoring
    ask_when: Optional[str] = None
    skipped_value: Optional[StrictInt] = None  # how a skipped item is scored (ASQ: refusal)
    skippable: bool = True

    @validator("source", "licence")
    def not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("must not be empty")
        return text

    @validator("ask_when")
    def condition_readable(cls, text: Optional[str]) -> Optional[str]:
        if text is not None:
            parse_condition(text)
        return text

    @validator("items")
    def every_item_has_options(cls, items: List[Item], values: Dict[str, Any]) -> List[Item]:
        if not items:
            raise ValueError("an instrument needs at least one item")
        shared = values.get("options")
        for n, item in enumerate(items):
            if not (item.options or shared):
                raise ValueError(f"{n}: no options (give the item or the instrument `options`)")
        return items

    @validator("scoring")
    def asq_items_exist(cls, scoring: Scoring, values: Dict[str, Any]) -> Scoring:
        count = len(values.get("items") or [])
        for n in list(scoring.screen_items) + (
            [scoring.acuity_item] if scoring.acuity_item else []
        ):
            if n > count:
                raise ValueError(f"item {n} does not exist (the instrument has {count})")
        if scoring.method == "asq" and (not scoring.screen_items or not scoring.acuity_item):
            raise ValueError("asq scoring needs screen_items and acuity_item")
        return scoring

    def item_options(self, n: int) -> List[ScoredOption]:
        return self.items[n - 1].options or self.options or []

    def item_numbers(self, n: int) -> Numbers:
        item = self.items[n - 1]
        return item.numbers if item.numbers is not None else self.numbers

    def key(self, n: int) -> str:
        return f"{self.id}.{n}"

    @property
    def keys(self) -> List[str]:
        return [self.key(n) for n in range(1, len(self.items) + 1)]


FIT_KINDS = ("age", "state", "choice")


class FitQuestion(_Strict):
    key: str
    kind: str
    text: str
    help: str
    options: List[FitOption] = []
    skippable: bool = True
    min: Optional[int] = None
    max: Optional[int] = None
    eligible_from: Optional[int] = None

    @validator("kind")
    def known_kind(cls, kind: str) -> str:
        if kind not in FIT_KINDS:
            raise ValueError(f"unknown kind '{kind}' (expected one of {', '.join(FIT_KINDS)})")
        return kind

    @validator("options")
    def choice_has_options(
        cls, options: List[FitOption], values: Dict[str, Any]
    ) -> List[FitOption]:
        if values.get("kind") == "choice" and not options:
            raise ValueError("a choice question needs options")
        return options


class FitFile(_Strict):
    source: str
    licence: str
    sequence: List[str]
    questions: List[FitQuestion]


class ParsingFile(_Strict):
    groups: Dict[str, Phrases]
    numbers: Dict[str, NonNegativeInt]
    tens: Dict[str, AtLeastTwenty]
    question_words: Phrases
    question_min_words: AtLeastOne
    fuzzy_cutoff: float
    states: Dict[str, Phrases]

    @validator("fuzzy_cutoff")
    def cutoff_range(cls, cutoff: float) -> float:
        if not 0.5 <= cutoff <= 1:
            raise ValueError("must be between 0.5 and 1")
        return cutoff


class LevelText(_Strict):
    text: str
    offer: List[str]
    coordinator_review: bool

    @validator("text")
    def bubble_sized(cls, text: str) -> str:
        text = " ".join(text.split())
        words = len(text.replace("{missing}", "").split())
        if words > MAX_BUBBLE_WORDS:
            raise ValueError(f"{words} words; a reply may have at most {MAX_BUBBLE_WORDS}")
        if "not a diagnosis" not in text:
            raise ValueError("must say it is a screening, not a diagnosis")
        return text

    @validator("offer")
    def known_offers(cls, offer: List[str]) -> List[str]:
        bad = [o for o in offer if o not in OFFERS]
        if bad:
            raise ValueError(f"unknown offer(s) {', '.join(bad)} (expected {', '.join(OFFERS)})")
        return offer


LEVEL_TEXTS = (
    "crisis",
    "safety_review",
    "under_18",
    "out_of_state",
    "withdrawal_management",
    "higher_level",
    "iop_fit",
    "iop_barriers",
    "lower_level",
)


MISSING_KEYS = ("device", "hours", "safe_at_home")


class RecommendFile(_Strict):
    levels: Dict[str, LevelText]
    missing: Dict[str, str]

    @validator("missing")
    def every_missing(cls, missing: Dict[str, str]) -> Dict[str, str]:
        return _exactly(missing, MISSING_KEYS, "key")

    @validator("levels")
    def every_level(cls, levels: Dict[str, LevelText]) -> Dict[str, LevelText]:
        return _exactly(levels, LEVEL_TEXTS, "level")


def _exactly(found: Dict[str, V], expected: Sequence[str], what: str) -> Dict[str, V]:
    """Every expected key present and no other: a typo is named, not silently ignored."""
    absent = [k for k in expected if k not in found]
    unknown = [k for k in found if k not in expected]
    if absent:
        raise ValueError(f"missing {what}(s) {', '.join(absent)}")
    if unknown:
        raise ValueError(f"unknown {what}(s) {', '.join(unknown)}")
    return found
