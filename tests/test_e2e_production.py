"""The production configuration for real: PostgreSQL tracker store and app database, Redis
lock store (endpoints.production.yml), APP_ENV=production with a real PHI key, and two Rasa
replicas whose socket.io servers share Redis. A booking and an insurance check go through
it; what lands in PostgreSQL is encrypted; a coordinator talks, through one replica, to a
widget whose socket is held by the other."""

import asyncio
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
DATABASE = "iop_e2e_production"


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
    connects (session persistence, the same events)."""

    def __init__(self, url: str, session_id: str):
        self.url, self.session_id = url, session_id
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
        await self.client.connect(self.url, transports=["polling"])
        await self.client.emit("session_request", {"session_id": self.session_id})
        assert await asyncio.wait_for(confirmed, 10) == self.session_id

    async def say(self, text: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

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
    person = new_sender("replica")
    token = prod_stack.env["RASA_AUTH_TOKEN"]

    async def conversation() -> None:
        widget = Widget(replica_2, person)
        await widget.open()
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
    person = new_sender("proxy")
    # The console's hop through the proxy (RASA_API_URL=internal), as production would set it.
    api = RasaAPI(internal, prod_stack.env["RASA_AUTH_TOKEN"])

    async def conversation() -> None:
        widget = Widget(public, person)
        await widget.open()
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
