"""Shared fixtures. Unit tests use a throwaway SQLite app database; e2e tests start the real
action server and Rasa server once per session, on their own ports and databases."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The tests run in development (a PHI key generated under var/), said explicitly: unset,
# APP_ENV means production (bot.config). Tests of the production rules set or remove it.
os.environ["APP_ENV"] = "development"


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own on the machine's server (skipped when there is none),
    as a URL; its app engine is disposed and the database dropped afterwards."""
    import psycopg2

    name = f"iop_{prefix}_{secrets.token_hex(4)}"
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is unreachable ({exc})")
    admin.autocommit = True
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield url
    finally:
        from bot.store import _engines

        engine = _engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture()
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def always_staffed(state: Path) -> Path:
    """The sample profile without the coordinators' hours: these servers run at any hour,
    and the tests of "someone can join" should not depend on the clock (the hours have
    their own tests with a fixed clock)."""
    import yaml

    profile = yaml.safe_load((ROOT / "bot" / "profile" / "program.yml").read_text())
    del profile["facts"]["program"]["coordinator_schedule"]
    path = state / "profile.yml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The real servers, as `make run` starts them, with this session's own state."""
    from scripts.stack import Stack, scratch_environment

    state = tmp_path_factory.mktemp("stack")
    env = scratch_environment(state, {"PROGRAM_PROFILE": str(always_staffed(state))})
    running = Stack(env, log_dir=state / "log").start()
    yield running
    running.stop()


ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            headless=True,
            # The machine's network is closed: keep Chromium from calling home.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture()
def new_page(browser, request):
    """Pages in fresh, isolated browser contexts; a screenshot of each is saved on failure."""
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                page.screenshot(
                    path=str(ARTIFACTS / f"{request.node.name}-{i}-{j}.png"), full_page=True
                )
    for context in contexts:
        context.close()
