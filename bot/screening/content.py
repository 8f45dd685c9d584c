"""Screening content as data: instruments, fit questions, parser phrases and recommendation
texts, loaded from YAML and validated with pydantic (the models are in schema.py; house style
of bot/profile: unknown keys are errors, and every error names the file and the bad key)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Type, TypeVar, Union

from pydantic import BaseModel

from bot.content import ContentError, display, load_model

from .conditions import parse_condition
from .schema import FitFile, FitOption, Instrument, ParsingFile, RecommendFile, ScoredOption

HERE = Path(__file__).resolve().parent
INSTRUMENTS_DIR = HERE / "instruments"
FIT_PATH = HERE / "fit.yml"
PARSING_PATH = HERE / "parsing.yml"
RECOMMEND_PATH = HERE / "recommend.yml"

M = TypeVar("M", bound=BaseModel)


class ScreeningContentError(ContentError):
    """A screening content file is missing a key or has a bad value; the message names it."""


# --- loading ---------------------------------------------------------------------------


def _display(path: Path) -> str:
    return display(path)


def _parse(model: Type[M], path: Path) -> M:
    return load_model(model, path, ScreeningContentError)


def _check_groups(
    where: str,
    options: Sequence[Union[ScoredOption, FitOption]],
    groups: Mapping[str, Sequence[str]],
    path: Path,
) -> None:
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
                    f"{_display(path)}: sequence.{i}: '{step}' is neither a question key "
                    "nor an instrument id"
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
                        f"bot/screening/instruments/{inst.id}.yml: {loc}: "
                        f"unknown question key '{key}'"
                    )
