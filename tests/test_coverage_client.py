"""The eligibility client and check_coverage against the sandbox over real HTTP; storage
encrypted at rest; no PHI in logs."""

import logging
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date

import httpx
import pytest

from bot import handoff
from bot.coverage import (
    ClearinghouseError,
    CoverageRequest,
    EligibilityClient,
    check_coverage,
    client_from_env,
    match_payer,
)
from bot.coverage.records import checks_for, record_check, request_followup
from bot.coverage.wording import render
from stand_ins.clearinghouse import PATH, start_sandbox

AETNA = match_payer("aetna")[0]
UHC = match_payer("uhc")[0]
ALEX = dict(first_name="Alex", last_name="Rivera", dob=date(1990, 1, 15))


@pytest.fixture(scope="module")
def sandbox():
    server, url = start_sandbox(port=0, slow_seconds=2.0, busy_seconds=0.3)
    yield server, url
    server.shutdown()
    server.server_close()


@pytest.fixture()
def client(sandbox):
    server, url = sandbox
    server.reset()
    c = EligibilityClient(
        url,
        api_key="test-key",
        provider_npi="1999999984",
        provider_name="Riverside Virtual IOP",
        timeout=1.0,
        retries=2,
        backoff=0.01,
        max_retry_after=2.0,
    )
    yield c
    c.close()


def req(member_id, payer=UHC, **kw):
    person = dict(ALEX)
    person.update(kw)
    return CoverageRequest(payer=payer, plan_type="ppo", member_id=member_id, **person)


def test_stedi_mock_member_active_ppo(client, sandbox):
    r = check_coverage(
        CoverageRequest(AETNA, "ppo", "AETNA12345", "Jane", "Doe", date(2004, 4, 4)), client
    )
    assert r.status == "active" and r.payer_name == "Aetna"
    assert r.in_network.deductible == 1500 and r.in_network.deductible_remaining == 600
    assert r.in_network.oop_max == 5000 and r.in_network.oop_remaining == 3100
    assert r.in_network.coinsurance.low == 20 and r.prior_auth_required
    assert render(r)[0] == (
        "Good news: your Aetna PPO plan is active. "
        "For outpatient mental health and substance use care in network: "
        "deductible $1,500 ($600 left to meet), then 20% coinsurance; "
        "out-of-pocket maximum $5,000 ($3,100 left)."
    )
    assert render(r)[-1].endswith("This is an estimate, not a guarantee of payment.")
    assert sandbox[0].service_types == [
        ("AETNA12345", "30")
    ]  # BH already in the STC 30 answer: one call


def test_deductible_met(client):
    r = check_coverage(
        CoverageRequest(UHC, "ppo", "SBX1002", "Sam", "Lee", date(1985, 11, 30)), client
    )
    assert r.status == "active" and r.in_network.deductible_remaining == 0
    assert "(already met)" in "\n\n".join(render(r)) and "$30 copay per visit" in "\n\n".join(
        render(r)
    )


def test_inactive(client):
    r = check_coverage(
        CoverageRequest(UHC, "ppo", "SBX1003", "Maria", "Garcia", date(1978, 7, 4)), client
    )
    assert r.status == "inactive"


def test_out_of_network_only(client):
    r = check_coverage(
        CoverageRequest(UHC, "epo", "SBX1004", "Chris", "Taylor", date(1995, 2, 20)), client
    )
    assert r.status == "active" and r.in_network is None and r.out_of_network.deductible == 4000
    assert r.reason == "out_of_network_only"


def test_carve_out(client):
    r = check_coverage(
        CoverageRequest(UHC, "ppo", "SBX1005", "Jordan", "Smith", date(1988, 9, 9)), client
    )
    assert r.carve_out == "Magellan Healthcare" and r.needs_followup


def test_asks_mh_and_ai_when_30_lacks_bh(client, sandbox):
    r = check_coverage(
        CoverageRequest(UHC, "ppo", "SBX1006", "Pat", "Kim", date(1992, 3, 3)), client
    )
    assert r.status == "active" and r.has_bh_benefits and r.in_network.copay.low == 25
    assert sorted(s for _, s in sandbox[0].service_types) == ["30", "AI", "MH"]
    assert sandbox[0].service_types[0] == ("SBX1006", "30")


