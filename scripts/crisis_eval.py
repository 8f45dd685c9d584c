"""Recall and false alarms of crisis detection on a crisis set (default: the committed one).

Usage:
  python scripts/crisis_eval.py [--set PATH] [--model models/latest.tar.gz] [--show]
Without --model: the rule matcher alone (fast). With --model: the whole NLU pipeline of the
trained model (rules + classifier, as the server decides). A set has the lists `crisis`,
`hard_negatives` and `lower_risk` (see tests/data/crisis_set.yml).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def matcher_levels(texts):
    from bot.safety import default_detector

    detector = default_detector()
    return [(d.level if (d := detector.detect(t)) else None) for t in texts]


def model_levels(texts, model):
    from rasa.core.agent import Agent

    agent = Agent.load(model)

    async def parse_all():
        levels = []
        for text in texts:
            parsed = await agent.parse_message(text)
            ents = {e["entity"]: e["value"] for e in parsed.get("entities", [])}
            levels.append(
                ents.get("crisis_level", "acute") if parsed["intent"]["name"] == "crisis" else None
            )
        return levels

    return asyncio.run(parse_all())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default=str(ROOT / "tests" / "data" / "crisis_set.yml"))
    parser.add_argument("--model")
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    data = yaml.safe_load(Path(args.set).read_text())
    groups = {k: [x["text"] for x in data[k]] for k in ("crisis", "hard_negatives", "lower_risk")}
    levels = {
        k: (model_levels(v, args.model) if args.model else matcher_levels(v))
        for k, v in groups.items()
    }
    crisis, negatives, lower = (
        list(zip(groups[k], levels[k], strict=True))
        for k in ("crisis", "hard_negatives", "lower_risk")
    )
    missed = [t for t, level in crisis if level != "acute"]
    alarms = [t for t, level in negatives if level is not None]
    over = [t for t, level in lower if level == "acute"]
    print(f"{'model ' + args.model if args.model else 'rule matcher'} on {args.set}")
    recall = 1 - len(missed) / len(crisis)
    print(f"acute recall: {len(crisis) - len(missed)}/{len(crisis)} = {recall:.1%}")
    print(f"false alarms: {len(alarms)}/{len(negatives)} = {len(alarms) / len(negatives):.1%}")
    print(f"lower-risk given the full alarm: {len(over)}/{len(lower)}")
    if args.show:
        for label, items in (("MISS", missed), ("ALARM", alarms), ("OVER", over)):
            for t in items:
                print(label, "|", t)


if __name__ == "__main__":
    main()
