"""Shared fixtures. Unit tests use a throwaway SQLite app database; e2e tests start the real
action server and Rasa server once per session, on their own ports and databases."""
from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The real servers, as `make run` starts them, with this session's own state."""
    from scripts.stack import Stack, environment

    state = tmp_path_factory.mktemp("stack")
    env = environment({
        "RASA_PORT": str(_free_port()),
        "ACTION_PORT": str(_free_port()),
        "RASA_AUTH_TOKEN": secrets.token_urlsafe(16),
        "DATABASE_URL": f"sqlite:///{state / 'app.db'}",
        "TRACKER_SQLITE_PATH": str(state / "tracker.db"),
        "RASA_ENDPOINTS": "endpoints.yml",
        "PROGRAM_PROFILE": "",
    })
    env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{env['ACTION_PORT']}/webhook"
    running = Stack(env, log_dir=state / "log").start()
    yield running
    running.stop()
