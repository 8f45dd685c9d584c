"""`make run`'s supervisor: one Ctrl-C stops every process it started, no orphans; a process
that dies is restarted while the others (the Rasa server's crisis reply) keep running."""

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List

import httpx
import pytest

from scripts.stack import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def children_of(pid: int) -> Dict[int, str]:
    """The direct children of `pid`: their command lines by pid."""
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout
    return {
        int(pid): args
        for pid, _, args in (line.strip().partition(" ") for line in out.splitlines())
    }


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def in_groups(groups) -> List[int]:
    """Live processes whose process group is one of `groups` (a child's grandchildren too)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        if fields[0] != "Z" and int(fields[2]) in groups:
            found.append(int(stat.parent.name))
    return found


class Serve:
    """scripts/serve.py on free ports with its own databases; a thread collects its output
    (stdout and stderr together), so the pipe never fills while the test waits."""

    def __init__(self, tmp_path: Path):
        self.env = dict(
            os.environ,
            RASA_PORT=str(free_port()),
            ACTION_PORT=str(free_port()),
            WEB_PORT=str(free_port()),
            CLEARINGHOUSE_SANDBOX_PORT=str(free_port()),
            CLEARINGHOUSE_URL="",
            SMTP_SANDBOX_PORT=str(free_port()),
            TWILIO_SANDBOX_PORT=str(free_port()),
            SMTP_HOST="",
            TWILIO_ACCOUNT_SID="",
            MAIL_DIR=str(tmp_path / "mail"),
            SMS_DIR=str(tmp_path / "sms"),
            RASA_AUTH_TOKEN=secrets.token_urlsafe(8),
            ACTION_SERVER_TOKEN=secrets.token_urlsafe(24),
            APP_ENV="development",  # as the .env that make creates says
            DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
            TRACKER_SQLITE_PATH=str(tmp_path / "tracker.db"),
            PYTHONUNBUFFERED="1",
        )
        self.env.pop("ACTION_ENDPOINT_URL", None)
        self.rasa_url = f"http://127.0.0.1:{self.env['RASA_PORT']}"
        self.lines: List[str] = []
        self._changed = threading.Condition()
        self._ended = False
        self.popen = subprocess.Popen(
            [sys.executable, "scripts/serve.py"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, wanted: Callable[[str], bool], timeout: float) -> str:
        """The first line said so far that is `wanted`; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((line for line in self.lines if wanted(line)), None)
                left = deadline - time.monotonic()
                if found is not None or self._ended or left <= 0:
                    break
                self._changed.wait(left)
        assert found is not None, "".join(self.lines[-30:])
        return found

    def say(self, text: str) -> httpx.Response:
        return httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": f"run-{secrets.token_hex(4)}", "message": text},
            timeout=60,
        )

    def stop(self) -> int:
        self.popen.send_signal(signal.SIGINT)
        return self.popen.wait(timeout=30)


@pytest.fixture()
def serve(tmp_path):
    running = Serve(tmp_path)
    try:
        running.wait_for(lambda line: line.startswith("Ready."), timeout=240)
        yield running
    finally:
        if running.popen.poll() is None:  # a failed test: still no orphans
            try:
                running.stop()
            except subprocess.TimeoutExpired:
                running.popen.kill()


def test_a_killed_action_server_is_restarted_while_rasa_keeps_answering(serve):
    """One start of `make run`'s supervisor (slow: kept to one): a killed child comes back
    while the Rasa server keeps answering, then one Ctrl-C stops every child, no orphans."""
    children = children_of(serve.popen.pid)
    actions = next(pid for pid, args in children.items() if "scripts.action_server" in args)
    os.killpg(actions, signal.SIGKILL)

    # At once, before the restart: the Rasa server is up and answers the crisis message.
    response = serve.say("I want to kill myself")
    assert response.status_code == 200, response.text
    from bot.profile import load_profile

    # The crisis answer is the Rasa server's own response: no action server needed.
    assert load_profile().crisis_text in [m.get("text") for m in response.json()]

    serve.wait_for(
        lambda line: line.startswith("action server exited (code -9); restarting in 1 s "),
        timeout=30,
    )
    serve.wait_for(lambda line: line.startswith("action server is healthy again"), timeout=75)
    health = httpx.get(f"http://127.0.0.1:{serve.env['ACTION_PORT']}/health", timeout=10)
    assert health.status_code == 200
    now = children_of(serve.popen.pid)
    restarted = next(pid for pid, args in now.items() if "scripts.action_server" in args)
    assert restarted != actions
    # clearinghouse, mail and text stand-ins, actions, Rasa, notification worker, website
    assert len(now) == 7, now  # nothing else was stopped or started twice
    assert {pid for pid in now if pid != restarted} == {pid for pid in children if pid != actions}

    reply = serve.say("how big are the groups?")
    assert reply.status_code == 200, reply.text
    assert [m for m in reply.json() if m.get("text")], "a normal question is answered again"

    assert serve.stop() == 0
    time.sleep(1)
    assert [pid for pid in {**children, **now} if alive(pid)] == []
    assert in_groups(set(children) | set(now)) == []


