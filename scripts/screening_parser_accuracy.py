"""Accuracy of the screening answer parser on tests/data/screening_phrasings.yml.

    .venv/bin/python scripts/screening_parser_accuracy.py [--show] [--set FILE]

Prints e.g. "parser accuracy: 78/80 = 97.5%"; --show lists the misses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.screening import NotUnderstood, parse_answer  # noqa: E402

DEFAULT_SET = ROOT / "tests" / "data" / "screening_phrasings.yml"
NOT_UNDERSTOOD = "not_understood"


def _same(got: Any, expect: Any) -> bool:
    return type(got) is type(expect) and got == expect


def evaluate(path: Path = DEFAULT_SET) -> Tuple[int, int, List[str]]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["rows"]
    misses = []
    for row in rows:
        key, text, expect = row["key"], str(row["text"]), row["expect"]
        try:
            got: Any = parse_answer(key, text)
        except NotUnderstood:
            got = NOT_UNDERSTOOD
        if not _same(got, expect):
            misses.append(f"{key}: {text!r}: expected {expect!r}, got {got!r}")
    return len(rows) - len(misses), len(rows), misses


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=DEFAULT_SET)
    ap.add_argument("--show", action="store_true", help="list the misses")
    args = ap.parse_args(argv)
    ok, total, misses = evaluate(args.set)
    print(f"parser accuracy: {ok}/{total} = {100 * ok / total:.1f}%")
    if args.show:
        for m in misses:
            print("  miss:", m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
