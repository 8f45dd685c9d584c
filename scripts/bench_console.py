"""Benchmarks of the coordinator console (not a test), through the real servers:

- queue update: a person asks for a person over the REST channel; how long from the bot's
  reply until the signed-in console's event stream shows them;
- coordinator message to widget: the widget in headless Chromium asks for a person, a
  coordinator claims and sends messages; how long from the console's POST until the
  message shows in the widget;
- crisis alert: a crisis message over the REST channel; how long from sending it until the
  clinic's webhook (stand_ins.webhook, over HTTP) has the alert: the escalation, the outbox
  row and the notification worker's poll and POST.

Usage: .venv/bin/python scripts/bench_console.py [--runs N]
Writes results/console.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.console.accounts import add_coordinator  # noqa: E402
from scripts.bench import pct  # noqa: E402
from scripts.stack import Stack, scratch_environment  # noqa: E402
from stand_ins.webhook import Webhook  # noqa: E402
from tests.e2e import new_sender, say  # noqa: E402

PASSWORD = "bench password 123"


def queue_latency(stack: Stack, runs: int) -> dict:
    client, _ = signed_in_client(stack)
    seen: dict = {}

    def listen() -> None:
        with client.stream("GET", "/console/events") as events:
            for line in events.iter_lines():
                if line.startswith("data: "):
                    now = time.perf_counter()
                    for item in json.loads(line[6:]):
                        seen.setdefault(item["conversation_id"], now)
                if len(seen) >= runs:
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1)
    waits = []
    for _ in range(runs):
        sender = new_sender("bench")
        say(stack, sender, "/request_human")
        replied = time.perf_counter()
        deadline = replied + 10
        while sender not in seen and time.perf_counter() < deadline:
            time.sleep(0.01)
        if sender in seen:
            waits.append(max(0.0, seen[sender] - replied))
        time.sleep(0.2)
    return {
        "runs": runs,
        "seen": len(waits),
        "p50_ms": round(pct(waits, 0.5) * 1000),
        "p95_ms": round(pct(waits, 0.95) * 1000),
    }


def signed_in_client(stack: Stack) -> tuple:
    email = f"bench-{secrets.token_hex(3)}@example.org"
    add_coordinator(email, "Bench", PASSWORD, db_url=stack.env["DATABASE_URL"])
    client = httpx.Client(base_url=stack.web_url, timeout=60)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text).group(1)
    client.post("/console/login", data={"csrf": token, "email": email, "password": PASSWORD})
    csrf = re.search(r'data-csrf="([^"]+)"', client.get("/console/").text).group(1)
    return client, csrf


def widget_latency(stack: Stack, runs: int) -> dict:
    """The widget in headless Chromium (websocket, as people use it) asks for a person; a
    coordinator claims and sends `runs` messages; each is timed from the console's POST until
    it shows in the widget."""
    from playwright.sync_api import sync_playwright

    from scripts.bench_widget import CHROMIUM_ARGS

    client, csrf = signed_in_client(stack)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(stack.web_url + "/")
        page.get_by_role("button", name="Questions? Chat with us").click()
        page.locator(".iop-chat-bot").first.wait_for()
        session_id = page.evaluate("JSON.parse(Object.values(sessionStorage)[0]).sessionId")
        page.get_by_label("Your message").fill("can I talk to a person")
        page.get_by_role("button", name="Send").click()
        mine: list = []
        for _ in range(100):
            items = client.get("/console/queue.json").json()
            mine = [i for i in items if i["conversation_id"] == session_id]
            if mine:
                break
            time.sleep(0.1)
        escalation = mine[0]["id"]
        client.post(f"/console/claim/{escalation}", headers={"X-CSRF-Token": csrf})
        page.get_by_text("has joined the chat").wait_for()
        waits = []
        for n in range(runs):
            text = f"bench message {n} {secrets.token_hex(3)}"
            sent = time.perf_counter()
            client.post(
                f"/console/conversation/{escalation}/message",
                json={"text": text},
                headers={"X-CSRF-Token": csrf},
            )
            page.get_by_text(text).wait_for(timeout=10_000)
            waits.append(time.perf_counter() - sent)
        browser.close()
    return {
        "runs": runs,
        "p50_ms": round(pct(waits, 0.5) * 1000),
        "p95_ms": round(pct(waits, 0.95) * 1000),
    }


def alert_latency(stack: Stack, hook: Webhook, runs: int) -> dict:
    waits = []
    for n in range(runs):
        before = len(hook.received)
        sent = time.time()
        say(stack, new_sender("bench"), "i want to kill myself tonight")
        got = hook.wait_for(before + 1, timeout=30)
        if len(got) <= before:
            raise SystemExit(f"alert {n} never arrived")
        waits.append(got[before]["_at"] - sent)
    return {
        "runs": runs,
        "p50_ms": round(pct(waits, 0.5) * 1000),
        "p95_ms": round(pct(waits, 0.95) * 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-console-"))
    hook = Webhook().start()
    env = scratch_environment(state, {"ALERT_WEBHOOK_URL": hook.url})
    stack = Stack(env, log_dir=state / "log")
    print("starting servers…", flush=True)
    stack.start()
    try:
        say(stack, new_sender("warm"), "hi")
        results = {
            "queue_update_after_reply": queue_latency(stack, args.runs),
            "coordinator_message_to_widget": widget_latency(stack, args.runs),
            "crisis_message_to_webhook_alert": alert_latency(stack, hook, args.runs),
        }
    finally:
        stack.stop()
        hook.stop()
    out = ROOT / "results" / "console.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
