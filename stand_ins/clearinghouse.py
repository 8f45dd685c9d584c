"""A local stand-in for Stedi's Real-Time Eligibility Check JSON endpoint, for development
and tests: `python -m stand_ins.clearinghouse --port 8089`.

POST /change/medicalnetwork/eligibility/v3 with any non-empty `Authorization` header; the
test members (CLEARINGHOUSE.md) answer with responses shaped like Stedi's published examples.
Everything else: 401 without Authorization, 404 for other paths, 400 for a bad body. No PHI
is logged: the access log prints the path, status and member scenario only.

Dependents work as in Stedi's format: the policyholder in `subscriber`, the patient in
`dependents` (one). A dependent on file gets their own benefits in `benefitsInformation` and
is named in the response's `dependents[]` with `relationToSubscriber` /
`relationToSubscriberCode` (Spouse 01, Child 19, Life Partner 53); one who is not gets a
dependent-level AAA error (Loop 2100D) in `dependents[].aaaErrors` and the top-level
`errors`: 65 name, 58 / 71 date of birth, 67 patient not found.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections import Counter
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

PATH = "/change/medicalnetwork/eligibility/v3"
BH = ["MH", "A4", "A6", "A8", "AI"]  # what the sandbox answers for behavioural health
BH_NAMES = {
    "MH": "Mental Health",
    "A4": "Psychiatric",
    "A6": "Psychotherapy",
    "A8": "Psychiatric - Outpatient",
    "AI": "Substance Abuse",
    "30": "Health Benefit Plan Coverage",
}

# member ID -> scenario. first/last/dob must match (AAA 73 / 71 otherwise), like Stedi's mocks.
# Alex Rivera's active PPO: the member behind every transport scenario that ends in success.
ALEX_PPO: Dict[str, Any] = dict(
    first="Alex",
    last="Rivera",
    dob="19900115",
    scenario="active",
    plan="Open Access Plus PPO",
    ded=1500,
    ded_left=600,
    oop=5000,
    oop_left=3100,
    coins="0.2",
    auth="Y",
)
MEMBERS: Dict[str, Dict[str, Any]] = {
    "AETNA12345": dict(
        first="Jane",
        last="Doe",
        dob="20040404",
        payer="60054",
        scenario="active",
        plan="Aetna Choice POS II",
        ded=1500,
        ded_left=600,
        oop=5000,
        oop_left=3100,
        coins="0.2",
        auth="Y",
    ),
    "SBX1001": ALEX_PPO,
    "SBX1002": dict(
        first="Sam",
        last="Lee",
        dob="19851130",
        scenario="active",
        plan="Choice Plus PPO",
        ded=2000,
        ded_left=0,
        oop=6000,
        oop_left=3500,
        coins="0.1",
        copay=30,
        auth="N",
    ),
    "SBX1003": dict(
        first="Maria", last="Garcia", dob="19780704", scenario="inactive", plan="Choice Plus PPO"
    ),
    "SBX1004": dict(
        first="Chris",
        last="Taylor",
        dob="19950220",
        scenario="out_of_network",
        plan="Select EPO",
        ded=4000,
        ded_left=4000,
        oop=12000,
        oop_left=12000,
        coins="0.4",
        auth="Y",
    ),
    "SBX1005": dict(
        first="Jordan",
        last="Smith",
        dob="19880909",
        scenario="carve_out",
        plan="Blue Choice PPO",
        carve_out="MAGELLAN HEALTHCARE",
    ),
    "SBX1006": dict(
        first="Pat",
        last="Kim",
        dob="19920303",
        scenario="mh_on_request",
        plan="Open Access Plus PPO",
        ded=1000,
        ded_left=250,
        oop=4000,
        oop_left=2500,
        coins="0.2",
        copay=25,
        auth="N",
    ),
    # A family (issue 15, couples): Morgan Blake's PPO covers a spouse and a child, each with
    # their own individual deductible and out-of-pocket figures (the family's add up).
    "SBX2001": dict(
        first="Morgan",
        last="Blake",
        dob="19860512",
        scenario="active",
        plan="Choice Plus PPO",
        ded=1500,
        ded_left=900,
        oop=5000,
        oop_left=4200,
        coins="0.2",
        copay=25,
        auth="N",
        family=dict(ded=3000, ded_left=1100, oop=10000, oop_left=7900),
        dependents=[
            dict(
                first="Riley",
                last="Blake",
                dob="19880923",
                gender="M",
                relation="01",
                ded_left=1500,
                oop_left=5000,
            ),
            dict(
                first="Avery",
                last="Blake",
                dob="20150308",
                gender="F",
                relation="19",
                ded_left=200,
                oop_left=3700,
            ),
        ],
    ),
    # A domestic partner on the policyholder's plan (another last name): Life Partner, 53.
    "SBX2002": dict(
        first="Dana",
        last="Okafor",
        dob="19830214",
        scenario="active",
        plan="Open Access Plus PPO",
        ded=1000,
        ded_left=1000,
        oop=4000,
        oop_left=4000,
        coins="0.1",
        copay=20,
        auth="Y",
        family=dict(ded=2000, ded_left=1650, oop=8000, oop_left=7650),
        dependents=[
            dict(
                first="Casey",
                last="Lin",
                dob="19841102",
                gender="F",
                relation="53",
                ded_left=650,
                oop_left=3650,
            ),
        ],
    ),
    "SBXAAA71": dict(scenario="aaa", aaa="71"),
    "SBXAAA72": dict(scenario="aaa", aaa="72"),
    "SBXAAA75": dict(scenario="aaa", aaa="75"),
    "SBXAAA76": dict(scenario="aaa", aaa="76"),
    "SBXAAA42": dict(scenario="aaa", aaa="42"),
    "SBXFLAKY42": {**ALEX_PPO, "scenario": "flaky42"},
    "SBXSLOW": dict(scenario="slow"),
    "SBXBUSY": {**ALEX_PPO, "scenario": "busy"},
    "SBX429": dict(scenario="http429"),
    "SBX429ONCE": {**ALEX_PPO, "scenario": "http429once"},
    "SBX500": dict(scenario="http500"),
    "SBX500ONCE": {**ALEX_PPO, "scenario": "http500once"},
    "SBXBADJSON": dict(scenario="malformed"),
}

# X12 relationship codes a 271 names a dependent with (`relationToSubscriberCode`).
RELATIONS = {"01": "Spouse", "19": "Child", "53": "Life Partner"}

AAA_TEXT = {
    "42": ("Unable to Respond at Current Time", "Resubmission Allowed", "Loop 2100A"),
    "58": ("Invalid/Missing Date-of-Birth", "Please Correct and Resubmit", "Loop 2100D"),
    "65": ("Invalid/Missing Patient Name", "Please Correct and Resubmit", "Loop 2100D"),
    "67": ("Patient Not Found", "Please Correct and Resubmit", "Loop 2100D"),
    "71": (
        "Patient Birth Date Does Not Match That for the Patient on the Database",
        "Please Correct and Resubmit",
        "Loop 2100C",
    ),
    "72": ("Invalid/Missing Subscriber/Insured ID", "Please Correct and Resubmit", "Loop 2100C"),
    "73": ("Invalid/Missing Subscriber/Insured Name", "Please Correct and Resubmit", "Loop 2100C"),
    "75": ("Subscriber/Insured Not Found", "Please Correct and Resubmit", "Loop 2100C"),
    "76": ("Duplicate Subscriber/Insured ID Number", "Please Correct and Resubmit", "Loop 2100C"),
}


def _entry(
    code: str,
    name: str,
    stcs: List[str],
    network: Optional[str] = None,
    level: Optional[str] = "IND",
    time_q: Optional[str] = None,
    amount: Union[int, str, None] = None,
    percent: Union[str, None] = None,
    auth: Optional[str] = None,
    **extra: Any,
) -> Dict[str, Any]:
    e: Dict[str, Any] = {"code": code, "name": name}
    if level:
        e.update(
            coverageLevelCode=level, coverageLevel={"IND": "Individual", "FAM": "Family"}[level]
        )
    e.update(serviceTypeCodes=list(stcs), serviceTypes=[BH_NAMES.get(s, s) for s in stcs])
    if time_q:
        e.update(
            timeQualifierCode=time_q,
            timeQualifier={"23": "Calendar Year", "29": "Remaining", "27": "Visit"}[time_q],
        )
    if amount is not None:
        e["benefitAmount"] = str(amount)
    if percent is not None:
        e["benefitPercent"] = str(percent)
    if auth:
        e["authOrCertIndicator"] = auth
    if network:
        e.update(
            inPlanNetworkIndicatorCode=network,
            inPlanNetworkIndicator={"Y": "Yes", "N": "No", "W": "Not Applicable"}[network],
        )
    e.update(extra)
    return e


def _bh_entries(m: Dict[str, Any], network: str, stcs: List[str]) -> List[Dict[str, Any]]:
    out = [
        _entry("C", "Deductible", stcs, network, time_q="23", amount=m["ded"], auth=m.get("auth")),
        _entry(
            "C", "Deductible", stcs, network, time_q="29", amount=m["ded_left"], auth=m.get("auth")
        ),
        _entry("G", "Out of Pocket (Stop Loss)", stcs, network, time_q="23", amount=m["oop"]),
        _entry("G", "Out of Pocket (Stop Loss)", stcs, network, time_q="29", amount=m["oop_left"]),
        _entry("A", "Co-Insurance", stcs, network, percent=m["coins"], auth=m.get("auth")),
    ]
    if m.get("copay") is not None:
        out.append(
            _entry(
                "B", "Co-Payment", stcs, network, time_q="27", amount=m["copay"], auth=m.get("auth")
            )
        )
    fam = m.get("family")
    if fam and network == "Y":  # the family's totals too, as payers send them (FAM level)
        out += [
            _entry("C", "Deductible", stcs, network, "FAM", time_q="23", amount=fam["ded"]),
            _entry("C", "Deductible", stcs, network, "FAM", time_q="29", amount=fam["ded_left"]),
            _entry("G", "Out of Pocket (Stop Loss)", stcs, network, "FAM", "23", fam["oop"]),
            _entry("G", "Out of Pocket (Stop Loss)", stcs, network, "FAM", "29", fam["oop_left"]),
        ]
    return out


def benefits(m: Dict[str, Any], stc: str) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(planStatus, benefitsInformation) for a member scenario and the requested STC."""
    sc = m["scenario"]
    plan = m.get("plan")
    if sc == "inactive":
        return (
            [
                {
                    "statusCode": "6",
                    "status": "Inactive",
                    "planDetails": plan,
                    "serviceTypeCodes": ["30"],
                }
            ],
            [_entry("6", "Inactive", ["30"], level=None, planCoverage=plan)],
        )
    status = [
        {
            "statusCode": "1",
            "status": "Active Coverage",
            "planDetails": plan,
            "serviceTypeCodes": [stc],
        }
    ]
    info = [_entry("1", "Active Coverage", [stc], level=None, planCoverage=plan)]
    if sc == "carve_out":
        info.append(
            _entry(
                "U",
                "Contact Following Entity for Eligibility or Benefit Information",
                ["MH"],
                level=None,
                benefitsRelatedEntities=[
                    {
                        "entityIdentifier": "Third-Party Administrator",
                        "entityType": "Non-Person Entity",
                        "entityName": m["carve_out"],
                        "contactInformation": {
                            "contacts": [
                                {
                                    "communicationMode": "Telephone",
                                    "communicationNumber": "8005550100",
                                }
                            ]
                        },
                    }
                ],
                additionalInformation=[
                    {"description": "BEHAVIORAL HEALTH BENEFITS ADMINISTERED BY MAGELLAN"}
                ],
            )
        )
        return status, info
    plan_level = [
        _entry("C", "Deductible", ["30"], "Y", time_q="23", amount=m["ded"]),
        _entry("C", "Deductible", ["30"], "Y", time_q="29", amount=m["ded_left"]),
        _entry("G", "Out of Pocket (Stop Loss)", ["30"], "Y", time_q="23", amount=m["oop"]),
        _entry("G", "Out of Pocket (Stop Loss)", ["30"], "Y", time_q="29", amount=m["oop_left"]),
    ]
    if sc == "out_of_network":
        info += _bh_entries(m, "N", BH if stc == "30" else [stc])
        return status, info
    if sc == "mh_on_request" and stc == "30":
        return status, info + plan_level  # STC 30 answer without behavioural-health detail
    stcs = BH if stc == "30" else [stc]
    info += _bh_entries(m, "Y", stcs)
    if stc == "30":
        oon = dict(
            m,
            ded=m["ded"] * 2,
            ded_left=m["ded"] * 2,
            oop=m["oop"] * 2,
            oop_left=m["oop"] * 2,
            coins="0.4",
            copay=None,
        )
        info += _bh_entries(oon, "N", stcs)
        info += plan_level
    return status, info


