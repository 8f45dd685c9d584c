"""A local stand-in for Twilio's Messages API, for development and tests:
`python -m stand_ins.twilio --port 8026 --dir var/sms` keeps each text as a JSON file and
prints one line per text (a number and the file, never the phone number or the text).

POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded To/From/Body, HTTP Basic auth
with the SID and token given at start (wrong: 401, Twilio's 20003). Answers as Twilio does:
201 with a message resource (status "queued"); 400 with Twilio's JSON error for a missing
field (21604 To, 21603 From, 21602 Body), a number that is not E.164 (21211), a landline
(21614) or a recipient who replied STOP (21610), from the table below.
In tests, `Twilio().start()` runs it in a thread, keeps the messages, and can be told to
answer the next requests with 429, 500 or "stall" (no answer before the client gives up).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import secrets
import threading
import time
from collections import deque
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Tuple
from urllib.parse import parse_qs

PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Numbers Twilio would refuse: (status, error code, message).
REFUSED: Dict[str, Tuple[int, int, str]] = {
    "+15550100199": (400, 21614, "'To' number is not a valid mobile number"),
    # A landline the chat accepts as a phone number (512 is a real area code): try it there.
    "+15125550199": (400, 21614, "'To' number is not a valid mobile number"),
    "+15550100198": (400, 21610, "Attempt to send to unsubscribed recipient"),
}
# The answers a test can script: (status, Twilio code, message).
SCRIPTED: Dict[int, Tuple[int, str]] = {
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


def twilio_error(status: int, code: int, message: str) -> Dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class Twilio:
    def __init__(
        self,
        sid: str = "AC" + "0" * 32,
        token: str = "stand-in-token",
        port: int = 0,
        directory: Optional[Path] = None,
        echo: bool = False,
        stall_seconds: float = 30.0,
    ):
        self.sid, self.token = sid, token
        self.messages: List[Dict[str, Any]] = []  # the message resources, in order
        self.script: Deque[Any] = deque()  # statuses (int) or "stall" to answer next
        self.directory, self.echo, self.stall_seconds = directory, echo, stall_seconds
        if directory:
            directory.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        """The API's base, as TWILIO_API_URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "Twilio":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _authorized(self, header: str, path_sid: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            return False
        # The account in the path must be the one authenticated, as on Twilio.
        ok = given == f"{self.sid}:{self.token}" and path_sid == self.sid
        return scheme.lower() == "basic" and ok

    def _create(self, form: Dict[str, str]) -> Tuple[int, Dict[str, Any]]:
        for field, code in (("To", 21604), ("From", 21603), ("Body", 21602)):
            if not form.get(field):
                return 400, twilio_error(400, code, f"A '{field}' is required.")
        to = form["To"]
        if not E164.match(to):
            return 400, twilio_error(400, 21211, "The 'To' number is not a valid phone number.")
        if to in REFUSED:
            return 400, twilio_error(*REFUSED[to])
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(timezone.utc))
        uri = f"/2010-04-01/Accounts/{self.sid}/Messages/{sid}"
        resource = {
            "account_sid": self.sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form["From"],
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(len(form["Body"]) // 153 + 1),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        with self.lock:
            self.messages.append(resource)
            number = len(self.messages)
        kept = ""
        if self.directory:
            path = self.directory / f"{time.strftime('%Y%m%dT%H%M%S')}-{number:04d}.json"
            path.write_text(json.dumps(resource, indent=2))
            kept = f" kept in {path}"
        if self.echo:
            print(f"sms {number} received{kept}", flush=True)
        return 201, resource

    def _handler(self) -> type:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, 1 << 20))
                match = PATH.match(self.path)
                if not match:
                    return self._send(404, twilio_error(404, 20404, "Not found"))
                if not api._authorized(self.headers.get("Authorization") or "", match[1]):
                    return self._send(401, twilio_error(401, 20003, "Authenticate"))
                answer = api.script.popleft() if api.script else None
                if answer == "stall":
                    time.sleep(api.stall_seconds)
                    return None
                if answer in SCRIPTED:
                    return self._send(answer, twilio_error(answer, *SCRIPTED[answer]))
                form = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
                self._send(*api._create(form))

            def _send(self, status: int, body: Dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass  # one line per text is printed by _create, without the number

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--dir", type=Path, default=Path("var/sms"))
    parser.add_argument("--account-sid", default="AC" + "0" * 32, help="the SID to accept")
    parser.add_argument("--auth-token", default="stand-in-token", help="the token to accept")
    args = parser.parse_args()
    api = Twilio(args.account_sid, args.auth_token, args.port, args.dir, echo=True)
    print(f"Twilio stand-in on {api.url}, texts kept in {args.dir}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop quietly
        api.server.serve_forever()


if __name__ == "__main__":
    main()
