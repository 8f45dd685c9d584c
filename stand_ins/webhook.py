"""A local stand-in for a Slack-compatible incoming webhook, for development and tests:
`python -m stand_ins.webhook --port 8090` prints each alert it receives.

POST / with a JSON body holding "text": 200 "ok", as Slack answers; anything else 400.
In tests, `Webhook().start()` runs it in a thread, keeps what it received, and can be told
to answer the next requests with other statuses (429, 500…) or to stall.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Deque, Dict, List, Optional


class Webhook:
    def __init__(self, port: int = 0, echo: bool = False):
        self.received: List[Dict[str, Any]] = []
        self.script: Deque[Any] = deque()  # statuses (int) or stalls ("stall") to answer next
        self.echo = echo
        self.arrived = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def start(self) -> "Webhook":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30.0) -> List[Dict[str, Any]]:
        """Block until `count` messages have arrived (or the timeout); return them all."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def _handler(self) -> type:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, 1 << 20))
                answer = hook.script.popleft() if hook.script else 200
                if answer == "stall":
                    time.sleep(30)
                    return
                try:
                    body = json.loads(raw)
                    ok = isinstance(body, dict) and isinstance(body.get("text"), str)
                except ValueError:
                    ok = False
                status = answer if ok else 400
                if ok and 200 <= status < 300:
                    with hook.arrived:
                        hook.received.append({**body, "_at": time.time()})
                        hook.arrived.notify_all()
                    if hook.echo:
                        print(f"[alert] {body['text']}", flush=True)
                reply = b"ok" if status == 200 else b"invalid_payload" if status == 400 else b""
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Optional[Any]) -> None:
                pass  # the texts are printed (echo) or kept, not logged twice

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    hook = Webhook(args.port, echo=True)
    print(f"Webhook stand-in on {hook.url}", flush=True)
    hook.server.serve_forever()


if __name__ == "__main__":
    main()
