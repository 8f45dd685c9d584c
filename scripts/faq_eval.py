"""How the assistant answers the blind FAQ questions (issue 17): correct, honest or wrong.

Parses every question of tests/data/faq_blind.yml with the trained model (in process, the
same pipeline the Rasa server runs, FallbackClassifier and crisis component included), then
applies what action_answer_faq does: the answering rule (bot.faq.answerable), the plan-type
routing (bot.faq.answer_topic) and the profile's unfilled topics.

- correct: the asked topic's answer (for a topic the clinic left empty, its honest "I don't
  have that detail"); for an out-of-scope question, any honest reply;
- honest: "Did you mean …?", out of scope, or "I don't have that detail";
- wrong: another topic's answer, or another action (booking, screening…).

    .venv/bin/python scripts/faq_eval.py [--model models/latest.tar.gz] [--show] [--sweep]
    [--gate]   exit 1 over the limits below (make faq-test, part of make test)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bot import faq  # noqa: E402
from bot.dialog import faq_topic  # noqa: E402
from bot.profile import load_profile  # noqa: E402

BLIND = ROOT / "tests" / "data" / "faq_blind_4.yml"  # the newest unseen set
_AGREEMENT = faq.agreement
RULE = (faq.MIN_CONFIDENCE, faq.MIN_MARGIN)  # the rule in bot.faq, before any sweep
HONEST = ("unsure", "out_of_scope")
# Intents whose replies are honest for any question: "I'm not sure what that answer is for",
# the support message, or a person.
HONEST_INTENTS = ("inform", "share_struggle", "request_human")
# A flow that does what the question asks serves it better than the FAQ answer: "can I move
# my intake appointment?" starts rescheduling rather than describing how.
SERVED_BY_FLOW = {
    "cancellation": {"reschedule_appointment", "cancel_appointment"},
    "start_time": {"book_appointment"},
    "who_is_it_for": {"start_screening"},
    "insurance": {"check_insurance"},
    "ppo_coverage": {"check_insurance"},
}
# Small talk answered as small talk ("are you a bot?") is never a wrong topic.
SMALL_TALK = {"greet", "goodbye", "thanks", "bot_challenge"}
WRONG_MAX = 0.01  # issue 17: wrong-topic answers to answerable questions at most 1%
OUT_OF_SCOPE_WRONG_MAX = 0.04  # an out-of-scope question answered as a topic (measured 1/68)
# Issue 17: answered right at once on answerable questions; the fourth set measured 0.923.
CORRECT_MIN = 0.90


def reply_kind(parse: Dict[str, Any], text: str, known: set, previous: Optional[str] = None) -> str:
    """What the assistant does with one parsed message: "topic" (or "a+b" for two answers,
    "unknown:topic" for one the clinic left empty), "unsure", "out_of_scope", "intent:…"."""
    if any(e.get("entity") == "crisis_level" for e in parse.get("entities") or []):
        return "crisis"
    name = (parse.get("intent") or {}).get("name") or ""
    if name == "out_of_scope" or name in HONEST_INTENTS:
        return "out_of_scope"
    if name != "nlu_fallback" and faq_topic(name) is None:
        return "intent:" + name
    topics = faq.choose(parse.get("intent_ranking") or [], text, previous)
    if not topics:
        return "unsure"
    return "+".join(t if t in known else "unknown:" + t for t in topics)


def score(expected: str, got: str) -> str:
    """correct, honest or wrong; `expected` is a topic, "a+b" for a double, or "unknown"."""
    flow = got.removeprefix("intent:")
    if flow in SERVED_BY_FLOW.get(expected, ()) or (expected == "unknown" and flow in SMALL_TALK):
        return "correct"
    answered = [] if got in HONEST else got.split("+")
    if any(not a.startswith("unknown:") for a in answered if a):
        honest = False
    else:
        honest = got in HONEST or all(a.startswith("unknown:") for a in answered)
    if expected == "unknown":
        return "correct" if honest else "wrong"
    asked = expected.split("+")
    given = [a.removeprefix("unknown:") for a in answered]
    if given in (asked, asked[:1]):
        return "correct"
    if given and set(given) <= set(asked):
        return "honest"  # one of two questions answered: partial, not another topic
    return "honest" if honest else "wrong"


async def _parse_all(model: str, texts: List[str]) -> List[Dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)  # the parse log line would print every question
    agent = Agent.load(model)
    return [await agent.parse_message(t) for t in texts]


def offered(parse: Dict[str, Any], text: str) -> List[str]:
    """The topics on the "Did you mean …?" buttons: the two likeliest FAQ intents."""
    topics = [faq_topic(r.get("name")) for r in parse.get("intent_ranking") or []]
    return [faq.answer_topic(t, text) or t for t in topics if t][:2]


def evaluate(parses, questions, known, conf, margin, check=True) -> Tuple[Counter, Counter, list]:
    """Score every question under one rule (the thresholds and whether the second opinion
    must agree), set on bot.faq for the run."""
    faq.MIN_CONFIDENCE, faq.MIN_MARGIN = conf, margin
    # Without the second opinion: every reading agrees, but never clear-cut.
    faq.agreement = _AGREEMENT if check else (lambda intent, text: float("-inf"))
    answerable, unknown, rows = Counter(), Counter(), []
    for q, p in zip(questions, parses, strict=True):
        got = reply_kind(p, q["text"], known, q.get("previous"))
        verdict = score(q["topic"], got)
        (unknown if q["topic"] == "unknown" else answerable)[verdict] += 1
        if got == "unsure" and q["topic"] in offered(p, q["text"]):
            answerable["one_click"] += 1
        rows.append((verdict, q["topic"], got, q["text"]))
    return answerable, unknown, rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "latest.tar.gz"))
    ap.add_argument("--show", action="store_true", help="print every wrong and honest reply")
    ap.add_argument("--sweep", action="store_true", help="correct/wrong over thresholds")
    ap.add_argument("--gate", action="store_true", help="fail over the wrong/correct limits")
    ap.add_argument("--json", help="write the counts here")
    ap.add_argument("--blind", default=str(BLIND), help="the question set (YAML)")
    ap.add_argument("--wrong-max", type=float, default=WRONG_MAX)
    ap.add_argument("--correct-min", type=float, default=CORRECT_MIN)
    args = ap.parse_args()

    blind = yaml.safe_load(Path(args.blind).read_text())
    questions = blind["questions"]
    # Two questions in one message, and a follow-up after a first answer.
    doubles = [
        {"text": d["text"], "topic": "+".join(d["topics"])} for d in blind.get("doubles", [])
    ]
    follow_ups = [
        {"text": f["then"], "topic": f["topic"], "previous": f["first_topic"]}
        for f in blind.get("followups", [])
    ]
    profile = load_profile()
    known = set(profile.answers)
    everything = questions + doubles + follow_ups
    parsed = asyncio.run(_parse_all(args.model, [q["text"] for q in everything]))
    parses = parsed[: len(questions)]

    if args.sweep:
        print(
            "check confidence margin | answerable: correct honest (of which the asked topic is "
            "a button) wrong | out of scope: ok/wrong"
        )
        for check in (False, True):
            for conf in (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
                for margin in (0.0, 0.2, 0.4):
                    a, u, _ = evaluate(parses, questions, known, conf, margin, check)
                    n = a["correct"] + a["honest"] + a["wrong"]
                    print(
                        f"{'yes' if check else 'no ':5} {conf:.1f} {margin:.1f} | "
                        f"{a['correct'] / n:.3f} {a['honest'] / n:.3f} ({a['one_click'] / n:.3f}) "
                        f"{a['wrong'] / n:.3f} | {u['correct']}/{u['wrong']}"
                    )

    a, u, rows = evaluate(parses, questions, known, *RULE)
    extra = {}
    for name, items in (("doubles", doubles), ("follow-ups", follow_ups)):
        start = len(questions) + (0 if name == "doubles" else len(doubles))
        counts, _, more = evaluate(parsed[start : start + len(items)], items, known, *RULE)
        extra[name] = counts
        rows += more
    n_a, n_u = a["correct"] + a["honest"] + a["wrong"], sum(u.values())
    wrong = a["wrong"] / n_a
    wrong_oos = u["wrong"] / n_u
    correct = a["correct"] / n_a
    if args.show:
        for verdict, expected, got, text in sorted(rows):
            if verdict != "correct":
                print(f"{verdict:7} {expected:22} -> {got:28} | {text}")
    print(
        f"{Path(args.blind).name} (rule: second opinion agrees; confidence >= {RULE[0]}, margin >= "
        f"{RULE[1]}, or confidence >= {faq.FAIR_CONFIDENCE} and a clear second opinion): "
        f"answerable {n_a}: correct {a['correct']} ({correct:.1%}), honest {a['honest']} "
        f"({a['one_click']} offer the asked topic as a button), "
        f"wrong {a['wrong']} ({wrong:.1%}, limit {args.wrong_max:.1%}); out of scope {n_u}: honest "
        f"{u['correct']}, wrong {u['wrong']} ({wrong_oos:.1%}, "
        f"limit {OUT_OF_SCOPE_WRONG_MAX:.0%}); "
        f"correct floor {args.correct_min:.0%}"
    )
    for name, counts in extra.items():
        if not sum(counts.values()):
            continue
        print(
            f"{name}: answered right {counts['correct']}/"
            f"{counts['correct'] + counts['honest'] + counts['wrong']}, "
            f"honest or partial {counts['honest']}, wrong {counts['wrong']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"answerable": a, "unknown": u}, indent=2))
    extra_wrong = sum(c["wrong"] for c in extra.values())
    if args.gate and (
        wrong > args.wrong_max
        or wrong_oos > OUT_OF_SCOPE_WRONG_MAX
        or correct < args.correct_min
        or extra_wrong > 0
    ):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
