"""The website chat's socket.io channel: Rasa's own, made to work across processes.

Rasa's `SocketIOInput` keeps its sockets in one process, so a message for a person whose
widget is connected to another Rasa replica (a coordinator's reply sent through `/execute`
on any replica) went nowhere. With `SOCKETIO_REDIS_URL` set, the server uses
python-socketio's Redis manager: an emit to a conversation's room is published on Redis and
delivered by whichever replica holds that socket. Unset (`make run`), everything stays in
one process, as before.

It also adds `POST /webhooks/socketio/typing` (Bearer RASA_AUTH_TOKEN): the console's
"a coordinator is typing" signal, emitted to the person's room as `coordinator_typing`.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import socketio
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import settings

logger = logging.getLogger(__name__)

TYPING_EVENT = "coordinator_typing"


def _bearer_ok(request: Request) -> bool:
    expected = settings().rasa_auth_token
    given = request.headers.get("Authorization", "")
    # Constant-time, and never true when no token is configured.
    return bool(expected) and hmac.compare_digest(
        given.encode("utf-8", "replace"), f"Bearer {expected}".encode()
    )


class SocketIOChannel(SocketIOInput):
    """Rasa's socket.io channel (same name, events and options) on a shared manager."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        assert isinstance(channel, SocketIOChannel)
        channel.redis_url = settings().socketio_redis_url or None
        return channel

    redis_url: Optional[str] = None

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

        @bp.route("/typing", methods=["POST"])
        async def typing(request: Request) -> HTTPResponse:
            if not _bearer_ok(request):
                return response.json({"error": "unauthorized"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender = body.get("sender")
            if not isinstance(sender, str) or not sender or len(sender) > 128:
                return response.json({"error": "sender is required"}, status=400)
            await sio.emit(TYPING_EVENT, {"typing": bool(body.get("typing"))}, room=sender)
            return response.empty(status=204)

        return bp