@pytest.mark.parametrize(
    "member, kw, field, code",
    [
        ("SBXAAA71", {}, "dob", "71"),
        ("SBXAAA72", {}, "member_id", "72"),
        ("SBXAAA75", {}, "member_id", "75"),
        ("SBX1001", {"dob": date(1990, 1, 16)}, "dob", "71"),
        ("SBX1001", {"first_name": "Alexa"}, "name", "73"),
        ("NOSUCH123", {}, "member_id", "75"),
    ],
)
def test_aaa_errors(client, member, kw, field, code):
    r = check_coverage(req(member, **kw), client)
    assert (r.status, r.error_field, r.aaa_code) == ("error", field, code)


def test_aaa_42_retried_then_unavailable(client, sandbox):
    r = check_coverage(req("SBXAAA42"), client)
    assert r.status == "unavailable" and r.aaa_code == "42"
    assert sandbox[0].requests["SBXAAA42"] == 3  # 1 + 2 retries


def test_aaa_42_once_then_success(client, sandbox):
    r = check_coverage(req("SBXFLAKY42"), client)
    assert r.status == "active" and sandbox[0].requests["SBXFLAKY42"] == 2


def test_timeout(client, sandbox):
    started = time.monotonic()
    r = check_coverage(req("SBXSLOW"), client)
    assert r.status == "unavailable" and r.reason == "timeout"
    assert time.monotonic() - started < 1.9
    assert sandbox[0].requests["SBXSLOW"] == 1  # a slow payer is not hammered


def test_429_retried_with_retry_after(client, sandbox):
    started = time.monotonic()
    r = check_coverage(req("SBX429"), client)
    assert r.status == "unavailable" and r.reason == "rate_limited"
    assert sandbox[0].requests["SBX429"] == 3
    assert time.monotonic() - started >= 2.0  # Retry-After: 1, honoured twice


def test_429_once_then_success(client, sandbox):
    assert check_coverage(req("SBX429ONCE"), client).status == "active"
    assert sandbox[0].requests["SBX429ONCE"] == 2


def test_large_retry_after_not_waited(sandbox):
    server, url = sandbox
    server.reset()
    with (
        EligibilityClient(url, api_key="k", timeout=1.0, backoff=0.01, max_retry_after=0.5) as c,
        pytest.raises(ClearinghouseError) as exc,
    ):
        c.check({"tradingPartnerServiceId": "87726", "subscriber": {"memberId": "SBX429"}})
    assert exc.value.reason == "rate_limited" and server.requests["SBX429"] == 1


def test_500_retried(client, sandbox):
    r = check_coverage(req("SBX500"), client)
    assert r.status == "unavailable" and r.reason == "server_error"
    assert sandbox[0].requests["SBX500"] == 3
    assert check_coverage(req("SBX500ONCE"), client).status == "active"
    assert sandbox[0].requests["SBX500ONCE"] == 2


def test_retries_configurable(sandbox):
    server, url = sandbox
    server.reset()
    with EligibilityClient(url, api_key="k", retries=0, backoff=0.01) as c:
        assert check_coverage(req("SBX500"), c).status == "unavailable"
    assert server.requests["SBX500"] == 1


def test_malformed_json(client):
    with pytest.raises(ClearinghouseError, match="malformed JSON") as exc:
        client.check({"subscriber": {"memberId": "SBXBADJSON"}})
    assert exc.value.reason == "malformed_response"
    r = check_coverage(req("SBXBADJSON"), client)
    assert r.status == "unavailable" and r.reason == "malformed_response"


def test_authorization_header_required(sandbox):
    server, url = sandbox
    with EligibilityClient(url, api_key="") as c, pytest.raises(ClearinghouseError) as exc:
        c.check({"subscriber": {"memberId": "SBX1001"}})
    assert exc.value.reason == "rejected" and exc.value.status_code == 401
    r = httpx.post(url + PATH, json={"subscriber": {}}, headers={"Authorization": "x"})
    assert r.status_code == 200  # any key is accepted by the sandbox


def test_request_shape(client, sandbox):
    from bot.coverage import build_payload

    r = CoverageRequest(
        AETNA,
        "ppo",
        "AETNA12345",
        "Jane",
        "Doe",
        date(2004, 4, 4),
        relation="child",
        patient_first_name="Jordan",
        patient_last_name="Doe",
        patient_dob=date(2012, 7, 14),
    )
    p = build_payload(r, client, "MH")
    assert p["tradingPartnerServiceId"] == "60054" and p["encounter"] == {
        "serviceTypeCodes": ["MH"]
    }
    assert p["provider"] == {"organizationName": "Riverside Virtual IOP", "npi": "1999999984"}
    assert p["subscriber"] == {
        "memberId": "AETNA12345",
        "firstName": "Jane",
        "lastName": "Doe",
        "dateOfBirth": "20040404",
    }
    assert p["dependents"] == [
        {"firstName": "Jordan", "lastName": "Doe", "dateOfBirth": "20120714"}
    ]
    assert len(p["controlNumber"]) == 9 and p["controlNumber"].isdigit()
    assert "AETNA12345" not in repr(r) and "2004" not in str(r)


