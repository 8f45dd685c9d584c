"""Rate limits through the real servers (own stack, short windows): insurance checks per
conversation and overall, hit and released, with no clearinghouse call over a limit; a
booking locked after repeated wrong details; widget messages per conversation, and per client
address behind deploy/haproxy.cfg."""

import asyncio
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any, List, Optional

import aiohttp
import httpx
import pytest

from bot.coverage import checks_for
from bot.limits import SLOW_DOWN
from bot.profile import load_profile
from tests.conftest import always_staffed
from tests.e2e import buttons, new_sender, say, texts
from tests.test_e2e_booking import book, code_in
from tests.test_e2e_channels import Chat, run_async

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
HAPROXY = "/usr/sbin/haproxy"
PROFILE = load_profile()
WINDOW = 75  # seconds: long enough for the checks below (on a busy machine), short enough
LIMITS = (
    f"coverage_checks_per_conversation=2/{WINDOW}s,coverage_checks_overall=3/{WINDOW}s,"
    "booking_proof_failures_per_booking=2/1h,"
    f"messages_per_conversation=3/{WINDOW}s,messages_per_address=4/10m"
)
PROXY_SECRET = secrets.token_urlsafe(24)  # deploy/haproxy.cfg's FORWARDED_SECRET
JANE = ["Aetna", "PPO", "AETNA12345", "my own", "Jane", "Doe", "04/04/2004"]
REFUSED = "can't run another insurance check"


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory):
    from scripts.stack import Stack, scratch_environment

    state = tmp_path_factory.mktemp("limits")
    env = scratch_environment(
        state,
        {
            "PROGRAM_PROFILE": str(always_staffed(state)),
            "RATE_LIMITS": LIMITS,
            # Rasa trusts the address the proxy sends with this secret (and no other).
            "SANIC_FORWARDED_SECRET": PROXY_SECRET,
        },
    )
    running = Stack(env, log_dir=state / "log").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def proxy(limited_stack, tmp_path_factory):
    """deploy/haproxy.cfg's public side in front of the stack's Rasa, as in production."""
    from scripts.stack import free_port

    assert Path(HAPROXY).exists(), "HAProxy is needed: `make e2e` installs it (apt)"
    public, internal = free_port(), free_port()
    rasa = f"127.0.0.1:{limited_stack.env['RASA_PORT']}"
    log = tmp_path_factory.mktemp("proxy") / "haproxy.log"
    process = subprocess.Popen(
        [HAPROXY, "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
        env={
            "PROXY_PUBLIC_BIND": f"127.0.0.1:{public}",
            "PROXY_INTERNAL_BIND": f"127.0.0.1:{internal}",
            "RASA_REPLICA_1": rasa,
            "RASA_REPLICA_2": rasa,
            "FORWARDED_SECRET": PROXY_SECRET,
        },
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115
    )
    url = f"http://127.0.0.1:{public}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/socket.io/?EIO=4&transport=polling", timeout=2).is_success:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(10)


def check(stack, sender, answers=JANE, first=False):
    said = say(stack, sender, "/check_insurance")
    if first:
        said = say(stack, sender, "I agree")
    for text in answers:
        said = say(stack, sender, text)
    return texts(said), said


def test_insurance_checks_are_limited_per_conversation_and_overall_then_released(
    limited_stack,
):
    stack, db = limited_stack, limited_stack.env["DATABASE_URL"]
    a, b, c = new_sender("lim-a"), new_sender("lim-b"), new_sender("lim-c")
    said, _ = check(stack, a, first=True)
    opened = time.monotonic()  # the windows opened during that check, before this
    assert "estimate, not a guarantee of payment" in " ".join(said)
    said, _ = check(stack, a)
    assert "estimate, not a guarantee of payment" in " ".join(said)
    # A third check in this conversation: refused at once, before any question.
    said, messages = check(stack, a, answers=[])
    assert REFUSED in " ".join(said) and PROFILE.facts.program.phone in " ".join(said)
    assert "/request_human" in buttons(messages[-1])
    assert len(checks_for(a, db)) == 2

    # B starts under the overall limit; C's check fills it before B's last answer: B's
    # check is refused at the call, and no clearinghouse call is made for it.
    check(stack, b, answers=JANE[:-1], first=True)
    said, _ = check(stack, c, first=True)
    assert "estimate" in " ".join(said)
    said = texts(say(stack, b, JANE[-1]))
    assert REFUSED in " ".join(said), said
    assert checks_for(b, db) == [] and len(checks_for(c, db)) == 1

    assert time.monotonic() - opened < WINDOW  # all of the above inside the windows
    # The windows close WINDOW seconds after A's first check: A may check again.
    time.sleep(max(0.0, WINDOW + 1 - (time.monotonic() - opened)))
    said, _ = check(stack, a)
    assert "estimate, not a guarantee of payment" in " ".join(said), said
    assert len(checks_for(a, db)) == 3


