"""The website chat's socket.io channel: Rasa's own, made to work across processes.

Rasa's `SocketIOInput` keeps its sockets in one process, so a message for a person whose
widget is connected to another Rasa replica (a coordinator's reply sent through `/execute`
on any replica) went nowhere. With `SOCKETIO_REDIS_URL` set, the server uses
python-socketio's Redis manager: an emit to a conversation's room is published on Redis and
delivered by whichever replica holds that socket. Unset (`make run`), everything stays in
one process, as before.

It also adds `POST /webhooks/socketio/typing`: the console's "a coordinator is typing"
signal, emitted to the person's room as `coordinator_typing`. It takes a Bearer token as Rasa's
API does (bot.api_tokens): one scoped to that `sender`, an admin's, or RASA_AUTH_TOKEN.

Closed doors (issue 16):
- Session ids are the server's: `session_request` confirms a token this server signed
  (bot.chat_sessions) or hands out a new one, never an id the client chose; a message must
  carry a signed token, and goes to that token's conversation (the room is the bare id).
- Outside development a connection whose Origin is not in RASA_CORS is refused, and the
  channel will not start with RASA_CORS=*.
- Messages over MAX_MESSAGE_CHARS get a kind reply and nothing else; socket.io packets and
  request bodies over MAX_BODY_BYTES are refused (channels.limits).
- Messages are limited per conversation and per client address (SLOW_DOWN over a limit,
  unless the message speaks of a crisis). The address is taken when the socket connects:
  behind the proxy the one it vouches for with SANIC_FORWARDED_SECRET, never a header a
  client wrote (channels.limits.client_address).
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
import os
import re
from typing import Any, Awaitable, Callable, Dict, FrozenSet, Optional, Text

import jwt
import socketio
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import api_tokens, chat_sessions
from bot.config import ConfigError, settings
from bot.limits import SLOW_DOWN
from channels.limits import (
    FAILED,
    MAX_BODY_BYTES,
    TOO_LONG,
    cap_request_bodies,
    clean_text,
    client_address,
    crisis_part,
    failure,
    may_pass,
    too_long,
)

logger = logging.getLogger(__name__)

TYPING_EVENT = "coordinator_typing"
SESSION_ENDED = "This chat session has ended. Please reload the page to start a new one."


def allowed_origins() -> Optional[FrozenSet[str]]:
    """The browser origins the widget may run on (RASA_CORS); None in development, where
    Origin is not checked. Elsewhere '*' or nothing stops the start."""
    config = settings()
    if config.app_env == "development":
        return None
    origins = frozenset(
        o.rstrip("/").lower() for o in re.split(r"[,\s]+", config.rasa_cors) if o.strip()
    )
    if not origins or "*" in origins:
        raise ConfigError(
            f"RASA_CORS is {config.rasa_cors!r} and APP_ENV is {config.app_env}: set it to the "
            "website origin(s) the chat widget runs on, e.g. https://clinic.example.org"
        )
    return origins


def origin_allowed(origin: Optional[str], allowed: Optional[FrozenSet[str]]) -> bool:
    # A missing Origin is not a browser on another site (browsers send it with websockets
    # and cross-site requests); only a browser's Origin can be trusted to name the site.
    return allowed is None or not origin or origin.rstrip("/").lower() in allowed


def _bearer(request: Request) -> str:
    given = request.headers.get("Authorization", "")
    return given[7:].strip() if given[:7].lower() == "bearer " else ""


def _static_token(given: str) -> bool:
    """RASA_AUTH_TOKEN, compared in constant time; never true when none is configured."""
    expected = settings().rasa_auth_token
    return bool(expected) and hmac.compare_digest(
        given.encode("utf-8", "replace"), expected.encode()
    )


def answer_bad_tokens(bp: Blueprint) -> None:
    """A token of another algorithm ("none", HS512…) makes PyJWT raise an error sanic-jwt
    does not catch, and Rasa's API answered 500: answer 401 like any other bad token (set
    on the whole Rasa server, before it starts)."""

    async def refused(_request: Request, _exc: Exception) -> HTTPResponse:
        return response.json(
            {"status": "failure", "reason": "NotAuthenticated", "code": 401}, status=401
        )

    @bp.listener("before_server_start")
    async def handle(app: Sanic, _loop: object) -> None:
        app.error_handler.add(jwt.PyJWTError, refused)


class SocketIOChannel(SocketIOInput):
    """Rasa's socket.io channel (same name, events and options) on a shared manager."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        assert isinstance(channel, SocketIOChannel)
        config = settings()
        channel.redis_url = config.socketio_redis_url or None
        channel.origins = allowed_origins()
        channel.development = config.app_env == "development"
        chat_sessions.check_secret()
        api_tokens.secret()  # the typing route's key: fail at start-up, not on first use
        if not channel.development and not os.environ.get("SANIC_FORWARDED_SECRET"):
            logger.warning(
                "SANIC_FORWARDED_SECRET is not set: chat messages are limited per conversation "
                "only, not per client address (set it, and FORWARDED_SECRET for the proxy, "
                "deploy/haproxy.cfg)."
            )
        return channel

    redis_url: Optional[str] = None
    origins: Optional[FrozenSet[str]] = None
    development: bool = False

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None
        if self.redis_url:
            # Rasa builds its AsyncServer inside blueprint(); swap the manager before the
            # server has handled anything (it initializes the manager on first use).
            manager = socketio.AsyncRedisManager(self.redis_url, channel="iop-socketio")
            manager.set_server(sio)
            sio.manager = manager
            sio.manager_initialized = False
        sio.eio.max_http_buffer_size = MAX_BODY_BYTES  # polling bodies and websocket packets
        cap_request_bodies(bp)
        answer_bad_tokens(bp)
        self._guard_handlers(sio)

        @bp.route("/typing", methods=["POST"])
        async def typing(request: Request) -> HTTPResponse:
            given = _bearer(request)
            static = _static_token(given)
            if not static and api_tokens.scope(given) is None:
                return response.json({"error": "unauthorized"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender = body.get("sender")
            if not isinstance(sender, str) or not sender or len(sender) > 128:
                return response.json({"error": "sender is required"}, status=400)
            if not static and not api_tokens.allows(given, sender):
                return response.json({"error": "not this conversation"}, status=403)
            await sio.emit(TYPING_EVENT, {"typing": bool(body.get("typing"))}, room=sender)
            return response.empty(status=204)

        return bp

    def _guard_handlers(self, sio: socketio.AsyncServer) -> None:
        """Put checks in front of Rasa's handlers (python-socketio keeps one per event)."""
        namespace = self.namespace or "/"
        handlers = sio.handlers[namespace]
        rasa_connect, rasa_message = handlers["connect"], handlers[self.user_message_evt]

        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not origin_allowed(environ.get("HTTP_ORIGIN"), self.origins):
                logger.warning("A chat connection from another site was refused.")
                raise socketio.exceptions.ConnectionRefusedError("origin not allowed")
            accepted = await rasa_connect(sid, environ, auth)
            if accepted is not False:
                # Who to count this socket's messages under (the request it connected with).
                address = client_address(environ.get("sanic.request"), self.development)
                await sio.save_session(sid, {"address": address}, namespace=self.namespace)
            return accepted

        async def session_request(sid: Text, data: Any) -> None:
            given = data.get("session_id") if isinstance(data, dict) else None
            # A token this server signed resumes its conversation; anything else starts one.
            conversation = chat_sessions.conversation_of(given) or chat_sessions.new_id()
            if self.session_persistence:
                entered = sio.enter_room(sid, conversation, namespace=self.namespace)
                if inspect.isawaitable(entered):  # a coroutine from python-socketio 5.10
                    await entered
            token = chat_sessions.sign(conversation)
            await sio.emit("session_confirm", token, room=sid, namespace=self.namespace)

        async def user_message(sid: Text, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                logger.warning("A chat message without text was ignored.")
                return
            forwarded: Dict[str, Any] = {}
            if self.session_persistence:
                conversation = chat_sessions.conversation_of(data.get("session_id"))
                if conversation is None:
                    await self._reply(sio, sid, SESSION_ENDED)
                    return
                forwarded["session_id"] = conversation
            text = clean_text(data["message"])
            if too_long(text):
                text = crisis_part(text) or ""
                if not text:
                    await self._reply(sio, sid, TOO_LONG)
                    return
            address = await self._address_of(sio, sid)
            conversation = forwarded.get("session_id") or sid
            # Counted in the app database or Redis: off the event loop.
            if not await asyncio.to_thread(may_pass, conversation, text, address):
                await self._reply(sio, sid, SLOW_DOWN)
                return
            metadata = data.get(self.metadata_key)
            forwarded["message"] = text
            forwarded[self.metadata_key] = metadata if isinstance(metadata, dict) else {}
            try:
                await rasa_message(sid, forwarded)
            except Exception as exc:
                # Types only (python-socketio would log the traceback, which may quote text).
                logger.error("A chat message failed: %s", failure(exc))
                await self._reply(sio, sid, FAILED)

        sio.on("connect", connect, namespace=self.namespace)
        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, user_message, namespace=self.namespace)

    async def _address_of(self, sio: socketio.AsyncServer, sid: Text) -> Optional[str]:
        try:
            session = await sio.get_session(sid, namespace=self.namespace)
        except KeyError:  # disconnected meanwhile
            return None
        address = session.get("address") if isinstance(session, dict) else None
        return address if isinstance(address, str) else None

    async def _reply(self, sio: socketio.AsyncServer, sid: Text, text: str) -> None:
        """A bot message to this socket only, outside the conversation."""
        await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=self.namespace)
