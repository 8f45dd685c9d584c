"""Screening content as data: instruments, fit questions, parser phrases and recommendation
texts, loaded from YAML and validated with pydantic (house style of bot/profile: unknown
keys are errors, and every error names the file and the bad key)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from pydantic import BaseModel, Extra, StrictBool, StrictInt, StrictStr, conint, validator

from bot.content import ContentError, display, load_model

# Phrases are StrictStr: YAML reads a bare `no`, `yes`, `y`, `n`, `on` or `off` as a boolean,
# which must be an error naming the key (quote it), not a silent "False".
Phrases = List[StrictStr]

HERE = Path(__file__).resolve().parent
INSTRUMENTS_DIR = HERE / "instruments"
FIT_PATH = HERE / "fit.yml"
PARSING_PATH = HERE / "parsing.yml"
RECOMMEND_PATH = HERE / "recommend.yml"
MAX_BUBBLE_WORDS = 60
OFFERS = ("check_insurance", "book", "person")


class ScreeningContentError(ContentError):
    """A screening content file is missing a key or has a bad value; the message names it."""


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid


# --- conditions: "phq9.9 > 0 or phq9.9 skipped" ------------------------------------------

_CLAUSE = re.compile(
    r"^\s*([a-z0-9_]+\.[a-z0-9_]+|[a-z0-9_]+)\s*(?:(>=|<=|==|!=|>|<)\s*(-?\d+)|(skipped|answered))\s*$"
)

Clause = Tuple[str, str, Optional[int]]  # (key, op, number) ; op "skipped"/"answered" has no number


def parse_condition(text: str) -> Tuple[Clause, ...]:
    """A tiny condition language: clauses `KEY OP NUMBER` or `KEY skipped|answered`, joined
    by `or`. Raises ValueError naming the bad clause."""
    clauses = []
    for part in re.split(r"\s+or\s+", text.strip()):
        m = _CLAUSE.match(part)
        if not m:
            raise ValueError(
                f"cannot read condition clause '{part}' (expected e.g. 'phq9.9 > 0' or 'phq9.9 skipped')"
            )
        key, op, num, word = m.groups()
        clauses.append((key, word, None) if word else (key, op, int(num)))
    return tuple(clauses)


class Range(_Strict):
    min: conint(ge=0) = 0
    max: Optional[conint(ge=0)] = None
    value: StrictInt

    @validator("max")
    def max_not_below_min(cls, max_, values):
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
    def condition_readable(cls, text):
        if text is not None:
            parse_condition(text)
        return text


class Band(_Strict):
    from_: conint(ge=0)
    band: str

    class Config:
        fields = {"from_": "from"}


class PositiveBy(_Strict):
    key: str
    values: Dict[str, conint(ge=0)]


class Scoring(_Strict):
    method: str
    bands: List[Band] = []
    positive_from: Optional[conint(ge=0)] = None
    positive_from_by: Optional[PositiveBy] = None
    screen_items: List[conint(ge=1)] = []
    acuity_item: Optional[conint(ge=1)] = None

    @validator("method")
    def known_method(cls, method):
        if method not in ("sum", "asq"):
            raise ValueError(f"unknown scoring method '{method}' (expected sum or asq)")
        return method

    @validator("bands")
    def bands_ascending(cls, bands):
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
    def not_blank(cls, text):
        if not text.strip():
            raise ValueError("must not be empty")
        return text

    @validator("ask_when")
    def condition_readable(cls, text):
        if text is not None:
            parse_condition(text)
        return text

    @validator("items")
    def every_item_has_options(cls, items, values):
        if not items:
            raise ValueError("an instrument needs at least one item")
        shared = values.get("options")
        for n, item in enumerate(items):
            if not (item.options or shared):
                raise ValueError(f"{n}: no options (give the item or the instrument `options`)")
        return items

    @validator("scoring")
    def asq_items_exist(cls, scoring, values):
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
    def known_kind(cls, kind):
        if kind not in FIT_KINDS:
            raise ValueError(f"unknown kind '{kind}' (expected one of {', '.join(FIT_KINDS)})")
        return kind

    @validator("options")
    def choice_has_options(cls, options, values):
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
    numbers: Dict[str, conint(ge=0)]
    tens: Dict[str, conint(ge=20)]
    question_words: Phrases
    question_min_words: conint(ge=1)
    fuzzy_cutoff: float
    states: Dict[str, Phrases]

    @validator("fuzzy_cutoff")
    def cutoff_range(cls, cutoff):
        if not 0.5 <= cutoff <= 1:
            raise ValueError("must be between 0.5 and 1")
        return cutoff


class LevelText(_Strict):
    text: str
    offer: List[str]
    coordinator_review: bool

    @validator("text")
    def bubble_sized(cls, text):
        text = " ".join(text.split())
        words = len(text.replace("{missing}", "").split())
        if words > MAX_BUBBLE_WORDS:
            raise ValueError(f"{words} words; a reply may have at most {MAX_BUBBLE_WORDS}")
        if "not a diagnosis" not in text:
            raise ValueError("must say it is a screening, not a diagnosis")
        return text

    @validator("offer")
    def known_offers(cls, offer):
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
    def every_missing(cls, missing):
        return _exactly(missing, MISSING_KEYS, "key")

    @validator("levels")
    def every_level(cls, levels):
        return _exactly(levels, LEVEL_TEXTS, "level")


def _exactly(found: Dict[str, Any], expected, what: str) -> Dict[str, Any]:
    """Every expected key present and no other: a typo is named, not silently ignored."""
    absent = [k for k in expected if k not in found]
    unknown = [k for k in found if k not in expected]
    if absent:
        raise ValueError(f"missing {what}(s) {', '.join(absent)}")
    if unknown:
        raise ValueError(f"unknown {what}(s) {', '.join(unknown)}")
    return found


# --- loading ---------------------------------------------------------------------------


def _display(path: Path) -> str:
    return display(path)


def _parse(model, path: Path):
    return load_model(model, path, ScreeningContentError)


def _check_groups(where: str, options, groups: Dict[str, List[str]], path: Path) -> None:
    for i, opt in enumerate(options):
        for g in opt.groups:
            if g not in groups:
                raise ScreeningContentError(
                    f"{_display(path)}: {where}.{i}.groups: unknown phrase group '{g}' "
                    f"(parsing.yml has {', '.join(groups)})"
                )


def load_parsing(path: Optional[Path] = None) -> ParsingFile:
    return _parse(ParsingFile, Path(path or PARSING_PATH))


def load_instruments(
    directory: Optional[Path] = None, parsing: Optional[ParsingFile] = None
) -> Dict[str, Instrument]:
    """Every `*.yml` in the directory, validated; keyed by instrument id."""
    directory = Path(directory or INSTRUMENTS_DIR)
    parsing = parsing or load_parsing()
    found: Dict[str, Instrument] = {}
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise ScreeningContentError(f"{_display(directory)}: no instrument files (*.yml)")
    for path in files:
        inst = _parse(Instrument, path)
        if inst.id != path.stem:
            raise ScreeningContentError(
                f"{_display(path)}: id: '{inst.id}' does not match the file name '{path.stem}'"
            )
        if inst.id in found:
            raise ScreeningContentError(
                f"{_display(path)}: id: duplicate instrument id '{inst.id}'"
            )
        if inst.options:
            _check_groups("options", inst.options, parsing.groups, path)
        for n, item in enumerate(inst.items):
            if item.options:
                _check_groups(f"items.{n}.options", item.options, parsing.groups, path)
        found[inst.id] = inst
    return found


def load_fit(
    path: Optional[Path] = None,
    instruments: Optional[Dict[str, Instrument]] = None,
    parsing: Optional[ParsingFile] = None,
) -> FitFile:
    path = Path(path or FIT_PATH)
    parsing = parsing or load_parsing()
    fit = _parse(FitFile, path)
    keys = [q.key for q in fit.questions]
    for i, q in enumerate(fit.questions):
        if keys.count(q.key) > 1:
            raise ScreeningContentError(
                f"{_display(path)}: questions.{i}.key: duplicate key '{q.key}'"
            )
        _check_groups(f"questions.{i}.options", q.options, parsing.groups, path)
    if instruments is not None:
        for i, step in enumerate(fit.sequence):
            if step not in keys and step not in instruments:
                raise ScreeningContentError(
                    f"{_display(path)}: sequence.{i}: '{step}' is neither a question key nor an instrument id"
                )
    return fit


def load_recommendations(path: Optional[Path] = None) -> RecommendFile:
    return _parse(RecommendFile, Path(path or RECOMMEND_PATH))


def check_conditions(instruments: Dict[str, Instrument], fit: FitFile) -> None:
    """Every key a condition points at must be a known question."""
    known = {q.key for q in fit.questions}
    for inst in instruments.values():
        known.update(inst.keys)
    for inst in instruments.values():
        where = [("ask_when", inst.ask_when)] + [
            (f"items.{n}.ask_when", it.ask_when) for n, it in enumerate(inst.items)
        ]
        for loc, cond in where:
            if cond is None:
                continue
            for key, _, _ in parse_condition(cond):
                if key not in known:
                    raise ScreeningContentError(
                        f"bot/screening/instruments/{inst.id}.yml: {loc}: unknown question key '{key}'"
                    )
