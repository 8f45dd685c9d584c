"""Loading the couples content (safety.yml, texts.yml), validated with pydantic; errors name
the file and the bad key, e.g.
`bot/couples/safety.yml: items.2.licence: field required`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from bot.content import ContentError, load_model

from .schema import SafetyFile, TextsFile

HERE = Path(__file__).resolve().parent
SAFETY_PATH = HERE / "safety.yml"
TEXTS_PATH = HERE / "texts.yml"


class CouplesContentError(ContentError):
    """A couples content file is missing a key or has a bad value; the message names it."""


def load_safety(path: Optional[Path] = None) -> SafetyFile:
    return load_model(SafetyFile, Path(path or SAFETY_PATH), CouplesContentError)


def load_texts(path: Optional[Path] = None) -> TextsFile:
    return load_model(TextsFile, Path(path or TEXTS_PATH), CouplesContentError)
