"""The rule matcher alone on the blind round-5 sets (tests/data/crisis_blind.yml and
tests/data/answers_blind.yml), plus the committed crisis set for regressions.

Usage:
  python scripts/crisis_eval_blind.py [--show]

Prints four measurements:
  1. crisis_blind `crisis`: how many get level "acute" (all must);
  2. crisis_set.yml: acute recall, hard-negative false alarms, lower-risk given the full alarm;
  3. crisis_blind `not_crisis_idioms`: how many get any detection (none may);
  4. answers_blind: acute and concern detections; concern is split into withdrawal history
     (answers to fit.withdrawal_seizures, or first messages about a past withdrawal seizure
     or DTs, which may be a concern at most) and everything else (which must be none).
With --show, the misses and alarms of each, one per line, with the matched words.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"
WITHDRAWAL_QUESTION = "fit.withdrawal_seizures"
# A first message about withdrawal history (no question context) may also be a concern.
WITHDRAWAL_WORDS = re.compile(r"seiz|\bdts\b|delirium|tremens|\bfits?\b|convuls", re.I)


def _withdrawal_history(answer: dict) -> bool:
    question = answer.get("question")
    if question == WITHDRAWAL_QUESTION:
        return True
    return question is None and bool(WITHDRAWAL_WORDS.search(answer["text"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", action="store_true", help="print every miss and alarm")
    args = parser.parse_args()

    from bot.safety import ACUTE, default_detector

    detector = default_detector()
    blind = yaml.safe_load((DATA / "crisis_blind.yml").read_text())
    answers = yaml.safe_load((DATA / "answers_blind.yml").read_text())["answers"]
    committed = yaml.safe_load((DATA / "crisis_set.yml").read_text())
    shown = []

    def note(label, text, detection):
        found = f"{detection.level}/{detection.reason}: {detection.matched!r}" if detection else "-"
        shown.append(f"{label} | {text} | {found}")

    # 1. blind crisis messages: every one acute
    crisis = blind["crisis"]
    acute = 0
    for item in crisis:
        d = detector.detect(item["text"])
        if d is not None and d.level == ACUTE:
            acute += 1
        else:
            note(f"BLIND-MISS[{item.get('category')}]", item["text"], d)
    print(f"1. crisis_blind acute: {acute}/{len(crisis)} = {acute / len(crisis):.1%}")

    # 2. the committed set
    missed = alarms = over = 0
    for item in committed["crisis"]:
        d = detector.detect(item["text"])
        if d is None or d.level != ACUTE:
            missed += 1
            note("SET-MISS", item["text"], d)
    for item in committed["hard_negatives"]:
        d = detector.detect(item["text"])
        if d is not None:
            alarms += 1
            note("SET-ALARM", item["text"], d)
    for item in committed["lower_risk"]:
        d = detector.detect(item["text"])
        if d is not None and d.level == ACUTE:
            over += 1
            note("SET-OVER", item["text"], d)
    n_crisis, n_neg, n_low = (len(committed[k]) for k in ("crisis", "hard_negatives", "lower_risk"))
    print(
        f"2. crisis_set: acute recall {n_crisis - missed}/{n_crisis} = "
        f"{1 - missed / n_crisis:.1%}; false alarms {alarms}/{n_neg} = {alarms / n_neg:.1%}; "
        f"lower-risk given the full alarm {over}/{n_low}"
    )

    # 3. blind idioms: no detection at all
    idioms = blind["not_crisis_idioms"]
    detected = 0
    for text in idioms:
        d = detector.detect(text)
        if d is not None:
            detected += 1
            note("IDIOM", text, d)
    print(f"3. not_crisis_idioms detected: {detected}/{len(idioms)}")

    # 4. blind ordinary answers: no acute; concern only for withdrawal history
    n_acute = n_concern = n_withdrawal = 0
    n_history = sum(_withdrawal_history(a) for a in answers)
    for answer in answers:
        d = detector.detect(answer["text"])
        if d is None:
            continue
        label = f"ANSWER[{answer.get('question')}]"
        if d.level == ACUTE:
            n_acute += 1
            note(label + " ACUTE", answer["text"], d)
        elif _withdrawal_history(answer):
            n_withdrawal += 1
            note(label + " concern(withdrawal history)", answer["text"], d)
        else:
            n_concern += 1
            note(label + " CONCERN", answer["text"], d)
    print(
        f"4. answers_blind ({len(answers)}): acute {n_acute}; concern {n_concern} "
        f"(+ {n_withdrawal}/{n_history} withdrawal-history answers as concern, allowed)"
    )

    if args.show:
        print()
        print("\n".join(shown))


if __name__ == "__main__":
    main()
