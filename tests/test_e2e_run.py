"""`make run`'s supervisor: one Ctrl-C stops every process it started; no orphans."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_ctrl_c_stops_every_child(tmp_path):
    env = dict(
        os.environ,
        RASA_PORT=str(free_port()),
        ACTION_PORT=str(free_port()),
        WEB_PORT=str(free_port()),
        CLEARINGHOUSE_SANDBOX_PORT=str(free_port()),
        CLEARINGHOUSE_URL="",
        RASA_AUTH_TOKEN=secrets.token_urlsafe(8),
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
        TRACKER_SQLITE_PATH=str(tmp_path / "tracker.db"),
    )
    env.pop("ACTION_ENDPOINT_URL", None)
    serve = subprocess.Popen(
        [sys.executable, "scripts/serve.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        said = []
        for line in serve.stdout:
            said.append(line)
            if line.startswith("Ready.") or time.monotonic() > deadline:
                break
        assert said and said[-1].startswith("Ready."), "".join(said[-30:])
        reply = httpx.post(
            f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook",
            json={"sender": "run", "message": "hi"},
            timeout=60,
        ).json()
        assert reply, "the started assistant answers"
        children = children_of(serve.pid)
        assert len(children) == 4  # actions, rasa, website, clearinghouse sandbox
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=30) == 0
        time.sleep(1)
        assert [pid for pid in children if alive(pid)] == []
    finally:
        if serve.poll() is None:
            serve.kill()


def test_a_token_that_starts_with_a_dash_still_starts_rasa():
    """token_urlsafe() starts with "-" one time in 64: the command line must not read it as
    an option (it once made a random `make run` or test run fail)."""
    from scripts.stack import Stack, environment

    env = environment({"RASA_AUTH_TOKEN": "-starts-with-a-dash"})
    rasa = next(p for p in Stack(env).plan() if p.name == "rasa server")
    assert "--auth-token=-starts-with-a-dash" in rasa.args