def test_a_booking_is_locked_after_wrong_details_even_for_the_right_ones(limited_stack):
    stack = limited_stack
    code = code_in(book(stack, new_sender("lim-book"))[1])
    guesser = new_sender("lim-guess")
    say(stack, guesser, "/reschedule_appointment")
    say(stack, guesser, code)
    assert "once more" in " ".join(texts(say(stack, guesser, "(512) 555-0199")))
    say(stack, guesser, code)
    locked = " ".join(texts(say(stack, guesser, "(512) 555-0198")))
    assert "can't look this one up right now" in locked
    assert PROFILE.facts.program.phone in locked
    owner = new_sender("lim-owner")
    say(stack, owner, "/reschedule_appointment")
    say(stack, owner, code)
    said = " ".join(texts(say(stack, owner, "(512) 555-0142")))  # the right phone
    assert "can't look this one up right now" in said, said


def test_widget_messages_are_limited_per_conversation_but_a_crisis_always_gets_through(
    limited_stack,
):
    async def scenario() -> None:
        chat = Chat(limited_stack.rasa_url)
        await chat.open()
        for question in ["how many people are in a group?", "how long is it?", "cost?"]:
            await chat.say(question)
            assert SLOW_DOWN not in await chat.texts()
        await chat.say("and do you take aetna?")  # the fourth in the window
        assert await chat.texts() == [SLOW_DOWN]
        await chat.say("i just want to kill myself")
        crisis = " ".join(await chat.texts())
        assert SLOW_DOWN not in crisis and "988" in crisis and "911" in crisis
        await chat.close()

    run_async(scenario())


class Widget(Chat):
    """A widget on a machine of its own: its connections come from `source` (a loopback
    address of this host), with any headers it chooses to send."""

    def __init__(self, url: str, source: str, headers: Optional[dict] = None):
        super().__init__(url)
        self.source, self.headers = source, headers or {}

    async def open(self, session_id: Any = None) -> str:
        connector = aiohttp.TCPConnector(local_addr=(self.source, 0))
        self.client.eio.http = aiohttp.ClientSession(connector=connector)
        confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda token: confirmed.set_result(token))
        await self.client.connect(self.url, transports=["polling"], headers=self.headers)
        await self.client.emit("session_request", {"session_id": session_id})
        self.token = await asyncio.wait_for(confirmed, 10)
        return self.token

    async def ask(self, text: str) -> List[str]:
        await self.say(text)
        return await self.texts()


def test_widget_messages_are_limited_per_client_address_behind_the_proxy(limited_stack, proxy):
    """messages_per_address=4: one address's conversations share the count, whatever
    headers its widgets send; another address does not; a crisis always gets through; a
    client that reaches Rasa directly cannot claim an address by writing headers."""
    questions = ["how many people are in a group?", "how long is it?", "cost?"]

    async def scenario() -> None:
        first, second = Widget(proxy, "127.0.0.2"), Widget(proxy, "127.0.0.2")
        await first.open()
        await second.open()
        for widget, question in [
            (first, questions[0]),
            (first, questions[1]),
            (second, questions[0]),
            (second, questions[1]),
        ]:
            assert SLOW_DOWN not in await widget.ask(question)
        # The fifth from this address: refused, though this conversation has sent only two.
        assert await second.ask(questions[2]) == [SLOW_DOWN]

        # A new conversation from the same address, claiming another one in every header a
        # proxy could have written: the proxy replaces or appends, Rasa reads only its own.
        forged = {
            "X-Forwarded-For": "198.51.100.7",
            "Forwarded": f"for=198.51.100.7;secret={PROXY_SECRET[:8]}",
            "X-Real-IP": "198.51.100.7",
        }
        disguised = Widget(proxy, "127.0.0.2", headers=forged)
        await disguised.open()
        assert await disguised.ask(questions[0]) == [SLOW_DOWN]
        crisis = " ".join(await disguised.ask("i just want to kill myself"))
        assert SLOW_DOWN not in crisis and "988" in crisis and "911" in crisis

        # Another address has its own count.
        neighbour = Widget(proxy, "127.0.0.3")
        await neighbour.open()
        assert SLOW_DOWN not in await neighbour.ask(questions[0])

        # Straight to Rasa, not through the proxy, naming the full address in the headers
        # (with a wrong secret): not counted as that address, so not refused with it.
        claims = {"Forwarded": "for=127.0.0.2;secret=wrong", "X-Forwarded-For": "127.0.0.2"}
        direct = Widget(limited_stack.rasa_url, "127.0.0.2", headers=claims)
        await direct.open()
        assert SLOW_DOWN not in await direct.ask(questions[0])
        for widget in (first, second, disguised, neighbour, direct):
            await widget.close()

    run_async(scenario())
