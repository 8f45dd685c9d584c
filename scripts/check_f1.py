"""Fail when the held-out NLU results drop under the gate.

Two thresholds, both checked and both printed:
- the macro F1 over the intents with at least MIN_SUPPORT held-out examples must be at
  least THRESHOLD (Rasa's own macro average, over every label, is printed too);
- every one of those intents' F1 must be at least INTENT_FLOOR, so one intent cannot
  quietly collapse behind a good average.

The FAQ topics added in issue 17 have one to three held-out examples here (questions the set
already had, relabeled when their topic got its own intent); they are measured on the blind
FAQ set instead (scripts/faq_eval.py).

The thresholds sit a little under the measured values (see README), so a real regression
fails CI while run-to-run noise of DIET training does not.
"""

import json
import sys
from pathlib import Path

THRESHOLD = 0.90  # macro F1 (issue 12); measured 0.919
INTENT_FLOOR = 0.75  # F1 of every intent (issue 12); weakest measured 0.77
# The floor applies to intents with at least this many held-out examples: with one or two,
# a single miss reads as F1 0 or 0.5, and an intent that was only ever predicted (support
# 0) has no F1 of its own; its wrong predictions already lower the others' precision.
MIN_SUPPORT = 4
AVERAGES = ("macro avg", "weighted avg", "micro avg")


def main(path: str) -> int:
    report = json.loads(Path(path).read_text())
    rasa_macro = report["macro avg"]["f1-score"]
    per_intent = sorted(
        (v["f1-score"], k)
        for k, v in report.items()
        if isinstance(v, dict) and v.get("support", 0) >= MIN_SUPPORT and k not in AVERAGES
    )
    f1 = sum(v for v, _ in per_intent) / len(per_intent)
    # Rounded: 3 of 5 recalled at full precision is F1 0.75 exactly, stored as 0.74999….
    below = [(v, k) for v, k in per_intent if round(v, 6) < INTENT_FLOOR]
    macro_ok = f1 >= THRESHOLD
    print(
        f"held-out intent macro F1 = {f1:.3f} over {len(per_intent)} intents with "
        f">= {MIN_SUPPORT} examples (threshold {THRESHOLD}): "
        + ("ok" if macro_ok else "FAIL")
        + f"; over every label {rasa_macro:.3f}"
    )
    print(
        f"weakest intents (floor {INTENT_FLOOR}): "
        + ", ".join(f"{k} {v:.2f}" for v, k in per_intent[:3])
    )
    if below:
        print("intents under the floor: " + ", ".join(f"{k} {v:.2f}" for v, k in below))
    return 0 if macro_ok and not below else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
