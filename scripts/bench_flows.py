"""Benchmarks of the intake flows as a person sees them (not a test), through the real
servers with the sandbox clearinghouse and the built-in scheduler:

- screening: a scripted person does the whole screening to an IOP-fit recommendation;
- insurance check: Jane Doe (Stedi's mock member) from "check my insurance" to the answer;
  the wait after the last field (the real-time 270/271 round trip) is reported apart;
- booking: from "book an assessment" to the confirmation code.

Usage: .venv/bin/python scripts/bench_flows.py [--runs N]
Writes results/flows.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench import pct  # noqa: E402
from scripts.stack import Stack, scratch_environment  # noqa: E402
from tests.e2e import ScreeningUser, iop_fit_answer, new_sender, say, texts  # noqa: E402

JANE = [
    "/check_insurance",
    "I agree",
    "Aetna",
    "PPO",
    "AETNA12345",
    "my own",
    "Jane",
    "Doe",
    "04/04/2004",
]
BOOKING = ["Jamie Rivera", "(512) 555-0142", "jamie@example.com", "Text and email", "yes"]


def summary(values):
    return {
        "median_s": round(statistics.median(values), 3),
        "p95_s": round(pct(values, 0.95), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
        "runs": len(values),
    }


def screening(stack, runs):
    times, turns = [], []
    for _ in range(runs):
        user = ScreeningUser(stack, new_sender("bench"), iop_fit_answer)
        start = time.perf_counter()
        user.start()
        last = user.run_to_end()
        times.append(time.perf_counter() - start)
        turns.append(user.turns)
        assert any("good fit" in t for t in texts(last)), texts(last)
    return {"turns": turns[0], **summary(times)}


def insurance(stack, runs):
    whole, check = [], []
    for _ in range(runs):
        sender = new_sender("bench")
        start = time.perf_counter()
        for text in JANE[:-1]:
            say(stack, sender, text)
        before = time.perf_counter()
        said = " ".join(texts(say(stack, sender, JANE[-1])))
        end = time.perf_counter()
        assert "estimate" in said, said
        whole.append(end - start)
        check.append(end - before)
    return {"turns": len(JANE), "whole_flow": summary(whole), "eligibility_turn": summary(check)}


def booking(stack, runs):
    times, turns = [], []
    for _ in range(runs):
        sender = new_sender("bench")
        start = time.perf_counter()
        n = 0
        for text in ["/book_appointment", "I agree", "Central"]:
            offered = say(stack, sender, text)
            n += 1
        for text in [offered[-1]["buttons"][0]["payload"]] + BOOKING:
            said = texts(say(stack, sender, text))
            n += 1
        times.append(time.perf_counter() - start)
        turns.append(n)
        assert said[0].startswith("You're booked!"), said
    return {"turns": turns[0], **summary(times)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-flows-"))
    env = scratch_environment(state)
    stack = Stack(env, log_dir=state / "log")
    print("starting servers…", flush=True)
    stack.start()
    try:
        say(stack, new_sender("warm"), "hi")
        results = {
            "screening": screening(stack, args.runs),
            "insurance_check": insurance(stack, args.runs * 2),
            "booking": booking(stack, args.runs),
        }
    finally:
        stack.stop()
    out = ROOT / "results" / "flows.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