# What a dependent on file may have of their own; the rest is the plan's (the subscriber's).
DEPENDENT_BENEFITS = ("ded", "ded_left", "oop", "oop_left", "coins", "copay")


def match_dependent(
    m: Dict[str, Any], dep: Dict[str, Any]
) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """(the dependent on file, None), or (None, the AAA code a payer answers with): 65 no
    name or a birth date on file under another name, 58 no birth date, 71 the name on file
    with another birth date, 67 nobody like that on the plan."""
    first = str(dep.get("firstName") or "").strip().lower()
    last = str(dep.get("lastName") or "").strip().lower()
    dob = str(dep.get("dateOfBirth") or "").strip()
    if not first or not last:
        return None, "65"
    if not dob:
        return None, "58"
    on_file = m.get("dependents") or []
    named = [d for d in on_file if (d["first"].lower(), d["last"].lower()) == (first, last)]
    if named:
        same = [d for d in named if d["dob"] == dob]
        return (same[0], None) if same else (None, "71")
    if any(d["dob"] == dob for d in on_file):
        return None, "65"
    return None, "67"


def _dependent_view(m: Dict[str, Any], dep: Dict[str, Any]) -> Dict[str, Any]:
    """The member scenario as it applies to one dependent: the plan, their own figures."""
    person = {k: v for k, v in m.items() if k != "dependents"}
    person.update({k: dep[k] for k in DEPENDENT_BENEFITS if k in dep})
    return person