# A child that answers its health check, dies after a while, then fails at once on every
# restart (the marker file says it ran before).
FLAKY = """
import http.server, os, sys, threading
port, marker = int(sys.argv[1]), sys.argv[2]
if os.path.exists(marker):
    sys.exit(3)
open(marker, "w").close()
server = http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
threading.Timer(1.5, lambda: os._exit(3)).start()
server.serve_forever()
"""

SUPERVISOR = """
import os, sys
from pathlib import Path
from scripts.stack import Process, RestartPolicy, Stack

port, state = sys.argv[1], Path(sys.argv[2])

class Flaky(Stack):
    def plan(self):
        args = [sys.executable, str(state / "flaky.py"), port, str(state / "ran")]
        return [Process("flaky", args, f"http://127.0.0.1:{port}/", state / "flaky.log")]

stack = Flaky(dict(os.environ), log_dir=state)
try:
    stack.start(timeout=30)
    stack.supervise(RestartPolicy(first_delay=0.1, max_delay=0.4, loop_restarts=3))
except KeyboardInterrupt:
    pass
finally:
    stack.stop()
"""


def test_a_crash_loop_is_said_and_retried(tmp_path):
    (tmp_path / "flaky.py").write_text(FLAKY)
    (tmp_path / "supervisor.py").write_text(SUPERVISOR)
    supervisor = subprocess.Popen(
        [sys.executable, str(tmp_path / "supervisor.py"), str(free_port()), str(tmp_path)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    said = []
    watchdog = threading.Timer(60, supervisor.kill)  # the loop below never hangs the suite
    watchdog.start()
    try:
        for line in supervisor.stderr:
            said.append(line.strip())
            if "(restart 5)" in line:
                break
        supervisor.send_signal(signal.SIGINT)
        assert supervisor.wait(timeout=15) == 0
    finally:
        watchdog.cancel()
        if supervisor.poll() is None:
            supervisor.kill()
    assert said[:3] == [
        "flaky exited (code 3); restarting in 0.1 s (restart 1).",
        "flaky exited (code 3); restarting in 0.2 s (restart 2).",
        "flaky exited (code 3); restarting in 0.4 s (restart 3).",
    ], said
    crash_loop = (
        ". It keeps crashing (4 restarts in the last 120 s); still retrying, waiting up to "
        f"0.4 s between attempts; the other processes keep running; see {tmp_path}/flaky.log."
    )
    assert said[3] == "flaky exited (code 3); restarting in 0.4 s (restart 4)" + crash_loop
    assert said[4].startswith("flaky exited (code 3); restarting in 0.4 s (restart 5). It keeps")


def test_restarts_back_off_exponentially_up_to_30_seconds():
    from scripts.stack import RestartPolicy

    assert [RestartPolicy().delay(n) for n in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_token_that_starts_with_a_dash_still_starts_rasa():
    """token_urlsafe() starts with "-" one time in 64: the command line must not read it as
    an option (it once made a random `make run` or test run fail)."""
    from scripts.stack import Stack, environment

    env = environment({"RASA_AUTH_TOKEN": "-starts-with-a-dash"})
    rasa = next(p for p in Stack(env).plan() if p.name == "rasa server")
    # Not on the command line at all now: scripts.rasa_server adds it inside the process,
    # as one `--auth-token=…` argument (tests/test_channels.py).
    assert not any("-starts-with-a-dash" in arg for arg in rasa.args)
