"""The coordinator console's pages and APIs (a Sanic blueprint under /console).

Doors: every page and API needs a signed-in session (pages redirect to the login, APIs
answer 401); every POST needs the session's CSRF token and, when the browser sends one, an
Origin of this site; the session cookie is HttpOnly, SameSite=Strict, scoped to /console
and expires with the session. Everything a person typed is escaped by the templates
(autoescape) and by the page script (textContent, never innerHTML).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import asdict
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple, TypeVar
from urllib.parse import urlsplit

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy.exc import SQLAlchemyError

from bot import notify
from bot.config import settings
from bot.console import accounts, notes, queue, rasa_api
from bot.console import couples as couple_pages
from bot.console.summary import intake_summary
from bot.privacy import forget, tracker

log = logging.getLogger(__name__)
console = Blueprint("console", url_prefix="/console")
_templates = Environment(
    loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
    autoescape=select_autoescape(["html"]),
)
SESSION_COOKIE = "iop_console"
LOGIN_CSRF_COOKIE = "iop_console_login"
QUEUE_POLL_SECONDS = 0.5  # how often the live queue looks for changes
SESSION_RECHECK = 10.0  # seconds between session checks on an open event stream
T = TypeVar("T")

console.static("/static", str(Path(__file__).with_name("static")))


async def _blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run a database call off the event loop, so one slow query never stalls the others."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args))


def _page(name: str, status: int = 200, **context: Any) -> response.HTTPResponse:
    return response.html(_templates.get_template(name).render(**context), status=status)


def _cookie(resp: response.HTTPResponse, name: str, value: str, max_age: int) -> None:
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/console"
    cookie["max-age"] = max_age
    # Behind the reverse proxy (anything but development, APP_ENV unset included) the site
    # is HTTPS only.
    if settings().app_env != "development":
        cookie["secure"] = True


def client_address(request: Request) -> str:
    """Who is signing in, for the per-address limit: the address a trusted proxy forwarded
    (Sanic trusts forwarding headers only when configured: SANIC_PROXIES_COUNT,
    SANIC_REAL_IP_HEADER or SANIC_FORWARDED_SECRET), else the connection's peer."""
    return request.remote_addr or request.ip


def _same_origin(request: Request) -> bool:
    """A browser's cross-site POST names its own site in Origin; refuse those."""
    origin = request.headers.get("origin")
    if not origin:
        return True  # not sent by every browser for same-origin form posts; CSRF token rules
    # Compare hosts only: behind the TLS proxy the app itself sees plain http.
    return urlsplit(origin).netloc == request.host


async def _signed_in(request: Request) -> Optional[accounts.SignedIn]:
    return await _blocking(accounts.current, request.cookies.get(SESSION_COOKIE))


async def _session_ended(request: Request, next_check: List[float]) -> bool:
    """For open event streams: whether the session ended or expired since the stream began.
    Looked up every SESSION_RECHECK seconds, not on every poll; each look also keeps the
    coordinator counted as online (the assistant offers a call-back when nobody is)."""
    if time.monotonic() < next_check[0]:
        return False
    next_check[0] = time.monotonic() + SESSION_RECHECK
    if await _signed_in(request) is None:
        return True
    await _online(request, True)
    return False


async def _online(request: Request, online: bool) -> None:
    until = accounts.utcnow() + timedelta(seconds=3 * SESSION_RECHECK) if online else None
    await _blocking(accounts.mark_online, request.cookies.get(SESSION_COOKIE), until)


@console.middleware("response")
async def _no_cache_no_frames(request: Request, resp: response.HTTPResponse) -> None:
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    # "same-origin", not "no-referrer": with no-referrer a browser sends "Origin: null" on
    # the console's own form posts, and the origin check would refuse them.
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    )


# --- signing in and out ----------------------------------------------------------------------