def response_for(
    payload: Dict[str, Any],
    m: Dict[str, Any],
    member_id: str,
    code: Optional[str] = None,
    dependent: Optional[Dict[str, Any]] = None,
    level: str = "subscriber",
) -> Dict[str, Any]:
    """The 271 JSON: a rejection with AAA `code` (at the subscriber's or, `level`
    "dependent", the dependent's level), or the benefits of the subscriber or, given
    `dependent` (the one on file the request named), that dependent's."""
    sub = payload.get("subscriber") or {}
    stc = ((payload.get("encounter") or {}).get("serviceTypeCodes") or ["30"])[0]
    resp: Dict[str, Any] = {
        "meta": {
            "senderId": "SANDBOX",
            "submitterId": "SANDBOX",
            "applicationMode": "test",
            "traceId": "sandbox",
        },
        "controlNumber": payload.get("controlNumber", "000000001"),
        "reassociationKey": payload.get("controlNumber", "000000001"),
        "tradingPartnerServiceId": payload.get("tradingPartnerServiceId"),
        "provider": {
            "providerName": (payload.get("provider") or {}).get("organizationName", "").upper(),
            "entityIdentifier": "Provider",
            "entityType": "Non-Person Entity",
            "npi": (payload.get("provider") or {}).get("npi"),
        },
        "subscriber": {
            "memberId": member_id,
            "firstName": str(sub.get("firstName", "")).upper(),
            "lastName": str(sub.get("lastName", "")).upper(),
            "entityIdentifier": "Insured or Subscriber",
            "entityType": "Person",
            "dateOfBirth": sub.get("dateOfBirth"),
        },
        "payer": {
            "entityIdentifier": "Payer",
            "entityType": "Non-Person Entity",
            "name": "SANDBOX PAYER",
        },
    }
    asked = (payload.get("dependents") or [{}])[0]
    if code:
        desc, action, loc = AAA_TEXT[code]
        err = {
            "field": "AAA",
            "code": code,
            "description": desc,
            "followupAction": action,
            "location": "Loop 2100D" if level == "dependent" else loc,
        }
        resp["errors"] = [err]  # every AAA error is also at the top level, as Stedi does
        if level == "dependent":
            named = {
                "firstName": str(asked.get("firstName", "")).upper(),
                "lastName": str(asked.get("lastName", "")).upper(),
                "dateOfBirth": asked.get("dateOfBirth"),
                "entityIdentifier": "Dependent",
                "entityType": "Person",
                "aaaErrors": [err],
            }
            resp["dependents"] = [{k: v for k, v in named.items() if v not in (None, "")}]
        else:
            resp["subscriber"]["aaaErrors"] = [err]
        return resp
    if dependent is not None:
        m = _dependent_view(m, dependent)
        resp["dependents"] = [
            {
                "firstName": dependent["first"].upper(),
                "lastName": dependent["last"].upper(),
                "dateOfBirth": dependent["dob"],
                "entityIdentifier": "Dependent",
                "entityType": "Person",
                "insuredIndicator": "N",
                "relationToSubscriber": RELATIONS[dependent["relation"]],
                "relationToSubscriberCode": dependent["relation"],
            }
        ]
        if dependent.get("gender"):
            resp["dependents"][0]["gender"] = dependent["gender"]
    status, info = benefits(m, stc)
    resp.update(
        planInformation={"groupNumber": "SBX0001", "groupDescription": m.get("plan")},
        planDateInformation={
            "planBegin": f"{date.today().year}0101",
            "eligibilityBegin": "20200101",
        },
        planStatus=status,
        benefitsInformation=info,
    )
    return resp


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: Tuple[str, int],
        slow_seconds: float = 15.0,
        busy_seconds: float = 0.3,
        quiet: bool = True,
    ) -> None:
        super().__init__(address, Handler)
        self.slow_seconds = slow_seconds
        self.busy_seconds = busy_seconds
        self.quiet = quiet
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # member ID -> requests received
        self.service_types: List[Tuple[str, str]] = []  # (member ID, STC) in order
        self.in_flight = 0
        self.max_in_flight = 0

    def handle_error(
        self, request: Union[socket.socket, Tuple[bytes, socket.socket]], client_address: Any
    ) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up (timeout test): nothing to report
        super().handle_error(request, client_address)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.service_types.clear()
            self.in_flight = self.max_in_flight = 0


class Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:
        # The default logs nothing sensitive, but stay quiet in tests.
        if not self.server.quiet:
            super().log_message(fmt, *args)

    def _send(
        self,
        code: int,
        body: Any,
        headers: Optional[Dict[str, str]] = None,
        raw: Optional[bytes] = None,
    ) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path in ("/", "/health"):
            return self._send(200, {"status": "ok", "endpoint": PATH})
        self._send(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") != PATH:
            return self._send(404, {"message": "Not Found"})
        if not (self.headers.get("Authorization") or "").strip():
            return self._send(401, {"message": "Unauthorized: missing Authorization header"})
        try:
            payload = json.loads(body or b"{}")
            sub = payload["subscriber"]
            member_id = str(sub.get("memberId") or "").upper()
            stc = ((payload.get("encounter") or {}).get("serviceTypeCodes") or ["30"])[0]
            deps = payload.get("dependents")
            if deps is not None and not (
                isinstance(deps, list) and len(deps) == 1 and isinstance(deps[0], dict)
            ):
                raise ValueError("dependents: one object")  # Stedi: exactly one per check
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._send(
                400, {"message": "Invalid request body", "code": "ValidationException"}
            )
        srv = self.server
        with srv.lock:
            srv.requests[member_id] += 1
            count = srv.requests[member_id]
            srv.service_types.append((member_id, stc))
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            self._answer(payload, sub, member_id, count)
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def _answer(
        self, payload: Dict[str, Any], sub: Dict[str, Any], member_id: str, count: int
    ) -> None:
        m = MEMBERS.get(member_id)
        if m is None:
            return self._send(200, response_for(payload, {}, member_id, "75"))
        sc = m["scenario"]
        if sc == "aaa":
            return self._send(200, response_for(payload, m, member_id, m["aaa"]))
        if sc == "slow":
            time.sleep(self.server.slow_seconds)
            return self._send(200, response_for(payload, m, member_id, "42"))
        if sc == "http429" or (sc == "http429once" and count == 1):
            return self._send(
                429,
                {"message": "Too Many Requests"},
                {"Retry-After": "1" if sc == "http429" else "0"},
            )
        if sc == "http500" or (sc == "http500once" and count == 1):
            return self._send(
                500, {"message": "Internal Failure", "code": "InternalFailureException"}
            )
        if sc == "malformed":
            return self._send(200, None, raw=b'{"benefitsInformation": [ {"code": "1", ')
        if sc == "flaky42" and count == 1:
            return self._send(200, response_for(payload, m, member_id, "42"))
        if sc == "busy":
            time.sleep(self.server.busy_seconds)
        dependents = payload.get("dependents") or []
        # With a dependent, the policyholder's date of birth may be left out (Stedi's example).
        if str(sub.get("dateOfBirth")) != m["dob"] and not (
            dependents and not sub.get("dateOfBirth")
        ):
            return self._send(200, response_for(payload, m, member_id, "71"))
        if (
            str(sub.get("firstName", "")).strip().lower(),
            str(sub.get("lastName", "")).strip().lower(),
        ) != (m["first"].lower(), m["last"].lower()):
            return self._send(200, response_for(payload, m, member_id, "73"))
        if m.get("payer") and payload.get("tradingPartnerServiceId") != m["payer"]:
            return self._send(200, response_for(payload, m, member_id, "75"))
        if dependents:
            found, code = match_dependent(m, dependents[0])
            if code:
                return self._send(200, response_for(payload, m, member_id, code, level="dependent"))
            return self._send(200, response_for(payload, m, member_id, dependent=found))
        return self._send(200, response_for(payload, m, member_id))


def start_sandbox(
    port: int = 0, host: str = "127.0.0.1", **options: Any
) -> Tuple[SandboxServer, str]:
    """Start the sandbox in a daemon thread (port 0: a free port). Returns (server, base URL);
    stop it with server.shutdown(); server.server_close()."""
    server = SandboxServer((host, port), **options)
    threading.Thread(target=server.serve_forever, name="coverage-sandbox", daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description="Local eligibility clearinghouse sandbox (Stedi-shaped JSON)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument(
        "--slow-seconds", type=float, default=15.0, help="delay of the SBXSLOW member"
    )
    args = parser.parse_args(argv)
    server = SandboxServer((args.host, args.port), slow_seconds=args.slow_seconds, quiet=False)
    print(f"Eligibility sandbox on http://{args.host}:{server.server_address[1]}{PATH}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
