"""A local stand-in for Cal.com API v2 (the endpoints CalComScheduler uses), for tests and
offline development:

    python -m stand_ins.calcom --port 8090 [--api-key cal_test_local] [--event-type-id 1]

then CALCOM_API_KEY=cal_test_local CALCOM_BASE_URL=http://127.0.0.1:8090 CALCOM_EVENT_TYPE_ID=1.

It checks `Authorization: Bearer <key>` (401) and the exact cal-api-version each endpoint
requires (400 otherwise, so a client that drifts to another version is caught), keeps
bookings in memory, and offers hourly slots 09:00-17:00 America/Chicago on weekdays.

Failure knobs, for tests:
- attendee names: "Fail 500", "Fail 503", "Fail 422", ... answer that status; "Slow N" sleeps
  N seconds;
- `server.fail_next(status, times=1)` / `server.delay_next(seconds, times=1)` or the HTTP
  control endpoint POST /_control {"fail": 500, "times": 2} / {"delay": 3} / {"reset": true}.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import socket
import threading
import time
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from bot.scheduling.calcom import BOOKINGS_VERSION, SLOTS_VERSION

HOST_ZONE = ZoneInfo("America/Chicago")


class CalComLocalServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: Tuple[str, int],
        api_key: str = "cal_test_local",
        event_type_id: int = 1,
        length_minutes: int = 60,
    ) -> None:
        super().__init__(address, _Handler)
        self.api_key = api_key
        self.event_type_id = event_type_id
        self.length = timedelta(minutes=length_minutes)
        self.bookings: Dict[str, Dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.failures: List[Tuple[str, float]] = []  # ("status", 500) / ("delay", 3.0)
        self.requests: List[Tuple[str, str, Optional[str]]] = []  # (method, path, version)

    def handle_error(
        self, request: Union[socket.socket, Tuple[bytes, socket.socket]], client_address: Any
    ) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up (timeout tests)
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, (bytes, bytearray)):  # typed as possible; AF_INET gives a str
            host = host.decode()
        return f"http://{host}:{port}"

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([("status", status)] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([("delay", seconds)] * times)

    def reset(self) -> None:
        with self.lock:
            self.failures.clear()
            self.bookings.clear()
            self.requests.clear()

    def busy(self, start: datetime, end: datetime, ignore: Optional[str] = None) -> bool:
        for uid, b in self.bookings.items():
            if (
                uid != ignore
                and b["status"] == "accepted"
                and b["_start"] < end
                and start < b["_end"]
            ):
                return True
        return False

    def on_grid(self, start: datetime) -> bool:
        local = start.astimezone(HOST_ZONE)
        return (
            local.weekday() < 5
            and 9 <= local.hour < 17
            and local.minute == 0
            and local.second == 0
            and start > datetime.now(timezone.utc)
        )

    def open_slots(self, start: datetime, end: datetime) -> List[Tuple[datetime, datetime]]:
        out = []
        day = start.astimezone(HOST_ZONE).date()
        while day <= end.astimezone(HOST_ZONE).date():
            if day.weekday() < 5:
                for hour in range(9, 17):
                    s = datetime(day.year, day.month, day.day, hour, tzinfo=HOST_ZONE).astimezone(
                        timezone.utc
                    )
                    e = s + self.length
                    if start <= s <= end and self.on_grid(s) and not self.busy(s, e):
                        out.append((s, e))
            day += timedelta(days=1)
        return out


def start_calcom(
    port: int = 0, api_key: str = "cal_test_local", event_type_id: int = 1
) -> Tuple[CalComLocalServer, str]:
    """Start the server on 127.0.0.1 in a daemon thread -> (server, base_url).
    Stop it with server.shutdown(); server.server_close()."""
    server = CalComLocalServer(("127.0.0.1", port), api_key=api_key, event_type_id=event_type_id)
    threading.Thread(target=server.serve_forever, name="calcom-local", daemon=True).start()
    return server, server.url


def _utc_text(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse_when(text: str, end_of_day: bool = False) -> datetime:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        d = date.fromisoformat(text)
        t = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        return t + timedelta(days=1, seconds=-1) if end_of_day else t
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("time without a zone")
    return dt.astimezone(timezone.utc)


class _Handler(BaseHTTPRequestHandler):
    server: CalComLocalServer
    protocol_version = "HTTP/1.1"
    _cached_body: Dict[str, Any]  # the request's JSON body, read once per request

    def log_message(self, fmt: str, *args: Any) -> None:
        pass  # quiet: requests may carry contact details

    # --- plumbing -----------------------------------------------------------------------
    def _send(self, status: int, body: Dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(
            status,
            {
                "status": "error",
                "timestamp": _utc_text(datetime.now(timezone.utc)),
                "path": self.path,
                "error": {"code": str(status), "message": message},
            },
        )

    def _body(self) -> Dict[str, Any]:
        if hasattr(self, "_cached_body"):
            return self._cached_body
        self._cached_body = self._read_body()
        return self._cached_body

    def _read_body(self) -> Dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _guard(self, version: str) -> bool:
        """Knobs, the Bearer key and the pinned version. True when the request may go on."""
        srv = self.server
        with srv.lock:
            srv.requests.append((self.command, self.path, self.headers.get("cal-api-version")))
            knob = srv.failures.pop(0) if srv.failures else None
        if knob and knob[0] == "delay":
            time.sleep(knob[1])
        if knob and knob[0] == "status":
            self._error(int(knob[1]), "Injected failure")
            return False
        if self.headers.get("Authorization") != f"Bearer {srv.api_key}":
            self._error(401, "Invalid API key")
            return False
        got = self.headers.get("cal-api-version")
        if got != version:
            self._error(400, f"cal-api-version must be {version} for this endpoint (got {got!r})")
            return False
        return True

    # --- routes -------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._cached_body = self._read_body()
        url = urlparse(self.path)
        if url.path == "/v2/slots":
            return self._slots(parse_qs(url.query))
        m = re.fullmatch(r"/v2/bookings/([^/]+)", url.path)
        if m:
            if not self._guard(BOOKINGS_VERSION):
                return
            b = self.server.bookings.get(m.group(1))
            return (
                self._send(200, {"status": "success", "data": _public(b)})
                if b
                else self._error(404, "Booking not found")
            )
        self._error(404, "Not found")

    def do_POST(self) -> None:
        # Always drain the body (the connection is kept alive); one handler serves many requests.
        self._cached_body = self._read_body()
        path = urlparse(self.path).path
        if path == "/_control":
            return self._control()
        if path == "/v2/bookings":
            return self._create()
        m = re.fullmatch(r"/v2/bookings/([^/]+)/(cancel|reschedule)", path)
        if m:
            return (
                self._cancel(m.group(1)) if m.group(2) == "cancel" else self._reschedule(m.group(1))
            )
        self._error(404, "Not found")

    def _control(self) -> None:
        body = self._body()
        if body.get("reset"):
            self.server.reset()
        if body.get("fail"):
            self.server.fail_next(int(body["fail"]), int(body.get("times", 1)))
        if body.get("delay"):
            self.server.delay_next(float(body["delay"]), int(body.get("times", 1)))
        self._send(200, {"status": "success"})

    def _slots(self, query: Dict[str, List[str]]) -> None:
        if not self._guard(SLOTS_VERSION):
            return
        q = {k: v[0] for k, v in query.items()}
        if str(q.get("eventTypeId")) != str(self.server.event_type_id):
            return self._error(404, f"Event type with id={q.get('eventTypeId')} not found")
        try:
            start = _parse_when(q["start"])
            end = _parse_when(q["end"], end_of_day=True)
            zone = ZoneInfo(q.get("timeZone") or "UTC")
        except (KeyError, ValueError):
            return self._error(
                400, "start and end are required ISO 8601 UTC dates; timeZone must be IANA"
            )
        data: Dict[str, List[Dict[str, str]]] = {}
        for s, e in self.server.open_slots(start, end):
            ls, le = s.astimezone(zone), e.astimezone(zone)
            item = {"start": ls.isoformat(timespec="milliseconds")}
            if q.get("format") == "range":
                item["end"] = le.isoformat(timespec="milliseconds")
            data.setdefault(ls.date().isoformat(), []).append(item)
        self._send(200, {"status": "success", "data": data})

    def _create(self) -> None:
        if not self._guard(BOOKINGS_VERSION):
            return
        body = self._body()
        attendee = body.get("attendee") or {}
        name = str(attendee.get("name") or "")
        if not self._name_knob(name):
            return
        missing = [k for k in ("name", "email", "timeZone") if not attendee.get(k)]
        if not body.get("start") or missing:
            return self._error(400, f"Missing start or attendee fields: {missing}")
        if str(body.get("eventTypeId")) != str(self.server.event_type_id):
            return self._error(404, f"Event type with id={body.get('eventTypeId')} not found")
        try:
            start = _parse_when(body["start"])
        except ValueError:
            return self._error(400, "start must be ISO 8601 in UTC")
        end = start + self.server.length
        with self.server.lock:
            if not self.server.on_grid(start):
                return self._error(400, "Requested time is not available")
            if self.server.busy(start, end):
                return self._error(
                    409, "User either already has booking at this time or is not available"
                )
            uid = secrets.token_urlsafe(12)
            self.server.bookings[uid] = {
                "uid": uid,
                "id": len(self.server.bookings) + 1,
                "status": "accepted",
                "_start": start,
                "_end": end,
                "eventTypeId": self.server.event_type_id,
                "attendees": [
                    {
                        "name": name,
                        "email": attendee["email"],
                        "timeZone": attendee["timeZone"],
                        "phoneNumber": attendee.get("phoneNumber"),
                    }
                ],
            }
            booking = _public(self.server.bookings[uid])
        self._send(201, {"status": "success", "data": booking})

    def _name_knob(self, name: str) -> bool:
        m = re.fullmatch(r"Fail (\d{3})", name)
        if m:
            self._error(int(m.group(1)), "Injected failure")
            return False
        m = re.fullmatch(r"Slow (\d+(?:\.\d+)?)", name)
        if m:
            time.sleep(float(m.group(1)))
        return True

    def _cancel(self, uid: str) -> None:
        if not self._guard(BOOKINGS_VERSION):
            return
        body = self._body()
        with self.server.lock:
            b = self.server.bookings.get(uid)
            if b is None:
                return self._error(404, f"Booking with uid={uid} not found")
            b["status"] = "cancelled"
            b["cancellationReason"] = body.get("cancellationReason")
            booking = _public(b)
        self._send(200, {"status": "success", "data": booking})

    def _reschedule(self, uid: str) -> None:
        if not self._guard(BOOKINGS_VERSION):
            return
        body = self._body()
        with self.server.lock:
            old = self.server.bookings.get(uid)
            if old is None:
                return self._error(404, f"Booking with uid={uid} not found")
            if old["status"] != "accepted":
                return self._error(
                    400, f"Booking with uid={uid} is {old['status']} and cannot be rescheduled"
                )
            try:
                start = _parse_when(str(body.get("start")))
            except ValueError:
                return self._error(400, "start must be ISO 8601 in UTC")
            end = start + self.server.length
            if not self.server.on_grid(start):
                return self._error(400, "Requested time is not available")
            if self.server.busy(start, end, ignore=uid):
                return self._error(
                    409, "User either already has booking at this time or is not available"
                )
            new_uid = secrets.token_urlsafe(12)
            new = dict(
                old,
                uid=new_uid,
                id=len(self.server.bookings) + 1,
                _start=start,
                _end=end,
                rescheduledFromUid=uid,
                reschedulingReason=body.get("reschedulingReason"),
            )
            old["status"] = "cancelled"
            old["rescheduledToUid"] = new_uid
            self.server.bookings[new_uid] = new
            booking = _public(new)
        self._send(201, {"status": "success", "data": booking})


def _public(b: Dict[str, Any]) -> Dict[str, Any]:
    out = {k: v for k, v in b.items() if not k.startswith("_")}
    out["start"], out["end"] = _utc_text(b["_start"]), _utc_text(b["_end"])
    out["duration"] = int((b["_end"] - b["_start"]).total_seconds() // 60)
    return out


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--api-key", default="cal_test_local")
    ap.add_argument("--event-type-id", type=int, default=1)
    args = ap.parse_args(argv)
    server = CalComLocalServer(
        (args.host, args.port), api_key=args.api_key, event_type_id=args.event_type_id
    )
    print(f"Cal.com stand-in on {server.url} (event type {args.event_type_id})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