@console.get("/login")
async def login_form(request: Request) -> response.HTTPResponse:
    token = secrets.token_urlsafe(32)
    resp = _page("login.html", csrf=token, error=None)
    _cookie(resp, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return resp


@console.post("/login")
async def login(request: Request) -> response.HTTPResponse:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    given = request.form.get("csrf") or ""
    if (
        not _same_origin(request)
        or not expected
        or not secrets.compare_digest(expected.encode(), given.encode())
    ):
        return response.text("This form expired or came from another site. Reload it.", 403)
    try:
        person = await _blocking(
            accounts.sign_in,
            request.form.get("email") or "",
            request.form.get("password") or "",
            None,
            client_address(request),
        )
    except accounts.SignInFailed:
        token = secrets.token_urlsafe(32)
        resp = _page(
            "login.html",
            status=401,
            csrf=token,
            error="Wrong email or password, or the account is locked for a few minutes.",
        )
        _cookie(resp, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return resp
    token, _ = await _blocking(accounts.start_session, person)
    resp = response.redirect("/console/", status=303)
    _cookie(resp, SESSION_COOKIE, token, int(accounts.SESSION_LIFETIME.total_seconds()))
    _cookie(resp, LOGIN_CSRF_COOKIE, "", max_age=0)  # used up
    return resp


@console.post("/logout")
async def logout(request: Request) -> response.HTTPResponse:
    who = await _signed_in(request)
    if who is None:
        return response.redirect("/console/login", status=303)
    if not _same_origin(request) or not who.csrf_ok(request.form.get("csrf")):
        return response.text("Refused: this request did not come from the console.", 403)
    await _blocking(accounts.end_session, request.cookies.get(SESSION_COOKIE))
    resp = response.redirect("/console/login", status=303)
    _cookie(resp, SESSION_COOKIE, "", max_age=0)
    return resp


# --- the queue -------------------------------------------------------------------------------


@console.get("/")
async def queue_page(request: Request) -> response.HTTPResponse:
    who = await _signed_in(request)
    if who is None:
        return response.redirect("/console/login", status=303)
    items = await _blocking(queue.waiting)
    unsent = await _blocking(notify.failures)
    await _blocking(accounts.audit, who.person.id, "opened_queue")
    return _page(
        "queue.html",
        person=who.person,
        csrf=who.csrf_token,
        items=[i.to_json() for i in items],
        unsent=unsent,
    )


@console.get("/queue.json")
async def queue_json(request: Request) -> response.HTTPResponse:
    if await _signed_in(request) is None:
        return response.json({"error": "sign in first"}, status=401)
    return response.json([i.to_json() for i in await _blocking(queue.waiting)])


@console.get("/events")
async def queue_events(request: Request) -> Optional[response.HTTPResponse]:
    """The queue as server-sent events: a new snapshot whenever it changes, a comment line
    every few seconds so proxies keep the stream open."""
    if await _signed_in(request) is None:
        return response.json({"error": "sign in first"}, status=401)
    stream = await request.respond(
        content_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
    last, idle, next_check = None, 0.0, [time.monotonic() + SESSION_RECHECK]
    await _online(request, True)
    try:
        while True:
            if await _session_ended(request, next_check):
                return None
            snapshot = [i.to_json() for i in await _blocking(queue.waiting)]
            # Waiting times change every second; only send when the rows themselves change.
            key = json.dumps([{**i, "waiting_seconds": 0} for i in snapshot], sort_keys=True)
            if key != last:
                await stream.send(f"data: {json.dumps(snapshot)}\n\n")
                last, idle = key, 0.0
            elif idle >= 15:
                await stream.send(": keep-alive\n\n")
                idle = 0.0
            await asyncio.sleep(QUEUE_POLL_SECONDS)
            idle += QUEUE_POLL_SECONDS
    finally:  # the page closed (or the session ended): not online any more
        await _online(request, False)


@console.post("/claim/<escalation_id:int>")
async def claim(request: Request, escalation_id: int) -> response.HTTPResponse:
    who = await _signed_in(request)
    if who is None:
        return response.json({"error": "sign in first"}, status=401)
    if not _same_origin(request) or not who.csrf_ok(request.headers.get("x-csrf-token")):
        return response.json({"error": "refused: not from the console"}, status=403)
    result = await _blocking(queue.claim, escalation_id, who.person.id)
    if result is None:
        return response.json({"error": "not in the queue"}, status=404)
    conversation = await _blocking(queue.conversation_of, escalation_id)
    joined = False
    if result.won and conversation:
        await _blocking(accounts.audit, who.person.id, "claimed", conversation)
        joined = await _tell(
            conversation,
            f"{who.person.name} from our intake team has joined the chat. "
            "The assistant is paused while you talk.",
            pause=True,
        )
    return response.json({"won": result.won, "holder": result.holder, "joined": joined})


async def _tell(conversation: str, text: str, pause: bool = False, resume: bool = False) -> bool:
    """Pause or resume the assistant and say `text` in the person's chat. False when the Rasa
    server could not be reached (the console shows it; the claim itself stands)."""
    api = rasa_api.RasaAPI()
    try:
        if pause:
            await _blocking(api.pause, conversation)
        if resume:
            await _blocking(api.resume, conversation)
        await _blocking(api.say, conversation, text)
    except (httpx.HTTPError, ValueError) as exc:  # ValueError: a reply that isn't JSON
        log.warning("console could not reach the Rasa server: %s", type(exc).__name__)
        return False
    return True


# --- one conversation ------------------------------------------------------------------------

MAX_MESSAGE_CHARS = 2000


async def _conversation(
    request: Request, escalation_id: int
) -> Tuple[Optional[accounts.SignedIn], Optional[queue.Held]]:
    who = await _signed_in(request)
    if who is None:
        return None, None
    return who, await _blocking(queue.held, escalation_id)


@console.get("/conversation/<escalation_id:int>")
async def conversation_page(request: Request, escalation_id: int) -> response.HTTPResponse:
    who, item = await _conversation(request, escalation_id)
    if who is None:
        return response.redirect("/console/login", status=303)
    if item is None:  # only conversations handed to the team can be read here
        return response.text("No such conversation in the queue.", 404)
    await _blocking(accounts.audit, who.person.id, "opened_transcript", item.conversation_id)
    couple_id = await _blocking(couple_pages.couple_id_of, item.conversation_id)
    couple = None
    if couple_id is not None:  # both partners, read through clinician_view (audited)
        couple = await _blocking(couple_pages.couple_panel, couple_id, who.person.id)
    return _page(
        "conversation.html",
        person=who.person,
        csrf=who.csrf_token,
        item=item,
        couple=couple,
        partner=couple.other_than(item.conversation_id) if couple else None,
        max_cohort=couple_pages.MAX_COHORT_LENGTH,
        summary=await _blocking(intake_summary, item.conversation_id, who.person.id),
        notes=await _blocking(notes.notes_for, item.conversation_id, who.person.id),
        holding=item.status == "claimed" and item.claimed_by == who.person.id,
    )


@console.get("/conversation/<escalation_id:int>/events")
async def conversation_events(request: Request, escalation_id: int) -> Any:
    """The transcript as server-sent events, {"lines": [...], "typing": bool}: sent again
    whenever the transcript grows or the person starts or stops typing."""
    who, item = await _conversation(request, escalation_id)
    refused = _refused(request, who, item, "read")
    if refused is not None:
        return refused
    assert who is not None and item is not None
    # The transcript is decrypted by the tracker store for this coordinator: audited once per
    # stream (it refreshes every half second).
    await _blocking(
        partial(
            accounts.audit,
            who.person.id,
            "decrypted",
            item.conversation_id,
            record="events",  # the tracker store's rows of this conversation
        )
    )
    api = rasa_api.RasaAPI()
    stream = await request.respond(
        content_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
    sent, idle, next_check = None, 0.0, [time.monotonic() + SESSION_RECHECK]
    while True:
        if await _session_ended(request, next_check):
            return None
        try:
            lines = await _blocking(api.transcript, item.conversation_id)
        except (httpx.HTTPError, ValueError):
            lines = None
        typing = await _blocking(queue.person_typing, item.conversation_id)
        if lines is not None and (len(lines), typing) != sent:
            payload = {"lines": [asdict(x) for x in lines], "typing": typing}
            await stream.send(f"data: {json.dumps(payload)}\n\n")
            sent, idle = (len(lines), typing), 0.0
        elif idle >= 15:
            await stream.send(": keep-alive\n\n")
            idle = 0.0
        await asyncio.sleep(QUEUE_POLL_SECONDS)
        idle += QUEUE_POLL_SECONDS


def _refused(request: Request, who: Optional[accounts.SignedIn], item: Any, need: str) -> Any:
    """None when the request may go on, else the refusal to send. `need` is "read" (the
    conversation page's rule: any conversation handed to the team), "hold" (only the
    coordinator holding it) or "admin". Every POST needs the CSRF token and our Origin."""
    if who is None:
        return response.json({"error": "sign in first"}, status=401)
    if request.method == "POST" and (
        not _same_origin(request) or not who.csrf_ok(request.headers.get("x-csrf-token"))
    ):
        return response.json({"error": "refused: not from the console"}, status=403)
    if need == "admin" and not who.person.is_admin:
        return response.json({"error": "only an admin can do this"}, status=403)
    if item is None:
        return response.json({"error": "not in the queue"}, status=404)
    if need == "hold" and (item.status != "claimed" or item.claimed_by != who.person.id):
        return response.json({"error": "claim the conversation first"}, status=409)
    return None


def json_body(request: Request) -> Any:
    """The parsed JSON body, or None when it is missing or not JSON (never a 500)."""
    try:
        return request.json
    except Exception:  # noqa: BLE001 (Sanic raises its own error for a body that isn't JSON)
        return None


def _posted_text(request: Request, limit: int, what: str) -> Tuple[str, Any]:
    """The "text" of a JSON body, stripped, and None; or "" and the refusal to send."""
    body = json_body(request)
    text = str(body.get("text") or "").strip() if isinstance(body, dict) else ""
    if not text:
        return "", response.json({"error": f"write a {what} first"}, status=400)
    if len(text) > limit:
        return "", response.json({"error": f"at most {limit} characters"}, status=413)
    return text, None


@console.post("/conversation/<escalation_id:int>/message")
async def send_message(request: Request, escalation_id: int) -> response.HTTPResponse:
    who, item = await _conversation(request, escalation_id)
    refused = _refused(request, who, item, "hold")
    if refused is not None:
        return refused
    assert who is not None and item is not None
    text, refused = _posted_text(request, MAX_MESSAGE_CHARS, "message")
    if refused is not None:
        return refused
    if not await _tell(item.conversation_id, text):
        return response.json({"error": "the chat server did not answer; try again"}, status=502)
    return response.json({"sent": True})


@console.post("/conversation/<escalation_id:int>/return")
async def return_to_assistant(request: Request, escalation_id: int) -> response.HTTPResponse:
    return await _hand_back(request, escalation_id, "returned")


@console.post("/conversation/<escalation_id:int>/resolve")
async def resolve(request: Request, escalation_id: int) -> response.HTTPResponse:
    return await _hand_back(request, escalation_id, "resolved")


async def _hand_back(request: Request, escalation_id: int, status: str) -> response.HTTPResponse:
    """Return the conversation to the assistant, or resolve it; either way the assistant
    answers the person's next message again."""
    who, item = await _conversation(request, escalation_id)
    refused = _refused(request, who, item, "hold")
    if refused is not None:
        return refused
    assert who is not None and item is not None
    return await _resume_then(
        who,
        item,
        status,
        f"{who.person.name} has handed the chat back to the assistant. You can keep asking "
        "questions here, or ask for a person any time.",
        partial(queue.close, escalation_id, who.person.id, status),
    )


@console.post("/release/<escalation_id:int>")
async def release(request: Request, escalation_id: int) -> response.HTTPResponse:
    """An admin frees a conversation someone holds and left (closed the browser, went home):
    it is open in the queue again, and the assistant answers the person meanwhile."""
    who, item = await _conversation(request, escalation_id)
    refused = _refused(request, who, item, "admin")
    if refused is not None:
        return refused
    assert who is not None and item is not None
    if item.status != "claimed":
        return response.json({"error": "nobody holds this conversation"}, status=409)
    return await _resume_then(
        who,
        item,
        "released",
        "The person from our intake team had to step away, so the assistant is back for now. "
        "Your request is still with the team: someone can join this chat when available.",
        partial(queue.release, escalation_id),
    )


@console.post("/forget/<escalation_id:int>")
async def forget_person(request: Request, escalation_id: int) -> response.HTTPResponse:
    """An admin deletes the data of this conversation's person everywhere, their other
    conversations found by booking code or contact included (bot.privacy.forget): app rows,
    tracker events, SMS opt-out; audited per conversation. Not while someone holds the chat."""
    who, item = await _conversation(request, escalation_id)
    refused = _refused(request, who, item, "admin")
    if refused is not None:
        return refused
    assert who is not None and item is not None
    if item.status == "claimed":
        return response.json(
            {"error": "someone holds this conversation: release it first"}, status=409
        )
    try:
        done = await _blocking(forget.forget_conversation, item.conversation_id, who.person.id)
    except (tracker.TrackerStoreError, SQLAlchemyError) as exc:
        log.error("deletion did not finish: %s", type(exc).__name__)
        return response.json({"error": "the deletion did not finish; try again"}, status=503)
    return response.json(
        {
            "conversations": done.conversations,
            "records": done.records,
            "tracker_events": done.tracker_events,
        }
    )


async def _resume_then(
    who: accounts.SignedIn,
    item: queue.Held,
    action: str,
    text: str,
    change: Callable[[], bool],
) -> response.HTTPResponse:
    """Resume the assistant (saying `text` to the person), then `change` the queue and audit
    `action`. The assistant is resumed first: if the chat server cannot be told, nothing
    changes here, so a conversation is never let go while the assistant stays paused."""
    if not await _tell(item.conversation_id, text, resume=True):
        return response.json({"error": "the chat server did not answer; try again"}, status=502)
    if not await _blocking(change):
        return response.json({"error": "claim the conversation first"}, status=409)
    await _blocking(accounts.audit, who.person.id, action, item.conversation_id)
    return response.json({"status": action, "told": True})


@console.post("/conversation/<escalation_id:int>/notes")
async def write_note(request: Request, escalation_id: int) -> response.HTTPResponse:
    """A private note for the team (anyone who may read the conversation). Audited without
    its text; never sent to the person."""
    who, item = await _conversation(request, escalation_id)
    refused = _refused(request, who, item, "read")
    if refused is not None:
        return refused
    assert who is not None and item is not None
    text, refused = _posted_text(request, notes.MAX_NOTE_CHARS, "note")
    if refused is not None:
        return refused
    note = await _blocking(notes.add_note, item.conversation_id, who.person.id, text)
    await _blocking(accounts.audit, who.person.id, "wrote_note", item.conversation_id)
    return response.json(
        {"author": note.author, "at": f"{note.at:%Y-%m-%d %H:%M} UTC", "text": note.text},
        status=201,
    )


@console.post("/conversation/<escalation_id:int>/typing")
async def coordinator_typing(request: Request, escalation_id: int) -> response.HTTPResponse:
    """The holder is typing (or stopped): shown in the person's widget. Only a hint: if the
    chat server cannot be told, the console carries on (202, forwarded false)."""
    who, item = await _conversation(request, escalation_id)
    refused = _refused(request, who, item, "hold")
    if refused is not None:
        return refused
    assert item is not None
    body = json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("typing"), bool):
        return response.json({"error": 'send {"typing": true} or {"typing": false}'}, status=400)
    try:
        await _blocking(rasa_api.RasaAPI().typing, item.conversation_id, body["typing"])
        forwarded = True
    except httpx.HTTPError as exc:
        log.warning("typing not forwarded to the Rasa server: %s", type(exc).__name__)
        forwarded = False
    return response.json({"forwarded": forwarded}, status=202)


# --- couples -----------------------------------------------------------------------------------


@console.get("/couples")
async def couples_page(request: Request) -> response.HTTPResponse:
    """Every couple with its status, cohort and track (shared data only; audited)."""
    who = await _signed_in(request)
    if who is None:
        return response.redirect("/console/login", status=303)
    show = request.args.get("show") or "all"
    if show not in couple_pages.FILTERS:
        show = "all"
    rows = await _blocking(couple_pages.couples, who.person.id, show)
    return _page("couples.html", person=who.person, csrf=who.csrf_token, rows=rows, show=show)


@console.get("/couple/<couple_id:int>")
async def couple_page(request: Request, couple_id: int) -> response.HTTPResponse:
    """One couple: both partners, their levels and private safety flags, the joint
    recommendation, the booking, the cohort form (read through clinician_view, audited)."""
    who = await _signed_in(request)
    if who is None:
        return response.redirect("/console/login", status=303)
    return await _couple_page(who, couple_id)


async def _couple_page(
    who: accounts.SignedIn, couple_id: int, error: Optional[str] = None, status: int = 200
) -> response.HTTPResponse:
    try:
        couple = await _blocking(couple_pages.couple_panel, couple_id, who.person.id)
    except couple_pages.CoupleError:
        return response.text("No such couple.", 404)
    return _page(
        "couple.html",
        status=status,
        person=who.person,
        csrf=who.csrf_token,
        couple=couple,
        error=error,
        max_cohort=couple_pages.MAX_COHORT_LENGTH,
    )


@console.post("/couple/<couple_id:int>/cohort")
async def set_couple_cohort(request: Request, couple_id: int) -> response.HTTPResponse:
    """The cohort form (any coordinator or admin; the session's CSRF token and our Origin),
    recorded through set_cohort (audited on both partners' conversations). Back to the page
    the form was on: the couple's, or a partner's conversation (`back`, an escalation id)."""
    who = await _signed_in(request)
    if who is None:
        return response.redirect("/console/login", status=303)
    if not _same_origin(request) or not who.csrf_ok(request.form.get("csrf")):
        return response.text("Refused: this request did not come from the console.", 403)
    try:
        await _blocking(
            couple_pages.place,
            couple_id,
            who.person.id,
            request.form.get("cohort"),
            request.form.get("track"),
        )
    except couple_pages.CoupleError as exc:
        return await _couple_page(who, couple_id, error=str(exc), status=400)
    back = request.form.get("back") or ""
    if back.isascii() and back.isdigit():
        return response.redirect(f"/console/conversation/{int(back)}#couple", status=303)
    return response.redirect(f"/console/couple/{couple_id}", status=303)


@console.get("/audit")
async def audit_page(request: Request) -> response.HTTPResponse:
    who = await _signed_in(request)
    if who is None:
        return response.redirect("/console/login", status=303)
    if not who.person.is_admin:
        return response.text("Only admins can read the audit trail.", 403)
    lines = await _blocking(accounts.audit_log)
    return _page("audit.html", person=who.person, csrf=who.csrf_token, lines=lines)
