"""Widget benchmark (not a test): page load to first bot message in headless Chromium,
and screenshots of the demo site at phone (360 px) and desktop (1280 px) widths.

Usage: .venv/bin/python scripts/bench_widget.py   -> results/widget.json, results/*.png
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.stack import Stack, scratch_environment  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def first_message_seconds(browser, url: str) -> float:
    context = browser.new_context()
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.get_by_role("button", name="Questions? Chat with us").click()
    page.locator(".iop-chat-bot").first.wait_for()
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed


def screenshot(browser, url: str, width: int, height: int, path: Path, mobile: bool) -> None:
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile)
    page = context.new_page()
    page.goto(url)
    page.get_by_role("button", name="Questions? Chat with us").click()
    page.locator(".iop-chat-bot").first.wait_for()
    page.get_by_label("Your message").fill("can my partner and I join together?")
    page.get_by_role("button", name="Send").click()
    page.wait_for_function("document.querySelectorAll('.iop-chat-bot').length > 1")
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    context.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    state = Path(tempfile.mkdtemp(prefix="bench-widget-"))
    env = scratch_environment(state)
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    with Stack(env, log_dir=state / "log") as stack, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        url = stack.web_url + "/"
        first_message_seconds(browser, url)  # warm up
        runs = [first_message_seconds(browser, url) for _ in range(5)]
        screenshot(browser, url, 360, 740, out / "widget-phone-360.png", mobile=True)
        screenshot(browser, url, 1280, 800, out / "widget-desktop-1280.png", mobile=False)
        browser.close()
    results = {
        "page_load_to_first_bot_message_s": {
            "median": round(statistics.median(runs), 2),
            "max": round(max(runs), 2),
            "runs": len(runs),
        }
    }
    (out / "widget.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
