"""The demo program website with the chat widget (http://localhost:8000/).

Serves web/site/index.html (with the program's name and the Rasa URL filled in) and the
widget's files from web/static/. Standard library only: it is a demo page, not an app.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WEB = ROOT / "web"


class Handler(SimpleHTTPRequestHandler):
    page: bytes = b""

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            return self._send(200, self.page, "text/html; charset=utf-8")
        if path == "/healthz":
            return self._send(200, b"ok", "text/plain")
        if path.startswith("/static/"):
            return super().do_GET()
        if path.startswith("/calendar/") and path.endswith(".ics"):
            return self._calendar(path[len("/calendar/") : -len(".ics")])
        return self._send(404, b"not found", "text/plain")

    def _calendar(self, code: str) -> None:
        """The booking's calendar file; the signed token in the link is the only key."""
        from urllib.parse import parse_qs, urlsplit

        from bot.profile import load_profile
        from bot.scheduling.links import calendar_file

        token = (parse_qs(urlsplit(self.path).query).get("t") or [""])[0]
        body = calendar_file(code, token, load_profile())
        if body is None:
            return self._send(404, b"not found", "text/plain")
        self._send(200, body, "text/calendar; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # no request log: URLs may carry session ids
        pass


def render_page(rasa_url: str) -> bytes:
    from bot.profile import load_profile

    facts = load_profile().facts.program
    page = (WEB / "site" / "index.html").read_text(encoding="utf-8")
    for key, value in {
        "PROGRAM_NAME": facts.name,
        "PROGRAM_PHONE": facts.phone,
        "RASA_URL": rasa_url,
    }.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    return page.encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8000")))
    parser.add_argument(
        "--rasa-url",
        default=os.environ.get("RASA_PUBLIC_URL")
        or f"http://localhost:{os.environ.get('RASA_PORT', '5005')}",
    )
    args = parser.parse_args()
    if not (WEB / "static" / "vendor" / "socket.io.min.js").exists():
        sys.exit("web/static/vendor/socket.io.min.js is missing: run `make web` first.")
    Handler.page = render_page(args.rasa_url)
    handler = partial(Handler, directory=str(WEB))
    server = ThreadingHTTPServer(("0.0.0.0", args.port), handler)
    print(
        f"Demo website on http://localhost:{args.port}/ (chat server {args.rasa_url})", flush=True
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
