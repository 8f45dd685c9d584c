"""Benchmarks (not a test): training time, start time, message latency, memory, matcher cost.

Usage: .venv/bin/python scripts/bench.py [--skip-train]
Writes results/bench.json and prints a summary.
"""

from __future__ import annotations

import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.safety import CrisisDetector  # noqa: E402
from scripts.stack import VENV_BIN, Stack, scratch_environment  # noqa: E402

QUESTIONS = [
    "how many people are in a group?",
    "do you take PPO insurance",
    "can my dog join me",
    "how long is the program",
    "what does it cost",
    "can my wife and I do it together",
    "who are the therapists",
    "what device do I need",
    "hi",
    "thanks",
]


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def bench_training() -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [str(VENV_BIN / "rasa"), "train", "--force", "--out", out, "--quiet"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def rss_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def conversation(stack, sender, n, latencies, lock):
    with httpx.Client(timeout=60) as client:
        for i in range(n):
            start = time.perf_counter()
            r = client.post(
                f"{stack.rasa_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": QUESTIONS[i % len(QUESTIONS)]},
            )
            elapsed = time.perf_counter() - start
            assert 200 <= r.status_code < 300 and r.json(), r.text
            with lock:
                latencies.append(elapsed * 1000)


def bench_latency(stack, users: int, per_user: int):
    latencies: List[float] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=conversation,
            args=(stack, f"bench-{users}-{u}-{secrets.token_hex(3)}", per_user, latencies, lock),
        )
        for u in range(users)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "messages": len(latencies),
        "p50_ms": round(pct(latencies, 0.5), 1),
        "p95_ms": round(pct(latencies, 0.95), 1),
    }


def bench_matcher():
    detector = CrisisDetector()
    data = yaml.safe_load((ROOT / "tests" / "data" / "crisis_set.yml").read_text())
    texts = [x["text"] for k in ("crisis", "hard_negatives") for x in data[k]]
    for t in texts[:20]:
        detector.detect(t)  # warm up
    times = []
    for t in texts:
        start = time.perf_counter()
        detector.detect(t)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "messages": len(texts),
        "mean_ms": round(statistics.mean(times), 2),
        "p95_ms": round(pct(times, 0.95), 2),
    }


def main() -> None:
    results = {}
    if "--skip-train" not in sys.argv:
        print("training (forced)…", flush=True)
        results["training_s"] = round(bench_training(), 1)
    state = Path(tempfile.mkdtemp(prefix="bench-"))
    env = scratch_environment(state)
    stack = Stack(env, log_dir=state / "log")
    print("starting servers…", flush=True)
    start = time.perf_counter()
    stack.start()
    results["start_s"] = round(time.perf_counter() - start, 1)
    try:
        bench_latency(stack, 1, 5)  # warm up
        results["latency_1_user"] = bench_latency(stack, 1, 100)
        results["latency_20_users"] = bench_latency(stack, 20, 20)
        rasa = next(p for p in stack.processes if p.name == "rasa server")
        actions = next(p for p in stack.processes if p.name == "action server")
        assert rasa.popen is not None and actions.popen is not None  # stack.start() ran them
        results["rasa_peak_rss_mb"] = round(rss_peak_kb(rasa.popen.pid) / 1024, 1)
        results["action_server_peak_rss_mb"] = round(rss_peak_kb(actions.popen.pid) / 1024, 1)
    finally:
        stack.stop()
    results["crisis_matcher"] = bench_matcher()
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
