"""Naming an error in a log line without its message: an exception's text can carry what
was typed, a slot value or a database row (PHI never goes into a log)."""

from __future__ import annotations

import traceback
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]  # the folder above bot/


def where(exc: BaseException) -> str:
    """Where `exc` was raised, as `file.py:line in function`, and the last line of our own
    code it passed through when that is elsewhere (a library's frame alone says little):
    code, never values."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "an unknown place"
    ours = [f for f in frames if _ours(f.filename)]
    place = _frame(frames[-1])
    if ours and ours[-1] is not frames[-1]:
        place += f" (from {_frame(ours[-1])})"
    return place


def _ours(filename: str) -> bool:
    return filename.startswith(str(PROJECT)) and "site-packages" not in filename


def _frame(frame: traceback.FrameSummary) -> str:
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def describe(exc: BaseException) -> str:
    """E.g. `OperationalError at __init__.py:122 in connect (from migrate.py:100 in _locked)`:
    the class and the place."""
    return f"{type(exc).__name__} at {where(exc)}"
