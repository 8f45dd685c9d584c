"""Start and stop the assistant's processes: the action server and the Rasa server.

Used by `make run` (scripts/serve.py) and by the end-to-end tests, so both exercise the
same start-up. Every child gets its own process group; stopping the stack stops the groups,
so no grandchild outlives it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "latest.tar.gz"

# Embedded defaults; .env (python-dotenv) and the real environment override them.
DEFAULTS: Dict[str, str] = {
    "RASA_PORT": "5005",
    "ACTION_PORT": "5055",
    "WEB_PORT": "8000",
    "CLEARINGHOUSE_SANDBOX_PORT": "8089",
    "RASA_ENDPOINTS": "endpoints.yml",
    "TRACKER_SQLITE_PATH": str(ROOT / "var" / "tracker.db"),
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore",
}


def environment(overrides: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    from dotenv import dotenv_values

    env = dict(DEFAULTS)
    env.update({k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None})
    env.update(os.environ)
    env.update(overrides or {})
    env.setdefault("ACTION_ENDPOINT_URL", f"http://127.0.0.1:{env['ACTION_PORT']}/webhook")
    if not env.get("CLEARINGHOUSE_URL", "").strip():
        # No real clearinghouse configured: run the bundled sandbox and point the bot at it.
        env["CLEARINGHOUSE_URL"] = f"http://127.0.0.1:{env['CLEARINGHOUSE_SANDBOX_PORT']}"
        env["RUN_CLEARINGHOUSE_SANDBOX"] = "1"
        env["CLEARINGHOUSE_API_KEY"] = env.get("CLEARINGHOUSE_API_KEY") or "sandbox"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if not env.get("RASA_AUTH_TOKEN"):
        raise SystemExit("RASA_AUTH_TOKEN is not set: copy .env.example to .env (make does this).")
    (ROOT / "var").mkdir(exist_ok=True)
    return env


@dataclass
class Process:
    name: str
    args: List[str]
    health_url: str
    log_path: Path
    popen: Optional[subprocess.Popen] = None


@dataclass
class Stack:
    env: Dict[str, str]
    log_dir: Path = ROOT / "var" / "log"
    processes: List[Process] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.env['ACTION_PORT']}"

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
        return sandbox + [
            Process(
                "action server",
                [
                    str(VENV_BIN / "python"),
                    "-m",
                    "rasa_sdk",
                    "--actions",
                    "actions",
                    "--port",
                    env["ACTION_PORT"],
                ],
                f"{self.action_url}/health",
                logs / "actions.log",
            ),
            Process(
                "rasa server",
                [
                    str(VENV_BIN / "rasa"),
                    "run",
                    "--enable-api",
                    f"--auth-token={env['RASA_AUTH_TOKEN']}",
                    "--port",
                    env["RASA_PORT"],
                    "--cors",
                    env.get("RASA_CORS", "*"),
                    "--credentials",
                    "credentials.yml",
                    "--endpoints",
                    env["RASA_ENDPOINTS"],
                    "--model",
                    str(MODEL),
                ],
                f"{self.rasa_url}/status?token={env['RASA_AUTH_TOKEN']}",
                logs / "rasa.log",
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
            try:
                with urllib.request.urlopen(proc.health_url, timeout=2) as response:
                    if 200 <= response.status < 300:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{proc.name} did not become healthy; see {proc.log_path}")

    def restart_actions(self, overrides: Dict[str, str]) -> None:
        """Restart only the action server (e.g. after a profile edit); Rasa keeps running."""
        self.env.update(overrides)
        proc = next(p for p in self.processes if p.name == "action server")
        _signal_group(proc, signal.SIGTERM)
        proc.popen.wait(timeout=15)
        proc.args = next(p for p in self.plan() if p.name == "action server").args
        self._spawn(proc)
        self._wait_healthy(proc, time.monotonic() + 60)

    def _spawn(self, proc: Process, echo: bool = False) -> None:
        # The child writes to this file for its whole life: no `with` that would close it.
        out = None if echo else open(proc.log_path, "ab")  # noqa: SIM115
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
