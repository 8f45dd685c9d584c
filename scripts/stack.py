"""Start and stop the assistant's processes: the action server and the Rasa server.

Used by `make run` (scripts/serve.py) and by the end-to-end tests, so both exercise the
same start-up. Every child gets its own process group; stopping the stack stops the groups,
so no grandchild outlives it.

`make run` also calls `Stack.supervise()`: a child that exits is started again (with
backoff) while the others keep running, so the Rasa server keeps answering, crisis messages
included, when the action server dies. The tests do not supervise unless they ask for it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Deque, Dict, List, NoReturn, Optional

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "latest.tar.gz"

# Embedded defaults; .env (python-dotenv) and the real environment override them.
DEFAULTS: Dict[str, str] = {
    "RASA_PORT": "5005",
    "ACTION_PORT": "5055",
    "WEB_PORT": "8000",
    "CLEARINGHOUSE_SANDBOX_PORT": "8089",
    "SMTP_SANDBOX_PORT": "8025",
    "TWILIO_SANDBOX_PORT": "8026",
    "RASA_ENDPOINTS": "endpoints.yml",
    "TRACKER_SQLITE_PATH": str(ROOT / "var" / "tracker.db"),
    # endpoints.production.yml names them; an older .env may not have them yet.
    "TRACKER_DB_SSLMODE": "prefer",
    "REDIS_PASSWORD": "",
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore",
    # Sanic (Rasa, the website) waits this long for open connections when stopped; a
    # widget's socket.io long-poll would otherwise hold every stop and restart for 15 s.
    "SANIC_GRACEFUL_SHUTDOWN_TIMEOUT": "3",
    # Rasa's level (the action server logs at INFO). At DEBUG Rasa logs what people type.
    "LOG_LEVEL": "INFO",
}


def environment(overrides: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    from dotenv import dotenv_values

    env = dict(DEFAULTS)
    env.update({k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None})
    env.update(os.environ)
    env.update(overrides or {})
    env.setdefault("ACTION_ENDPOINT_URL", f"{action_address(env)}/webhook")
    if not env.get("CLEARINGHOUSE_URL", "").strip():
        # No real clearinghouse configured: run the bundled sandbox and point the bot at it.
        env["CLEARINGHOUSE_URL"] = f"http://127.0.0.1:{env['CLEARINGHOUSE_SANDBOX_PORT']}"
        env["RUN_CLEARINGHOUSE_SANDBOX"] = "1"
        env["CLEARINGHOUSE_API_KEY"] = env.get("CLEARINGHOUSE_API_KEY") or "sandbox"
    if not env.get("SMTP_HOST", "").strip():
        # No mail server configured: the local one, which keeps each message under var/mail.
        env.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=env["SMTP_SANDBOX_PORT"],
            SMTP_STARTTLS="false",
            SMTP_USER="",
            RUN_SMTP_SANDBOX="1",
        )
    if not env.get("TWILIO_ACCOUNT_SID", "").strip():
        # No Twilio account: the local stand-in (texts kept under var/sms), with credentials
        # of its own so the Basic auth and the STOP webhook's signature are checked for real.
        env.update(
            TWILIO_ACCOUNT_SID="AC" + secrets.token_hex(16),
            TWILIO_AUTH_TOKEN=secrets.token_hex(16),
            TWILIO_FROM=env.get("TWILIO_FROM") or "+15550100100",
            TWILIO_API_URL=f"http://127.0.0.1:{env['TWILIO_SANDBOX_PORT']}",
            RUN_TWILIO_SANDBOX="1",
        )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if not env.get("RASA_AUTH_TOKEN"):
        raise SystemExit("RASA_AUTH_TOKEN is not set: copy .env.example to .env (make does this).")
    env["LOG_LEVEL"] = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if env["LOG_LEVEL"] == "DEBUG" and env.get("APP_ENV") != "development":
        raise SystemExit(
            "LOG_LEVEL=DEBUG makes Rasa write what people type into its log: "
            "allowed only with APP_ENV=development."
        )
    (ROOT / "var").mkdir(exist_ok=True)
    return env


def action_address(env: Dict[str, str]) -> str:
    """Where Rasa and the supervisor reach the action server: ACTION_HOST, or loopback when
    it listens on every interface (a container's private network)."""
    host = env.get("ACTION_HOST", "").strip() or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{env['ACTION_PORT']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_environment(state: Path, overrides: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """A stack of its own for a test session or a benchmark: development (unless
    `overrides` say otherwise), free ports, fresh API and action-server tokens, the app
    database and tracker store under `state`, the sandbox clearinghouse, the default
    profile. `overrides` win (e.g. the production stores)."""
    env = environment(
        {
            "RASA_PORT": str(free_port()),
            "ACTION_PORT": str(free_port()),
            "WEB_PORT": str(free_port()),
            "CLEARINGHOUSE_SANDBOX_PORT": str(free_port()),
            "SMTP_SANDBOX_PORT": str(free_port()),
            "TWILIO_SANDBOX_PORT": str(free_port()),
            "SMTP_HOST": "",
            "TWILIO_ACCOUNT_SID": "",
            "MAIL_DIR": str(state / "mail"),
            "SMS_DIR": str(state / "sms"),
            "CLEARINGHOUSE_URL": "",
            "RASA_AUTH_TOKEN": secrets.token_urlsafe(16),
            "ACTION_SERVER_TOKEN": secrets.token_urlsafe(24),
            "APP_ENV": "development",  # never by default (bot.config): said explicitly
            "DATABASE_URL": f"sqlite:///{state / 'app.db'}",
            "TRACKER_SQLITE_PATH": str(state / "tracker.db"),
            "RASA_ENDPOINTS": "endpoints.yml",
            "PROGRAM_PROFILE": "",
            **(overrides or {}),
        }
    )
    env["ACTION_ENDPOINT_URL"] = f"{action_address(env)}/webhook"
    return env


@dataclass
class Process:
    name: str
    args: List[str]
    health_url: str  # empty: no health endpoint
    log_path: Path
    popen: Optional[subprocess.Popen] = None
    echo: bool = False  # output to the terminal (make run) instead of log_path


@dataclass
class RestartPolicy:
    """How `Stack.supervise()` restarts a child that exits."""

    first_delay: float = 1.0  # then 2, 4, 8 … s
    max_delay: float = 30.0
    healthy_reset: float = 60.0  # up this long: the next restart waits first_delay again
    loop_restarts: int = 5  # more restarts than this within loop_window: a crash loop
    loop_window: float = 120.0
    start_timeout: float = 240.0  # not healthy this long after a restart: kill, try again

    def delay(self, streak: int) -> float:
        """The wait before restart number `streak` + 1 of a run of quick failures."""
        return min(self.max_delay, self.first_delay * 2 ** min(streak, 30))


@dataclass
class _Watch:
    """What the supervisor knows about one child."""

    proc: Process
    state: str = "up"  # up | waiting (restart due at `due`) | starting (until healthy)
    since: float = 0.0  # when it last became healthy (up) or was started (starting)
    due: float = 0.0
    streak: int = 0  # restarts since it last stayed up for healthy_reset
    restarts: int = 0
    recent: Deque[float] = field(default_factory=deque)  # when the recent restarts were


@dataclass
class Stack:
    env: Dict[str, str]
    log_dir: Path = ROOT / "var" / "log"
    processes: List[Process] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def rasa_ports(self) -> List[str]:
        """RASA_PORT, then RASA_REPLICA_PORTS (comma-separated): the Rasa replicas to run,
        sharing the tracker and lock stores (production endpoints) and, through
        SOCKETIO_REDIS_URL, the widget's sockets."""
        extra = [p.strip() for p in self.env.get("RASA_REPLICA_PORTS", "").split(",")]
        return [self.env["RASA_PORT"], *filter(None, extra)]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    @property
    def action_url(self) -> str:
        return action_address(self.env)

    def plan(self) -> List[Process]:
        env, logs = self.env, self.log_dir
        sandbox = (
            [
                Process(
                    "clearinghouse sandbox",
                    [
                        str(VENV_BIN / "python"),
                        "-m",
                        "stand_ins.clearinghouse",
                        "--port",
                        env["CLEARINGHOUSE_SANDBOX_PORT"],
                    ],
                    f"http://127.0.0.1:{env['CLEARINGHOUSE_SANDBOX_PORT']}/health",
                    logs / "clearinghouse.log",
                )
            ]
            if env.get("RUN_CLEARINGHOUSE_SANDBOX") == "1"
            else []
        )
        if env.get("RUN_SMTP_SANDBOX") == "1":
            sandbox.append(
                Process(
                    "mail stand-in",
                    [
                        str(VENV_BIN / "python"),
                        "-m",
                        "stand_ins.smtp",
                        "--port",
                        env["SMTP_SANDBOX_PORT"],
                        "--dir",
                        env.get("MAIL_DIR") or str(ROOT / "var" / "mail"),
                    ],
                    "",
                    logs / "mail.log",
                )
            )
        if env.get("RUN_TWILIO_SANDBOX") == "1":
            sandbox.append(
                Process(
                    "text stand-in",
                    [
                        str(VENV_BIN / "python"),
                        "-m",
                        "stand_ins.twilio",
                        "--port",
                        env["TWILIO_SANDBOX_PORT"],
                        "--dir",
                        env.get("SMS_DIR") or str(ROOT / "var" / "sms"),
                        "--account-sid",
                        env["TWILIO_ACCOUNT_SID"],
                        "--auth-token",
                        env["TWILIO_AUTH_TOKEN"],
                    ],
                    "",
                    logs / "sms.log",
                )
            )
        return sandbox + [
            Process(
                "action server",
                [
                    str(VENV_BIN / "python"),
                    "-m",
                    "scripts.action_server",  # rasa_sdk, bound to ACTION_HOST, token required
                    "--actions",
                    "actions",
                    "--port",
                    env["ACTION_PORT"],
                ],
                f"{self.action_url}/health",
                logs / "actions.log",
            ),
            *[
                Process(
                    "rasa server" + (f" {n}" if n > 1 else ""),
                    [
                        # `rasa run` with the API token from the environment: a command
                        # line is readable by every user of the machine (ps).
                        str(VENV_BIN / "python"),
                        "-m",
                        "scripts.rasa_server",
                        "--enable-api",
                        "--interface",
                        env.get("RASA_HOST") or "127.0.0.1",
                        "--port",
                        port,
                        "--cors",
                        *(env.get("RASA_CORS") or "*").replace(",", " ").split(),
                        "--credentials",
                        "credentials.yml",
                        "--endpoints",
                        env["RASA_ENDPOINTS"],
                        "--model",
                        str(MODEL),
                    ],
                    f"http://127.0.0.1:{port}/status?token={env['RASA_AUTH_TOKEN']}",
                    logs / ("rasa.log" if n == 1 else f"rasa-{n}.log"),
                )
                for n, port in enumerate(self.rasa_ports, start=1)
            ],
            Process(
                # Sends the outbox (coordinator alerts); no port: alive is healthy.
                "notification worker",
                [str(VENV_BIN / "python"), "-m", "bot.notify"],
                "",
                logs / "notify.log",
            ),
            Process(
                "website",
                [str(VENV_BIN / "python"), "scripts/web.py", "--port", env["WEB_PORT"]],
                f"{self.web_url}/healthz",
                logs / "web.log",
            ),
        ]

    def start(self, timeout: float = 240.0, echo: bool = False) -> "Stack":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for proc in self.plan():
                self._spawn(proc, echo)
                self.processes.append(proc)
            deadline = time.monotonic() + timeout
            for proc in self.processes:
                self._wait_healthy(proc, deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, proc: Process, deadline: float) -> None:
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                tail = _tail(proc.log_path)
                raise RuntimeError(
                    f"{proc.name} exited with {proc.popen.returncode}; "
                    f"end of {proc.log_path}:\n{tail}"
                )
            if _healthy(proc.health_url):
                return
            time.sleep(0.5)
        raise TimeoutError(f"{proc.name} did not become healthy; see {proc.log_path}")

    def restart_actions(self, overrides: Dict[str, str]) -> None:
        """Restart only the action server (e.g. after a profile edit); Rasa keeps running."""
        self.restart("action server", overrides, timeout=60)

    def restart(
        self, name: str, overrides: Optional[Dict[str, str]] = None, timeout: float = 240.0
    ) -> None:
        """Stop one process (e.g. "rasa server") and start it again; the others keep running."""
        self.env.update(overrides or {})
        proc = next(p for p in self.processes if p.name == name)
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:  # e.g. Sanic waiting on a socket.io connection
            _signal_group(proc, signal.SIGKILL)
            proc.popen.wait()
        proc.args = next(p for p in self.plan() if p.name == name).args
        self._spawn(proc)
        self._wait_healthy(proc, time.monotonic() + timeout)

    def _spawn(self, proc: Process, echo: bool = False) -> None:
        # The child writes to this file for its whole life: no `with` that would close it.
        out = None if echo else open(proc.log_path, "ab")  # noqa: SIM115
        proc.echo = echo
        proc.popen = subprocess.Popen(
            proc.args,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() reaches grandchildren
        )

    def wait(self) -> int:
        """Block until a child exits (or Ctrl-C); return its exit code."""
        while True:
            for proc in self.processes:
                code = proc.popen.poll()
                if code is not None:
                    print(f"{proc.name} stopped (exit {code}); stopping the rest.", file=sys.stderr)
                    return code or 1
            time.sleep(0.5)

    def supervise(self, policy: Optional[RestartPolicy] = None) -> NoReturn:
        """Keep every started child running until interrupted (Ctrl-C, or SIGTERM turned
        into KeyboardInterrupt by the caller; the caller then calls stop()).

        A child that exits is started again after 1, 2, 4 … s (at most 30 s; back to 1 s once
        it had stayed up for a minute), and waited for until healthy; the others keep
        running meanwhile. One line on stderr per event, naming only the process and exit
        code, never what anyone typed. A crash loop is said so, and retried all the same:
        giving up would take down what still works (the Rasa server's crisis reply).
        """
        policy = policy or RestartPolicy()
        now = time.monotonic()
        watches = [_Watch(proc, since=now) for proc in self.processes]
        while True:
            for watch in watches:
                self._tend(watch, policy)
            time.sleep(0.5)

    def _tend(self, watch: _Watch, policy: RestartPolicy) -> None:
        proc, now = watch.proc, time.monotonic()
        if watch.state == "waiting":
            if now >= watch.due:
                try:
                    self._spawn(proc, proc.echo)
                except OSError as exc:  # e.g. out of processes: try again later
                    watch.state = "starting"  # not "up": no backoff reset
                    reason = f"{proc.name} could not be started ({type(exc).__name__})"
                    self._schedule(watch, policy, reason, now)
                    return
                watch.state, watch.since = "starting", now
            return
        code = proc.popen.poll()
        if code is not None:
            _kill_leftovers(proc)
            self._schedule(watch, policy, f"{proc.name} exited (code {code})", now)
        elif watch.state == "starting":
            if _healthy(proc.health_url):
                watch.state, watch.since = "up", time.monotonic()
                _say(f"{proc.name} is healthy again (restart {watch.restarts}).")
            elif now - watch.since > policy.start_timeout:
                _signal_group(proc, signal.SIGKILL)
                proc.popen.wait()
                _kill_leftovers(proc)
                reason = f"{proc.name} was not healthy {policy.start_timeout:g} s after starting"
                self._schedule(watch, policy, reason, now)

    def _schedule(self, watch: _Watch, policy: RestartPolicy, reason: str, now: float) -> None:
        if watch.state == "up" and now - watch.since >= policy.healthy_reset:
            watch.streak = 0
        delay = policy.delay(watch.streak)
        watch.streak += 1
        watch.restarts += 1
        watch.recent.append(now)
        while watch.recent and now - watch.recent[0] > policy.loop_window:
            watch.recent.popleft()
        watch.state, watch.due = "waiting", now + delay
        line = f"{reason}; restarting in {delay:g} s (restart {watch.restarts})"
        if len(watch.recent) > policy.loop_restarts:
            line += (
                f". It keeps crashing ({len(watch.recent)} restarts in the last "
                f"{policy.loop_window:g} s); still retrying, waiting up to "
                f"{policy.max_delay:g} s between attempts; the other processes keep running"
            )
            if not watch.proc.echo:
                line += f"; see {watch.proc.log_path}"
        _say(line + ".")

    def stop(self, grace: float = 10.0) -> None:
        for proc in reversed(self.processes):
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.processes:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.popen.wait()
        self.processes.clear()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    if not url:  # a process without a port (the worker): running is all it can show
        return True
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _kill_leftovers(proc: Process) -> None:
    """Whatever is left in the group of a child that exited (a grandchild could hold its
    port). The group's id stays the dead leader's pid while any member lives."""
    if proc.popen is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.popen.pid, signal.SIGKILL)


def _signal_group(proc: Process, sig: int) -> None:
    if proc.popen is None or proc.popen.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.killpg(proc.popen.pid, sig)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
