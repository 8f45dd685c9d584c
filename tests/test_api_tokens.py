"""Scoped tokens for Rasa's HTTP API (bot.api_tokens), how Rasa is given their key
(scripts/rasa_server.py), what the console sends (bot.console.rasa_api), and which client
address the chat counts messages under (channels.limits.client_address). Through the real
servers: tests/test_e2e_api_tokens.py and tests/test_e2e_limits.py."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.fernet import Fernet
from sanic.compat import Header

from bot import api_tokens
from channels.limits import client_address, vouched_address


@pytest.fixture()
def key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("SIGNING_SECRET", "")


def test_a_conversation_token_acts_on_that_conversation_only(key):
    token = api_tokens.for_conversation("conv-a")
    assert api_tokens.scope(token) == ("user", "conv-a")
    assert api_tokens.allows(token, "conv-a")
    assert not api_tokens.allows(token, "conv-b")
    assert not api_tokens.allows(token, "conv-a ")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert 0 < claims["exp"] - time.time() <= api_tokens.CONSOLE_TTL
    admin = api_tokens.admin()
    assert api_tokens.scope(admin) == ("admin", "admin")
    assert api_tokens.allows(admin, "conv-a") and api_tokens.allows(admin, "conv-b")


def _signed(payload, key, algorithm="HS256"):
    return jwt.encode(payload, key, algorithm=algorithm)


def test_tokens_not_signed_here_or_expired_or_malformed_give_nothing(key, monkeypatch):
    secret = api_tokens.secret()
    soon = int(time.time()) + 60
    user = {"username": "conv-a", "role": "user"}
    assert api_tokens.scope(_signed({"user": user, "exp": soon}, secret)) == ("user", "conv-a")
    refused = {
        "expired": api_tokens.mint("conv-a", "user", ttl=60, now=time.time() - 600),
        "another key": _signed({"user": user, "exp": soon}, "x" * 64),
        "another algorithm": _signed({"user": user, "exp": soon}, secret, "HS512"),
        "unsigned": jwt.encode({"user": user, "exp": soon}, None, algorithm="none"),
        "no expiry": _signed({"user": user}, secret),
        "unknown role": _signed({"user": {**user, "role": "owner"}, "exp": soon}, secret),
        "no username": _signed({"user": {"role": "user"}, "exp": soon}, secret),
        "no user": _signed({"role": "admin", "exp": soon}, secret),
        "garbage": "not.a.token",
        "empty": "",
        "huge": "a" * 5000,
        "not text": None,
    }
    for name, token in refused.items():
        assert api_tokens.scope(token) is None, name
        assert not api_tokens.allows(token, "conv-a"), name
    # A token of the key before: a new signing key (SIGNING_SECRET) refuses it.
    token = api_tokens.for_conversation("conv-a")
    monkeypatch.setenv("SIGNING_SECRET", "a new signing secret")
    assert api_tokens.scope(token) is None
    with pytest.raises(ValueError):
        api_tokens.mint("conv-a", "owner", 60)


def test_the_key_survives_a_phi_key_rotation(key, monkeypatch):
    import os

    token = api_tokens.for_conversation("conv-a")
    old = os.environ["PHI_ENCRYPTION_KEY"]
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", f"{Fernet.generate_key().decode()},{old}")
    assert api_tokens.allows(token, "conv-a")


def test_rasa_gets_the_jwt_key_and_the_token_from_the_environment(key, monkeypatch):
    import rasa.__main__

    from scripts import rasa_server

    seen = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setenv("RASA_AUTH_TOKEN", "-from-the-env")
    monkeypatch.setattr(sys, "argv", ["rasa_server", "--enable-api", "--port", "5005"])
    rasa_server.main()
    jwt_args = [f"--jwt-secret={api_tokens.secret()}", "--jwt-method=HS256"]
    assert seen[-1] == [
        "rasa",
        *["run", "--enable-api", "--port", "5005", "--auth-token=-from-the-env"],
        *jwt_args,
    ]
    # Without a static token, the API takes JWTs only (never nothing: the key is always set).
    monkeypatch.setenv("RASA_AUTH_TOKEN", "")
    monkeypatch.setattr(sys, "argv", ["rasa_server", "--enable-api", "--port", "5005"])
    rasa_server.main()
    assert seen[-1] == ["rasa", "run", "--enable-api", "--port", "5005", *jwt_args]

    for given in (
        ["--auth-token", "s3cr3t"],
        ["--auth-token=s3cr3t"],
        ["--auth=s3cr3t"],
        ["-t", "s3cr3t"],
        ["-ts3cr3t"],
        ["--jwt-secret", "s3cr3t"],
        ["--jwt-secret=s3cr3t"],
        ["--jwt-sec", "s3cr3t"],
        ["--jwt-method=none"],
        ["--jwt-private-key", "s3cr3t"],
    ):
        monkeypatch.setattr(sys, "argv", ["rasa_server", "--enable-api", *given])
        with pytest.raises(SystemExit, match="never on the command line") as refused:
            rasa_server.main()
        assert "s3cr3t" not in str(refused.value)  # the message does not repeat it
    assert len(seen) == 2


class _Recorder(BaseHTTPRequestHandler):
    seen: list = []

    def _answer(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        self.seen.append((parts.path, parse_qs(parts.query), self.headers.get("authorization")))
        reply = json.dumps({"events": []} if self.command == "GET" else {}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
        del body

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def test_the_console_sends_a_token_for_the_one_conversation_not_the_api_token(key, monkeypatch):
    """Every call RasaAPI makes, over HTTP to a recorder: a Bearer token scoped to the
    conversation it acts on, valid minutes; never RASA_AUTH_TOKEN, in a header or the URL."""
    from bot.console.rasa_api import RasaAPI

    monkeypatch.setenv("RASA_AUTH_TOKEN", "the-static-api-token")
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = RasaAPI(f"http://127.0.0.1:{server.server_address[1]}")
        api.pause("conv-a")
        api.say("conv-a", "Hi, Alex here.")
        api.transcript("conv-a")
        api.typing("conv-a", True)
        api.resume("conv-b")
    finally:
        server.shutdown()
    paths = [path for path, _, _ in _Recorder.seen]
    assert paths == [
        "/conversations/conv-a/tracker/events",
        "/conversations/conv-a/tracker/events",
        "/conversations/conv-a/execute",
        "/conversations/conv-a/tracker",
        "/webhooks/socketio/typing",
        "/conversations/conv-b/tracker/events",
    ]
    for path, query, authorization in _Recorder.seen:
        assert "token" not in query and "the-static-api-token" not in (authorization or "")
        assert authorization and authorization.startswith("Bearer ")
        role, username = api_tokens.scope(authorization[7:])
        assert role == "user" and username == ("conv-b" if "conv-b" in path else "conv-a")
    assert _Recorder.seen[2][1] == {"output_channel": ["latest"]}


# --- the client address the chat counts messages under ---------------------------------------

SECRET = "proxy-secret_123"


def request(headers=(), peer="127.0.0.1", secret=None, proxies=None):
    config = {"FORWARDED_SECRET": secret, "PROXIES_COUNT": proxies}
    return SimpleNamespace(
        app=SimpleNamespace(config=config), headers=Header(list(headers)), ip=peer
    )


def test_behind_the_proxy_only_the_address_it_vouches_for_counts():
    ours = ("forwarded", f'for="203.0.113.7";secret="{SECRET}"')
    assert client_address(request([ours], secret=SECRET), development=False) == "203.0.113.7"
    ipv6 = ("forwarded", f'for="2001:db8::5";secret="{SECRET}"')
    assert client_address(request([ipv6], secret=SECRET), development=False) == "2001:db8::5"
    # What a client writes itself is never read: beside ours, or without ours (a client
    # reaching Rasa directly, not through the proxy).
    forged = [
        ("forwarded", "for=198.51.100.1;secret=guess"),
        ("x-forwarded-for", "198.51.100.2"),
        ("x-real-ip", "198.51.100.3"),
    ]
    assert client_address(request([*forged, ours], secret=SECRET), False) == "203.0.113.7"
    for development in (True, False):
        assert client_address(request(forged, secret=SECRET), development) is None
        assert client_address(request([], secret=SECRET), development) is None
    # A client cannot pass off a Forwarded element of its own as the proxy's by putting it
    # after the proxy's: the proxy replaces the whole header, and a forged element without
    # the secret is not the one read.
    after = [ours, ("forwarded", "for=198.51.100.9")]
    assert client_address(request(after, secret=SECRET), False) == "203.0.113.7"


def test_with_a_chain_of_proxies_the_nth_forwarded_for_entry_from_the_right():
    ours = ("forwarded", f'for="10.0.0.2";secret="{SECRET}"')  # the load balancer, to HAProxy
    chain = [("x-forwarded-for", "198.51.100.2, 203.0.113.7"), ("x-forwarded-for", "10.0.0.2")]
    assert vouched_address(Header([ours, *chain]), SECRET, 2) == "203.0.113.7"
    assert vouched_address(Header([ours, *chain]), SECRET, 1) == "10.0.0.2"
    assert vouched_address(Header([ours, *chain]), SECRET, 5) is None  # fewer entries
    assert vouched_address(Header(chain), SECRET, 2) is None  # not through the proxy


def test_without_a_proxy_secret_the_peer_in_development_and_nothing_elsewhere():
    headers = [("x-forwarded-for", "198.51.100.2"), ("forwarded", "for=198.51.100.1")]
    assert client_address(request(headers, peer="127.0.0.5"), development=True) == "127.0.0.5"
    # Behind a proxy the peer is the proxy: one address for everyone, so none is counted.
    assert client_address(request(headers, peer="127.0.0.5"), development=False) is None
    assert client_address(request(headers, proxies=1), development=False) is None
    assert client_address(None, development=True) is None
