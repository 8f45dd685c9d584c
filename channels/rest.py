"""Rasa's REST channel (same name, URL and answers), closed to strangers and to bad input.

- Outside development it answers only a caller with `Authorization: Bearer
  $REST_CHANNEL_TOKEN`; with no token configured there, it is off (403). In development it
  is open unless a token is set (the tests, `make bench` and curl use it).
- `sender` is required: Rasa's default put every request without one into a single
  conversation named "default". So are a JSON object body and a text `message`; each refusal
  is a 400 saying what is missing.
- A message over MAX_MESSAGE_CHARS gets a kind reply and never reaches the assistant; bodies
  over MAX_BODY_BYTES get 413 (channels.limits).
- `input_channel` always says "rest" (a caller could claim another channel), and a failure
  is logged by its type only: Rasa's own handler logs the message text.
"""

from __future__ import annotations

import hmac
import logging
from asyncio import CancelledError
from typing import Awaitable, Callable, Optional, Union

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.config import Settings, settings
from channels.limits import (
    FAILED,
    TOO_LONG,
    cap_request_bodies,
    clean_text,
    crisis_part,
    failure,
    too_long,
)

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128


def refusal(config: Settings, authorization: str) -> Optional[HTTPResponse]:
    """Why a caller may not use the channel (a response), or None when it may."""
    expected = config.rest_channel_token
    if not expected:
        if config.app_env == "development":
            return None
        return response.json(
            {"error": "the REST channel is off here (no REST_CHANNEL_TOKEN is configured)"},
            status=403,
        )
    # Constant-time, on bytes: a header may hold any character.
    if hmac.compare_digest(authorization.encode("utf-8", "replace"), f"Bearer {expected}".encode()):
        return None
    return response.json(
        {"error": "send the REST channel's token: Authorization: Bearer <token>"},
        status=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def valid_sender(sender: object) -> bool:
    """A conversation id: 1 to 128 printable characters, not just spaces."""
    return (
        isinstance(sender, str)
        and 0 < len(sender) <= MAX_SENDER_CHARS
        and sender.isprintable()
        and bool(sender.strip())
    )


def _bad_request(error: str) -> HTTPResponse:
    return response.json({"error": error}, status=400)


class RestChannel(RestInput):
    """Rasa's REST input channel, hardened (see the module's docstring)."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        cap_request_bodies(bp)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            refused = refusal(settings(), request.headers.get("Authorization", ""))
            if refused is not None:
                return refused
            try:
                body = request.json
            except InvalidUsage:
                body = None
            if not isinstance(body, dict):
                return _bad_request('send a JSON object: {"sender": "…", "message": "…"}')
            sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata")
            if not valid_sender(sender):
                return _bad_request(
                    f"sender is required: the conversation's id, 1 to {MAX_SENDER_CHARS} "
                    "printable characters"
                )
            if not isinstance(text, str):
                return _bad_request("message is required: the person's text")
            if metadata is not None and not isinstance(metadata, dict):
                return _bad_request("metadata must be a JSON object")
            text = clean_text(text)
            if too_long(text):
                text = crisis_part(text) or ""
                if not text:
                    return response.json([{"recipient_id": sender, "text": TOO_LONG}])

            if bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, sender, self.name(), metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            message = UserMessage(
                text, collector, sender, input_channel=self.name(), metadata=metadata
            )
            try:
                await on_new_message(message)
            except CancelledError:
                logger.error("A REST message timed out before the assistant answered.")
            except Exception as exc:
                logger.error("A REST message failed: %s", failure(exc))
                return response.json({"error": FAILED}, status=500)
            return response.json(collector.messages)

        return bp
