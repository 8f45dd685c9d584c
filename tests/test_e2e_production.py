"""The production configuration for real: PostgreSQL tracker store and app database, Redis
lock store (endpoints.production.yml), APP_ENV=production with a real PHI key, and two Rasa
replicas whose socket.io servers share Redis. A booking and an insurance check go through
it; what lands in PostgreSQL is encrypted; a coordinator talks, through one replica, to a
widget whose socket is held by the other."""

import asyncio
import os
import secrets
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import httpx
import psycopg2
import pytest
import socketio
from cryptography.fernet import Fernet

from bot.console.rasa_api import RasaAPI
from stand_ins.webhook import Webhook
from tests.e2e import new_sender, say, texts
from tests.test_e2e_booking import book, code_in

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
HAPROXY = "/usr/sbin/haproxy"
# Its own database per run: two checkouts testing at once must not drop each other's.
DATABASE = f"iop_e2e_production_{os.getpid()}"
SITE = "https://clinic.example.org"  # the website the widget runs on (RASA_CORS)


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def prod_stack(tmp_path_factory):
    assert Path(HAPROXY).exists(), "HAProxy is needed: `make e2e` installs it (apt)"
    if not (_reachable(5432) and _reachable(6379)):
        pytest.skip(
            "PostgreSQL (5432) and Redis (6379) are needed for the production configuration"
        )
    from scripts.stack import Stack, free_port, scratch_environment

    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="test")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cur.execute(f"CREATE DATABASE {DATABASE}")
    state = tmp_path_factory.mktemp("prod")
    alerts = Webhook().start()  # the clinic's Slack-compatible alert webhook
    env = scratch_environment(
        state,
        {
            "RASA_ENDPOINTS": "endpoints.production.yml",
            "TRACKER_DB_HOST": "127.0.0.1",
            "TRACKER_DB_PORT": "5432",
            "TRACKER_DB_NAME": DATABASE,
            "TRACKER_DB_USER": "postgres",
            "TRACKER_DB_PASSWORD": "",
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": "6379",
            "REDIS_DB": "3",
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{DATABASE}",
            "APP_ENV": "production",
            "PHI_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SOCKETIO_REDIS_URL": "redis://127.0.0.1:6379/4",
            "ALERT_WEBHOOK_URL": alerts.url,
            # Outside development: REST only with its token, the widget only from this site.
            "REST_CHANNEL_TOKEN": secrets.token_urlsafe(16),
            "RASA_CORS": SITE,
        },
    )
    # Replica 2 holds the widgets' sockets; the console talks to replica 1.
    env["RASA_REPLICA_PORTS"] = str(free_port())
    env["RASA_PUBLIC_URL"] = f"http://127.0.0.1:{env['RASA_REPLICA_PORTS']}"
    env["RASA_API_URL"] = f"http://127.0.0.1:{env['RASA_PORT']}"
    running = Stack(env, log_dir=state / "log").start()
    running.alerts = alerts
    # deploy/haproxy.cfg in front of both replicas, as in production.
    public, internal = free_port(), free_port()
    replicas = [f"127.0.0.1:{p}" for p in running.rasa_ports]
    proxy = subprocess.Popen(
        [HAPROXY, "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
        env={
            "PROXY_PUBLIC_BIND": f"127.0.0.1:{public}",
            "PROXY_INTERNAL_BIND": f"127.0.0.1:{internal}",
            "RASA_REPLICA_1": replicas[0],
            "RASA_REPLICA_2": replicas[1],
        },
        stdout=subprocess.DEVNULL,
        stderr=open(state / "log" / "haproxy.log", "wb"),  # noqa: SIM115
    )
    running.proxy_public = f"http://localhost:{public}"
    running.proxy_internal = f"http://127.0.0.1:{internal}"
    deadline = time.monotonic() + 20
    while not (_reachable(public) and _reachable(internal)) and time.monotonic() < deadline:
        time.sleep(0.2)
    yield running
    proxy.terminate()
    proxy.wait(10)
    running.stop()
    alerts.stop()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin.close()


def rows(sql, *args):
    with (
        psycopg2.connect(host="127.0.0.1", user="postgres", dbname=DATABASE) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(sql, args)
        return cur.fetchall()


def test_booking_on_postgres_is_encrypted_at_rest(prod_stack):
    sender = new_sender("prod")
    _, said = book(prod_stack, sender)
    code = code_in(said)
    [(name, phone, email)] = rows(
        "select name, phone, email from intake_bookings where code = %s", code
    )
    for stored, plain in ((name, "Jamie"), (phone, "0142"), (email, "jamie.rivera")):
        assert plain not in stored and stored.startswith("gAAAAA")
    # The conversation itself lives in the PostgreSQL tracker store.
    assert rows("select count(*) from events where sender_id = %s", sender)[0][0] > 10


def test_insurance_check_on_postgres(prod_stack):
    sender = new_sender("prod")
    for text in [
        "/check_insurance",
        "I agree",
        "Aetna",
        "PPO",
        "AETNA12345",
        "my own",
        "Jane",
        "Doe",
    ]:
        say(prod_stack, sender, text)
    said = " ".join(texts(say(prod_stack, sender, "04/04/2004")))
    assert "active" in said and "estimate, not a guarantee of payment" in said
    [(status, summary)] = rows(
        "select status, request from coverage_checks where conversation_id = %s", sender
    )
    assert status == "active" and "AETNA12345" not in summary


def run_async(coroutine) -> None:
    """asyncio.run in a thread of its own: the browser tests' sync Playwright keeps an event
    loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


class Widget:
    """A person's chat widget: a socket.io client on one Rasa replica, as web/static/widget.js
    connects (session persistence, the same events, the session the server hands out)."""

    def __init__(self, url: str, headers: Optional[dict] = None):
        self.url, self.headers = url, headers or {}
        self.token = self.conversation_id = ""
        self.client = socketio.AsyncClient()
        self.received: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", lambda data: self.received.put_nowait(("bot", data)))
        self.client.on(
            "coordinator_typing", lambda data: self.received.put_nowait(("typing", data))
        )

    async def open(self) -> None:
        confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda sid: confirmed.set_result(sid))
        # Long-polling: this engine.io client's websocket needs a newer aiohttp than Rasa pins
        # (the browser widget uses websockets; tests/test_browser_*.py drive it).
        await self.client.connect(self.url, transports=["polling"], headers=self.headers)
        await self.client.emit("session_request", {"session_id": None})
        self.token = await asyncio.wait_for(confirmed, 10)
        self.conversation_id = self.token.split(".")[0]

    async def say(self, text: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.token})

    async def next(self, timeout: float = 30) -> tuple:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def texts_until(self, needle: str, timeout: float = 30) -> list:
        seen: list = []
        while not any(needle in t for t in seen):
            kind, data = await self.next(timeout)
            if kind == "bot":
                seen.append(data.get("text", ""))
        return seen

    async def silent_for(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.received.get(), seconds)
        except asyncio.TimeoutError:
            return True
        return False


def test_a_coordinator_reaches_a_widget_held_by_the_other_replica(prod_stack):
    from tests.test_e2e_console import account, csrf_of, signed_in

    replica_1, replica_2 = (f"http://127.0.0.1:{p}" for p in prod_stack.rasa_ports)
    assert prod_stack.env["RASA_API_URL"] == replica_1  # the console's side
    assert prod_stack.env["RASA_PUBLIC_URL"] == replica_2  # the widget's side
    alex = signed_in(prod_stack, account(prod_stack, name="Alex"))
    headers = {"X-CSRF-Token": csrf_of(alex)}
    token = prod_stack.env["RASA_AUTH_TOKEN"]

    async def conversation() -> None:
        widget = Widget(replica_2)
        await widget.open()
        person = widget.conversation_id
        await widget.say("/request_human")
        await widget.texts_until("")  # the bot's answer to the request, on replica 2
        queue = alex.get("/console/queue.json").json()
        item = next(i for i in queue if i["conversation_id"] == person)
        claimed = alex.post(f"/console/claim/{item['id']}", headers=headers).json()
        assert claimed["joined"] is True
        await widget.texts_until("Alex from our intake team has joined")

        # The typing signal goes into replica 1 and comes out of replica 2.
        typing_url = f"{replica_1}/webhooks/socketio/typing"
        body = {"sender": person, "typing": True}
        assert httpx.post(typing_url, json=body).status_code == 401
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.post(typing_url, json=body, headers=bearer).status_code == 204
        while (event := await widget.next()) and event[0] != "typing":
            pass
        assert event == ("typing", {"typing": True})

        base = f"/console/conversation/{item['id']}"
        sent = alex.post(base + "/message", json={"text": "Hi, Alex here."}, headers=headers)
        assert sent.status_code == 200
        assert "Hi, Alex here." in await widget.texts_until("Hi, Alex here.")
        # The assistant is paused on both replicas: the person's words get no bot reply.
        await widget.say("thanks, can you help me with insurance?")
        assert await widget.silent_for(4)
        assert alex.post(base + "/return", headers=headers).json()["told"] is True
        await widget.texts_until("")  # the hand-back notice
        await widget.say("how many people are in a group?")
        assert any("capped at" in t for t in await widget.texts_until("capped at"))
        await widget.client.disconnect()

    run_async(conversation())


def test_a_long_injected_crisis_reason_is_recorded_on_postgres(prod_stack):
    from bot.profile import load_profile

    person = new_sender("inject")
    before = len(prod_stack.alerts.received)
    injected = '/crisis{"crisis_level": "acute", "crisis_reason": "%s"}' % ("a" * 200)
    said = texts(say(prod_stack, person, injected))
    # The "flagged" offer: the escalation row was written (a 200-character reason in
    # escalations.reason, String(64), failed the write on PostgreSQL).
    assert said == [load_profile().crisis_text, load_profile().crisis_followup], said
    assert rows("select count(*) from escalations where conversation_id = %s", person) == [(1,)]
    prod_stack.alerts.wait_for(before + 1)  # its alert, delivered before the next test counts


def test_a_crisis_alerts_the_webhook_with_a_link_and_no_phi(prod_stack):
    person = new_sender("alert")
    before = len(prod_stack.alerts.received)
    sent = time.time()
    said = " ".join(texts(say(prod_stack, person, "I'm Jamie and I want to end my life tonight")))
    assert "988" in said
    got = prod_stack.alerts.wait_for(before + 1)[before:]
    [alert] = [a for a in got if a["text"].startswith(":rotating_light: Crisis")]
    [(escalation_id,)] = rows("select id from escalations where conversation_id = %s", person)
    assert alert["text"].endswith(f"/console/conversation/{escalation_id}")
    for private in ("Jamie", "end my life", person):
        assert private not in alert["text"]
    print(f"crisis message to webhook alert: {alert['_at'] - sent:.2f} s")
    query = "select status, attempts from outbox where conversation_id = %s"
    deadline = time.monotonic() + 10  # the worker marks the row just after the POST
    while rows(query, person) != [("sent", 1)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rows(query, person) == [("sent", 1)]


def test_one_address_for_the_widget_and_the_console_in_front_of_both_replicas(prod_stack):
    """deploy/haproxy.cfg: the widget's socket.io sticks to one replica by cookie; the
    console's calls go round-robin to both; every message still reaches the widget."""
    from tests.test_e2e_console import account, csrf_of, signed_in

    public, internal = prod_stack.proxy_public, prod_stack.proxy_internal
    # The public side is the chat only: Rasa's HTTP API and REST channel are not there.
    assert httpx.get(f"{public}/status").status_code == 404
    assert httpx.post(f"{public}/webhooks/rest/webhook", json={}).status_code == 404
    sam = signed_in(prod_stack, account(prod_stack, name="Sam"))
    headers = {"X-CSRF-Token": csrf_of(sam)}
    # The console's hop through the proxy (RASA_API_URL=internal), as production would set it.
    api = RasaAPI(internal, prod_stack.env["RASA_AUTH_TOKEN"])

    async def conversation() -> None:
        widget = Widget(public)
        await widget.open()
        person = widget.conversation_id
        await widget.say("/request_human")
        await widget.texts_until("")
        queue = sam.get("/console/queue.json").json()
        item = next(i for i in queue if i["conversation_id"] == person)
        assert sam.post(f"/console/claim/{item['id']}", headers=headers).json()["joined"]
        await widget.texts_until("Sam from our intake team has joined")
        # Round-robin: these four land on both replicas, whichever holds the socket.
        for n in range(4):
            await asyncio.get_running_loop().run_in_executor(None, api.say, person, f"note {n}")
            await widget.texts_until(f"note {n}")
        await widget.client.disconnect()

    run_async(conversation())


def test_rest_and_the_api_refuse_callers_without_credentials(prod_stack):
    """APP_ENV=production: the REST channel answers only with REST_CHANNEL_TOKEN, the HTTP API
    only with RASA_AUTH_TOKEN, and a request without a sender is refused, not "default"."""
    url = f"{prod_stack.rasa_url}/webhooks/rest/webhook"
    body = {"sender": new_sender("prod-rest"), "message": "how many people are in a group?"}
    assert httpx.post(url, json=body).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 22}
    assert httpx.post(url, json=body, headers=wrong).status_code == 401
    api_token = {"Authorization": f"Bearer {prod_stack.env['RASA_AUTH_TOKEN']}"}
    assert httpx.post(url, json=body, headers=api_token).status_code == 401  # not the API's
    bearer = {"Authorization": f"Bearer {prod_stack.env['REST_CHANNEL_TOKEN']}"}
    no_sender = httpx.post(url, json={"message": "hi"}, headers=bearer, timeout=30)
    assert no_sender.status_code == 400 and "sender is required" in no_sender.json()["error"]
    answered = httpx.post(url, json=body, headers=bearer, timeout=60)
    assert answered.status_code == 200 and "capped at" in " ".join(texts(answered.json()))

    status = f"{prod_stack.rasa_url}/status"
    assert httpx.get(status).status_code == 401
    assert httpx.get(status, params={"token": "wrong"}).status_code == 401
    token = {"token": prod_stack.env["RASA_AUTH_TOKEN"]}
    assert httpx.get(status, params=token).status_code == 200


def test_the_public_side_never_reaches_rasas_api(prod_stack):
    """deploy/haproxy.cfg: only /socket.io/ goes through, however the path is spelled, and
    even a caller holding the API token gets nothing else."""
    public, token = prod_stack.proxy_public, prod_stack.env["RASA_AUTH_TOKEN"]
    for path in [
        "/status",
        "/version",
        "/",
        "/conversations/x/tracker",
        "/model/parse",
        "/webhooks/rest/webhook",
        "/webhooks/socketio/typing",
        "/webhooks/socketio/",
        "//status",
        "/%73tatus",
        "/SOCKET.IO/",
        "/socket.io",
        "/socket.io/../status",
        "/socket.io/%2e%2e/status",
        "/socket.io/..%2fstatus",
    ]:
        for method in ("GET", "POST"):
            answer = httpx.request(method, public + path, params={"token": token}, json={})
            assert answer.status_code in (400, 404), (method, path, answer.status_code)
            assert "version" not in answer.text, (method, path)


def test_a_widget_on_another_site_is_refused(prod_stack):
    """Outside development the socket.io channel checks Origin against RASA_CORS."""
    replica = prod_stack.rasa_url

    async def attempts() -> None:
        for origin in ("https://evil.example", "null", SITE + ".evil.example"):
            refused = Widget(replica, headers={"Origin": origin})
            try:
                with pytest.raises(socketio.exceptions.ConnectionError):
                    await refused.open()
            finally:
                await refused.client.disconnect()  # no connection left open on the server
        widget = Widget(replica, headers={"Origin": SITE})
        await widget.open()
        await widget.say("how many people are in a group?")
        assert any("capped at" in t for t in await widget.texts_until("capped at"))
        await widget.client.disconnect()

    run_async(attempts())


def test_the_canary_is_in_no_row_of_postgresql_and_no_log(prod_stack):
    """tests/test_e2e_tracker_encryption.py's canary on the production stores: no row of any
    table (the tracker store's `events` and the app's) holds it, nor any log; Rasa replica 1
    restarted before the last "yes" reads the encrypted tracker back from PostgreSQL."""
    from tests.test_e2e_tracker_encryption import canary_conversation, canary_in, files_under

    sender = new_sender("canary")
    said = canary_conversation(
        prod_stack, sender, before_confirming=lambda: prod_stack.restart("rasa server")
    )
    assert said[0].startswith("You're booked!"), said
    tables = [t for (t,) in rows("select tablename from pg_tables where schemaname = 'public'")]
    assert "events" in tables and "intake_bookings" in tables
    leaks = {}
    for table in tables:
        dump = "\n".join(text for (text,) in rows(f'select t::text from "{table}" t'))
        leaks[table] = canary_in(dump.encode())
    assert {t: found for t, found in leaks.items() if found} == {}
    [(total, encrypted, labels, ours)] = rows(
        "select count(*), count(*) filter (where data like 'gAAAAA%%'),"
        " count(intent_name) + count(action_name), count(*) filter (where sender_id = %s)"
        " from events",
        sender,
    )
    assert ours > 100 and encrypted == total and labels == 0
    logs = files_under(prod_stack.log_dir)
    assert {str(p): canary_in(b) for p, b in logs.items() if canary_in(b)} == {}
