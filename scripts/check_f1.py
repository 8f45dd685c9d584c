"""Fail when the held-out NLU macro F1 drops under the threshold.

The threshold is set a little under the measured value (see README), so a real regression
fails CI while run-to-run noise of DIET training does not.
"""

import json
import sys
from pathlib import Path

THRESHOLD = 0.80


def main(path: str) -> int:
    report = json.loads(Path(path).read_text())
    f1 = report["macro avg"]["f1-score"]
    weakest = sorted(
        (v["f1-score"], k)
        for k, v in report.items()
        if isinstance(v, dict)
        and "support" in v
        and k not in ("macro avg", "weighted avg", "micro avg")
    )[:3]
    print(
        f"held-out intent macro F1 = {f1:.3f} (threshold {THRESHOLD}); weakest: "
        + ", ".join(f"{k} {v:.2f}" for v, k in weakest)
    )
    return 0 if f1 >= THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
