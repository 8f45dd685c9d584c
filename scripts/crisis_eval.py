"""Recall and false-alarm rate of the crisis matcher on tests/data/crisis_set.yml.

Usage: python scripts/crisis_eval.py [--show]   (prints misses and false alarms with --show)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.safety import ACUTE, CrisisDetector  # noqa: E402

SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "crisis_set.yml"


def main() -> None:
    show = "--show" in sys.argv
    data = yaml.safe_load(SET.read_text())
    detector = CrisisDetector()
    misses = [c for c in data["crisis"] if (d := detector.detect(c["text"])) is None or d.level != ACUTE]
    alarms = [n for n in data["hard_negatives"] if detector.detect(n["text"]) is not None]
    low = data["lower_risk"]
    low_ok = [x for x in low if (d := detector.detect(x["text"])) is not None and d.level != ACUTE]
    n_c, n_n = len(data["crisis"]), len(data["hard_negatives"])
    print(f"acute recall: {n_c - len(misses)}/{n_c} = {(n_c - len(misses)) / n_c:.1%}")
    print(f"false alarms: {len(alarms)}/{n_n} = {len(alarms) / n_n:.1%}")
    print(f"lower-risk answered gently: {len(low_ok)}/{len(low)}")
    if show:
        for c in misses:
            print("MISS", c.get("category"), "|", c["text"], "|", detector.detect(c["text"]))
        for n in alarms:
            print("ALARM", n.get("kind"), "|", n["text"], "|", detector.detect(n["text"]))
        for x in low:
            d = detector.detect(x["text"])
            if d is None or d.level == ACUTE:
                print("LOW", "|", x["text"], "|", d)


if __name__ == "__main__":
    main()
