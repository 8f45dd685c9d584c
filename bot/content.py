"""Reading clinic content (profile, consent, instruments, payers, crisis patterns): YAML
files validated on load, with errors that name the file and the bad key.

One loader for all of them, so every content file fails the same clear way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Type, TypeVar, Union

import yaml
from pydantic import BaseModel, ValidationError

ROOT = Path(__file__).resolve().parent.parent
M = TypeVar("M", bound=BaseModel)


class ContentError(ValueError):
    """A content file that cannot be used; the message names the file and the key."""


def display(path: Union[str, Path]) -> str:
    """The path as a person reads it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def read_yaml(
    path: Union[str, Path], error: Type[ContentError] = ContentError, source: Optional[str] = None
) -> Dict[str, Any]:
    """The top-level mapping of a YAML file; `error` (naming the file) when it is missing,
    not YAML, or not a mapping."""
    where = source or display(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{where}: file not found") from None
    except yaml.YAMLError as exc:
        raise error(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise error(f"{where}: expected a mapping at the top level")
    return raw


def describe(exc: ValidationError) -> str:
    """pydantic's errors as "key.path: message; …"."""
    return "; ".join(
        ".".join(str(p) for p in e["loc"] if p != "__root__") + f": {e['msg']}"
        for e in exc.errors()
    )


def parse_model(
    model: Type[M], raw: Any, source: str, error: Type[ContentError] = ContentError
) -> M:
    """`raw` validated as `model`; `error` naming `source` and the bad keys otherwise."""
    if not isinstance(raw, dict):
        raise error(f"{source}: expected a mapping at the top level")
    try:
        return model.parse_obj(raw)
    except ValidationError as exc:
        raise error(f"{source}: {describe(exc)}") from None


def load_model(
    model: Type[M], path: Union[str, Path], error: Type[ContentError] = ContentError
) -> M:
    """A YAML file validated as `model`."""
    return parse_model(model, read_yaml(path, error), display(path), error)
