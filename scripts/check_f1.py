"""Fail when the held-out NLU results drop under the gate.

Two thresholds, both checked and both printed:
- the macro F1 over all intents must be at least THRESHOLD;
- every single intent's F1 must be at least INTENT_FLOOR, so one intent cannot quietly
  collapse behind a good average.

The thresholds sit a little under the measured values (see README), so a real regression
fails CI while run-to-run noise of DIET training does not.
"""

import json
import sys
from pathlib import Path

THRESHOLD = 0.83  # macro F1 over all intents (issue 12 asks 0.90: not reached yet)
INTENT_FLOOR = 0.45  # F1 of every intent (issue 12 asks 0.75: not reached yet)
AVERAGES = ("macro avg", "weighted avg", "micro avg")


def main(path: str) -> int:
    report = json.loads(Path(path).read_text())
    f1 = report["macro avg"]["f1-score"]
    per_intent = sorted(
        (v["f1-score"], k)
        for k, v in report.items()
        if isinstance(v, dict) and "support" in v and k not in AVERAGES
    )
    below = [(v, k) for v, k in per_intent if v < INTENT_FLOOR]
    macro_ok = f1 >= THRESHOLD
    print(
        f"held-out intent macro F1 = {f1:.3f} (threshold {THRESHOLD}): "
        + ("ok" if macro_ok else "FAIL")
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
