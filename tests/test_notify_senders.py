"""The email and SMS senders against real local servers over sockets: the SMTP stand-in
(aiosmtpd, with STARTTLS and login too) and the Twilio stand-in (HTTP). Accepted: sent;
permanent refusals failed at once; temporary ones, outages and timeouts retried; the
reasons never hold the address, the number or the text."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import icalendar
import pytest
from sqlalchemy import select

from bot.notify import email as email_sender
from bot.notify import enqueue, worker
from bot.notify import sms as sms_sender
from bot.notify.email import send_email
from bot.notify.models import OutboxMessage
from bot.notify.sms import send_sms
from bot.store import session
from stand_ins.smtp import Mailbox
from stand_ins.twilio import Twilio

ROOT = Path(__file__).resolve().parent.parent
TO = "jamie.rivera@example.com"
ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Intake//EN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        "UID:IOP-7KQ2M@intake.example.org",
        "DTSTAMP:20250102T150000Z",
        "DTSTART:20250106T150000Z",
        "DTEND:20250106T160000Z",
        "SUMMARY:Intake assessment",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)
MAIL = {
    "to": TO,
    "subject": "Your intake assessment, Monday 10:00",
    "text": "Hi Jamie, your assessment is on Monday at 10:00.",
    "html": "<p>Hi Jamie, your assessment is on <b>Monday at 10:00</b>.</p>",
    "ics": ICS,
    "ics_name": "intake-assessment.ics",
    "sender_name": "Riverside IOP",
}
NUMBER = "+15550100142"
TEXT = {"to": NUMBER, "text": "Riverside IOP: your intake assessment is Monday at 10:00."}


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def mailbox(monkeypatch):
    box = Mailbox().start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(box.port))
    monkeypatch.setenv("SMTP_STARTTLS", "false")  # the stand-in is plain SMTP by default
    monkeypatch.setenv("SMTP_USER", "")
    monkeypatch.setenv("MAIL_FROM", "intake@riverside.example.org")
    yield box
    box.stop()


@pytest.fixture()
def client():
    with httpx.Client() as c:
        yield c


def test_an_email_arrives_with_text_html_and_the_invitation(mailbox, client):
    assert send_email(MAIL, client) == worker.Outcome(sent=True)
    [msg] = mailbox.messages
    assert msg["Subject"] == MAIL["subject"]
    assert msg["From"].addresses[0].display_name == "Riverside IOP"
    assert msg["From"].addresses[0].addr_spec == "intake@riverside.example.org"
    assert msg["To"] == TO and msg["X-RcptTo"] == TO
    assert msg["Message-ID"].endswith("@riverside.example.org>")
    assert msg.get_body(("plain",)).get_content().strip() == MAIL["text"]
    assert msg.get_body(("html",)).get_content().strip() == MAIL["html"]
    [invite] = msg.iter_attachments()
    assert invite.get_content_type() == "text/calendar"
    assert invite.get_param("method") == "REQUEST"
    assert invite.get_filename() == "intake-assessment.ics"
    cal = icalendar.Calendar.from_ical(invite.get_content())
    [event] = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Intake assessment"
    assert event.decoded("DTSTART").isoformat() == "2025-01-06T15:00:00+00:00"


def test_an_email_without_an_invitation_is_text_and_html_only(mailbox, client):
    plain = {k: v for k, v in MAIL.items() if k not in ("ics", "ics_name", "sender_name")}
    assert send_email(plain, client).sent
    [msg] = mailbox.messages
    assert msg.get_content_type() == "multipart/alternative"
    assert list(msg.iter_attachments()) == []
    assert msg["From"] == "intake@riverside.example.org"


@pytest.mark.parametrize(
    "code, at, retry",
    [
        (451, "DATA", True),  # temporary: try again later
        (550, "DATA", False),  # permanent: retrying cannot fix it
        (421, "DATA", True),
        (550, "RCPT", False),  # mailbox unknown
        (450, "RCPT", True),  # greylisting
    ],
)
def test_smtp_refusals_retry_or_fail_by_code(mailbox, client, code, at, retry):
    mailbox.refuse(code, at=at)
    outcome = send_email(MAIL, client)
    assert outcome == worker.Outcome(sent=False, retry=retry, reason=f"SMTP {code}")
    assert mailbox.messages == []
    assert send_email(MAIL, client).sent  # only the next message was refused


def test_no_smtp_server_and_a_silent_one_are_retried(mailbox, client, monkeypatch):
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    assert send_email(MAIL, client) == worker.Outcome(
        sent=False, retry=True, reason="ConnectionRefusedError"
    )
    monkeypatch.setattr(email_sender, "TIMEOUT", 0.5)
    with socket.socket() as silent:  # connections are taken (backlog), no greeting ever
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv("SMTP_PORT", str(silent.getsockname()[1]))
        outcome = send_email(MAIL, client)
    assert outcome == worker.Outcome(sent=False, retry=True, reason="TimeoutError")


def test_starttls_and_login_as_in_production(client, monkeypatch):
    box = Mailbox(tls=True, user="mailer", password="s3cret").start()
    try:
        assert box.cert_path is not None
        monkeypatch.setenv("SSL_CERT_FILE", str(box.cert_path))  # trust the self-signed cert
        for name, value in {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(box.port),
            "SMTP_STARTTLS": "true",
            "SMTP_USER": "mailer",
            "SMTP_PASSWORD": "s3cret",
        }.items():
            monkeypatch.setenv(name, value)
        assert send_email(MAIL, client).sent
        assert [m["Subject"] for m in box.messages] == [MAIL["subject"]]

        monkeypatch.setenv("SMTP_PASSWORD", "wrong")
        assert send_email(MAIL, client) == worker.Outcome(sent=False, reason="SMTP 535")

        monkeypatch.delenv("SSL_CERT_FILE")  # an untrusted certificate: nothing is sent
        outcome = send_email(MAIL, client)
        assert outcome == worker.Outcome(sent=False, retry=True, reason="SSLCertVerificationError")
        assert len(box.messages) == 1
    finally:
        box.stop()


def test_starttls_required_but_not_offered_fails(mailbox, client, monkeypatch):
    monkeypatch.setenv("SMTP_STARTTLS", "true")
    assert send_email(MAIL, client) == worker.Outcome(sent=False, reason="SMTPNotSupportedError")
    assert mailbox.messages == []


def test_email_not_configured_or_malformed_fails(mailbox, client, monkeypatch):
    bad = dict(MAIL, subject="Hello\nBcc: everyone@example.com")  # header injection
    assert send_email(bad, client) == worker.Outcome(sent=False, reason="bad message (ValueError)")
    monkeypatch.setenv("SMTP_HOST", "")
    assert send_email(MAIL, client) == worker.Outcome(sent=False, reason="SMTP_HOST is not set")
    assert mailbox.messages == []


@pytest.fixture()
def twilio(monkeypatch):
    api = Twilio(sid="AC" + "1" * 32, token="test-token").start()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", api.sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", api.token)
    monkeypatch.setenv("TWILIO_FROM", "+15550100100")
    monkeypatch.setenv("TWILIO_API_URL", api.url)
    yield api
    api.stop()


def test_a_text_arrives_with_to_from_and_body(twilio, client):
    assert send_sms(TEXT, client) == worker.Outcome(sent=True)
    [sent] = twilio.messages
    assert (sent["to"], sent["from"], sent["body"]) == (NUMBER, "+15550100100", TEXT["text"])
    assert sent["sid"].startswith("SM") and len(sent["sid"]) == 34
    assert sent["status"] == "queued" and sent["account_sid"] == twilio.sid


@pytest.mark.parametrize(
    "to, reason",
    [
        ("+15550100199", "HTTP 400 21614"),  # a landline
        ("+15550100198", "HTTP 400 21610"),  # replied STOP
        ("555-0142", "HTTP 400 21211"),  # not E.164
        ("", "HTTP 400 21604"),  # no number
    ],
)
def test_numbers_twilio_refuses_fail_with_its_code(twilio, client, to, reason):
    outcome = send_sms(dict(TEXT, to=to), client)
    assert outcome == worker.Outcome(sent=False, retry=False, reason=reason)
    assert twilio.messages == []


@pytest.mark.parametrize("answer, reason", [(429, "HTTP 429"), (500, "HTTP 500")])
def test_twilio_busy_or_broken_is_retried(twilio, client, answer, reason):
    twilio.script.append(answer)
    assert send_sms(TEXT, client) == worker.Outcome(sent=False, retry=True, reason=reason)
    assert send_sms(TEXT, client).sent  # the next request goes through
    assert len(twilio.messages) == 1


def test_a_stalled_or_unreachable_twilio_is_retried(twilio, client, monkeypatch):
    monkeypatch.setattr(sms_sender, "TIMEOUT", httpx.Timeout(0.5))
    twilio.script.append("stall")
    assert send_sms(TEXT, client) == worker.Outcome(sent=False, retry=True, reason="ReadTimeout")
    monkeypatch.setenv("TWILIO_API_URL", f"http://127.0.0.1:{free_port()}")
    assert send_sms(TEXT, client) == worker.Outcome(sent=False, retry=True, reason="ConnectError")
    assert twilio.messages == []


def test_wrong_credentials_fail_and_missing_ones_are_not_sent(twilio, client, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token")
    assert send_sms(TEXT, client) == worker.Outcome(sent=False, reason="HTTP 401 20003")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "")
    assert send_sms(TEXT, client) == worker.Outcome(sent=False, reason="Twilio is not configured")
    assert twilio.messages == []


def test_the_worker_sends_both_and_logs_no_address(
    db_url, mailbox, twilio, client, monkeypatch, caplog
):
    monkeypatch.setitem(worker.SENDERS, "email", send_email)
    monkeypatch.setitem(worker.SENDERS, "sms", send_sms)
    mailbox.refuse(550)
    with session() as s:
        enqueue(s, "booking_confirmation", "email", MAIL, "booking:1:email")
        enqueue(s, "booking_confirmation", "email", MAIL, "booking:2:email")
        enqueue(s, "booking_confirmation", "sms", TEXT, "booking:1:sms")
    caplog.set_level("INFO")
    assert worker.send_due(client) == 3
    with session() as s:
        rows = s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
        assert [(r.status, r.last_error) for r in rows] == [
            ("failed", "SMTP 550"),
            ("sent", None),
            ("sent", None),
        ]
    assert len(mailbox.messages) == 1 and len(twilio.messages) == 1
    assert TO not in caplog.text and NUMBER not in caplog.text and "Jamie" not in caplog.text


def _started(module: str, port: int, directory: Path, *more: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), "--dir", str(directory), *more],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert "stand-in on" in proc.stdout.readline()  # the banner: listening
    return proc


def test_the_command_line_stand_ins_keep_files_and_print_no_address(tmp_path, client, monkeypatch):
    smtp_port, sms_port = free_port(), free_port()
    mail = _started("stand_ins.smtp", smtp_port, tmp_path / "mail")
    sid, token = "AC" + "2" * 32, "cli-token"
    sms = _started(
        "stand_ins.twilio", sms_port, tmp_path / "sms", "--account-sid", sid, "--auth-token", token
    )
    try:
        for name, value in {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_STARTTLS": "false",
            "SMTP_USER": "",
            "TWILIO_ACCOUNT_SID": sid,
            "TWILIO_AUTH_TOKEN": token,
            "TWILIO_FROM": "+15550100100",
            "TWILIO_API_URL": f"http://127.0.0.1:{sms_port}",
        }.items():
            monkeypatch.setenv(name, value)
        assert send_email(MAIL, client).sent
        assert send_sms(TEXT, client).sent
        assert mail.stdout and sms.stdout
        mail_line, sms_line = mail.stdout.readline(), sms.stdout.readline()
    finally:
        for proc in (mail, sms):
            proc.terminate()
            proc.wait(10)
    assert mail_line.startswith("mail 1 received kept in ") and mail_line.strip().endswith(".eml")
    assert sms_line.startswith("sms 1 received kept in ") and sms_line.strip().endswith(".json")
    for line in (mail_line, sms_line):
        assert TO not in line and NUMBER not in line and "Jamie" not in line
    [eml] = (tmp_path / "mail").glob("*.eml")
    assert b"Subject: Your intake assessment" in eml.read_bytes()
    [text] = (tmp_path / "sms").glob("*.json")
    assert NUMBER in text.read_text()


def test_an_outage_is_retried_and_each_message_delivered_once_after_recovery(
    db_url, mailbox, twilio, client
):
    """Both providers fail twice (SMTP 451, Twilio 500), then recover: each message arrives
    exactly once, after three attempts, through the worker's real senders."""
    from datetime import timedelta

    from sqlalchemy import update

    from bot.store import utcnow

    mailbox.refuse(451, count=2)
    twilio.script.extend([500, 500])
    with session() as s:
        enqueue(s, "confirmed", "email", MAIL, "booking:9:0:confirmed:email")
        enqueue(s, "confirmed", "sms", TEXT, "booking:9:0:confirmed:sms")
    for attempt in range(1, 4):
        assert worker.send_due(client) == 2, attempt
        with session() as s:
            rows = s.execute(select(OutboxMessage)).scalars().all()
            assert {r.attempts for r in rows} == {attempt}
            s.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert worker.send_due(client) == 0  # all sent: nothing is due again
    with session() as s:
        assert {r.status for r in s.execute(select(OutboxMessage)).scalars()} == {"sent"}
    assert len(mailbox.messages) == 1 and len(twilio.messages) == 1
