"""The website and the coordinator console: one Sanic app on WEB_PORT (8000).

- `/`: the demo program page with the chat widget (web/site/index.html, the program's name
  and the Rasa URL filled in); `/static/…` its files;
- `/calendar/<code>.ics?t=…`: a booking's calendar file (the signed token is the only key);
- `POST /chat/typing`: the widget says the person is typing (shown in the console while a
  coordinator holds the chat; ignored otherwise);
- `/console/…`: the coordinator console (bot.console.web);
- `/healthz`.

Sanic because Rasa already pins it (21.12): no second web framework.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
from pathlib import Path

from sanic import Sanic, response
from sanic.request import Request
from sqlalchemy.exc import SQLAlchemyError

from bot.config import settings
from bot.console import queue
from bot.console.web import console, json_body

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
MAX_REQUEST_BYTES = 64 * 1024  # the console's forms and messages are small
MAX_TYPING_BYTES = 512  # {"session_id": "…"}: nothing more
log = logging.getLogger(__name__)


def render_page(rasa_url: str) -> str:
    from bot.profile import load_profile

    facts = load_profile().facts.program
    page = (WEB / "site" / "index.html").read_text(encoding="utf-8")
    for key, value in {
        "PROGRAM_NAME": facts.name,
        "PROGRAM_PHONE": facts.phone,
        "RASA_URL": rasa_url,
    }.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    return page


def create_app(rasa_url: str, name: str = "iop_web") -> Sanic:
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    page = render_page(rasa_url)

    @app.get("/")
    async def index(request: Request) -> response.HTTPResponse:
        return response.html(page, headers={"Cache-Control": "no-store"})

    @app.get("/healthz")
    async def healthz(request: Request) -> response.HTTPResponse:
        return response.text("ok")

    @app.get("/calendar/<name>")
    async def calendar(request: Request, name: str) -> response.HTTPResponse:
        from bot.profile import load_profile
        from bot.scheduling.links import calendar_file

        if not name.endswith(".ics"):
            return response.text("not found", status=404)
        body = calendar_file(name[: -len(".ics")], request.args.get("t", ""), load_profile())
        if body is None:
            return response.text("not found", status=404)
        return response.raw(
            body, content_type="text/calendar; charset=utf-8", headers={"Cache-Control": "no-store"}
        )

    @app.post("/sms/inbound")
    async def sms_inbound(request: Request) -> response.HTTPResponse:
        """Twilio's webhook for texts people send us: STOP (and the other opt-out words)
        records the opt-out, START lifts it. Only requests signed with our Twilio auth token
        count, so nobody can opt someone else out."""
        from bot.notify.optout import record_reply, twilio_signature

        token = settings().twilio_auth_token
        params = {k: v[0] for k, v in (request.form or {}).items()}
        url = settings().web_base_url.rstrip("/") + "/sms/inbound"
        given = request.headers.get("X-Twilio-Signature", "")
        if not token or not hmac.compare_digest(given, twilio_signature(token, url, params)):
            return response.text("forbidden", status=403)
        if params.get("From") and params.get("Body") is not None:
            await asyncio.get_running_loop().run_in_executor(
                None, record_reply, params["From"], params["Body"]
            )
        # Empty TwiML: Twilio itself answers STOP/START with its standard text.
        return response.text("<Response/>", content_type="text/xml")

    @app.post("/chat/typing")
    async def person_typing(request: Request) -> response.HTTPResponse:
        """Public (the widget, same origin): JSON only, so a cross-site form cannot send it
        without the browser asking first. Writes only when a coordinator holds the chat."""
        if len(request.body or b"") > MAX_TYPING_BYTES:
            return response.json({"error": "too large"}, status=413)
        if not request.headers.get("content-type", "").startswith("application/json"):
            return response.json({"error": "send JSON"}, status=400)
        body = json_body(request)
        session_id = body.get("session_id") if isinstance(body, dict) else None
        if not isinstance(session_id, str) or not 0 < len(session_id) <= 128:
            return response.json({"error": "session_id is required"}, status=400)
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, queue.mark_person_typing, session_id
            )
        except SQLAlchemyError as exc:  # only a hint: say so, never a 500
            log.warning("person typing not recorded: %s", type(exc).__name__)
            return response.json({"error": "try again later"}, status=503)
        return response.empty(status=204)

    app.static("/static", str(WEB / "static"))
    app.blueprint(console)

    @app.middleware("response")
    async def security_headers(request: Request, resp: response.HTTPResponse) -> None:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")

    return app