def test_concurrency_cap(sandbox):
    server, url = sandbox
    server.reset()
    results = []
    with EligibilityClient(url, api_key="k", timeout=5.0, max_concurrency=3) as c:

        def one():
            results.append(check_coverage(req("SBXBUSY"), c).status)

        threads = [threading.Thread(target=one) for _ in range(9)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == ["active"] * 9
    assert server.requests["SBXBUSY"] == 9
    assert server.max_in_flight == 3


def test_client_from_env(monkeypatch):
    for k, v in {
        "CLEARINGHOUSE_URL": "http://example.invalid:1/",
        "CLEARINGHOUSE_API_KEY": "secret",
        "PROVIDER_NPI": "1999999984",
        "PROVIDER_NAME": "Riverside",
        "CLEARINGHOUSE_TIMEOUT": "7.5",
        "CLEARINGHOUSE_MAX_CONCURRENCY": "4",
        "CLEARINGHOUSE_RETRIES": "1",
    }.items():
        monkeypatch.setenv(k, v)
    c = client_from_env()
    assert (c.url, c.timeout, c.max_concurrency, c.retries) == (
        "http://example.invalid:1/change/medicalnetwork/eligibility/v3",
        7.5,
        4,
        1,
    )
    assert c.provider == {"organizationName": "Riverside", "npi": "1999999984"}
    monkeypatch.delenv("CLEARINGHOUSE_URL")
    monkeypatch.setenv("CLEARINGHOUSE_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="CLEARINGHOUSE_TIMEOUT"):
        client_from_env()
    monkeypatch.delenv("CLEARINGHOUSE_TIMEOUT")
    assert client_from_env().base_url == "http://127.0.0.1:8089"


def test_no_phi_in_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    for member, kw in (
        ("SBX1001", {}),
        ("SBX1001", {"dob": date(1990, 1, 16)}),
        ("SBXAAA42", {}),
        ("SBX500", {}),
        ("SBXSLOW", {}),
        ("SBXBADJSON", {}),
        ("SBX1006", {}),
    ):
        check_coverage(req(member, **kw), client)
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "eligibility payer=87726" in text  # something was logged
    for secret in (
        "SBX1001",
        "SBX1006",
        "SBXAAA42",
        "Rivera",
        "Alex",
        "19900115",
        "1990-01-15",
        "19900116",
    ):
        assert secret not in text


def test_storage_encrypted_at_rest(client, db_url, tmp_path):
    r = CoverageRequest(AETNA, "ppo", "AETNA12345", "Jane", "Doe", date(2004, 4, 4))
    result = check_coverage(r, client)
    row_id = record_check("conv-1", r, result, db_url=db_url)
    rows = checks_for("conv-1", db_url=db_url)
    assert [x.id for x in rows] == [row_id]
    row = rows[0]
    assert row.status == "active" and row.payer_id == "60054" and row.plan_type == "ppo"
    assert (
        row.request["member_id"] == "AETNA12345"
        and row.result["in_network"]["deductible"] == "1500"
    )
    raw = b""
    for f in tmp_path.glob("app.db*"):
        raw += f.read_bytes()
    con = sqlite3.connect(str(tmp_path / "app.db"))
    dump = "\n".join(con.iterdump())
    con.close()
    for secret in ("AETNA12345", "Jane", "20040404", "2004-04-04", "1500"):
        assert secret.encode() not in raw and secret not in dump


def test_request_followup(db_url):
    esc_id = request_followup("conv-2", "payer_unavailable", db_url=db_url)
    [esc] = handoff.for_conversation("conv-2", db_url=db_url)
    assert (
        esc.id == esc_id and esc.kind == "coverage_followup" and esc.reason == "payer_unavailable"
    )
    assert esc.priority == handoff.PRIORITY_REQUEST


def test_sandbox_runs_as_a_process(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "stand_ins.clearinghouse", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(url + "/health", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        with EligibilityClient(url, api_key="k") as c:
            r = check_coverage(
                CoverageRequest(AETNA, "ppo", "AETNA12345", "Jane", "Doe", date(2004, 4, 4)), c
            )
        assert r.status == "active"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
