"""The action server: rasa_sdk's own (`python -m rasa_sdk --actions actions`), closed.

- It listens on ACTION_HOST (127.0.0.1 unless a container needs another interface), not on
  every interface as rasa_sdk does by default.
- Every call but /health must carry `Authorization: Bearer $ACTION_SERVER_TOKEN` (Rasa sends
  it, see endpoints.yml); any other call gets 401 before an action runs. Without the header
  a forged call with someone's conversation id could read their pending question or book
  for them. It does not start without a token (make puts one in .env).
- An error answer never carries the request. rasa_sdk's own answers 500 with the whole
  tracker in the body (and Rasa logs that body); this one says only that the call failed,
  and logs the exception's class and where it was raised, never its message.

    python -m scripts.action_server --actions actions --port 5055

The other arguments are rasa_sdk's. scripts/stack.py (make run, the tests, Docker) starts it
this way; rasa_sdk's plug-in hook adds the checks to its Sanic app, so everything else about
the server stays rasa_sdk's.
"""

from __future__ import annotations

import hmac
import logging
import os
from http import HTTPStatus
from typing import Optional

import pluggy
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.errors import describe

hookimpl = pluggy.HookimplMarker("rasa_sdk")
log = logging.getLogger("action_server")

OPEN_PATHS = frozenset({"/health"})  # liveness for the supervisor and the proxy; says nothing


def close(app: Sanic, token: str) -> None:
    """Require the token on every call but OPEN_PATHS; answer errors without the request."""
    expected = f"Bearer {token}".encode()

    @app.middleware("request")
    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get("authorization", "").encode()
        if hmac.compare_digest(given, expected):  # constant time: no guessing it bytewise
            return None
        return response.json(
            {"error": "This server answers only the assistant's own calls."},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    # Replaces rasa_sdk's handler (registered for the same class, so this one is found).
    @app.exception(Exception)
    async def answer_without_the_request(request: Request, exc: Exception) -> HTTPResponse:
        if isinstance(exc, SanicException):  # 404, 405, a malformed body …: the client's
            status = exc.status_code
            return response.json({"error": HTTPStatus(status).phrase}, status=status)
        log.error("%s %s failed: %s", request.method, request.path, describe(exc))
        return response.json({"error": "The action server failed; see its log."}, status=500)


class Closed:
    """rasa_sdk's plug-in hook: called with its Sanic app before the app runs."""

    def __init__(self, token: str):
        self.token = token

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        close(app, self.token)


def main() -> None:
    from rasa_sdk.__main__ import main_from_args
    from rasa_sdk.endpoint import create_argument_parser
    from rasa_sdk.plugin import plugin_manager

    from bot.config import GENERATE_TOKEN, check_or_exit

    settings = check_or_exit()
    if not settings.action_server_token:
        raise SystemExit(
            "Cannot start the action server: ACTION_SERVER_TOKEN is not set (`make` adds one "
            f"to .env; or generate one with `{GENERATE_TOKEN}`)."
        )
    args = create_argument_parser().parse_args()
    os.environ["SANIC_HOST"] = settings.action_host  # where rasa_sdk's run() binds
    plugin_manager().register(Closed(settings.action_server_token))
    main_from_args(args)


if __name__ == "__main__":
    main()
