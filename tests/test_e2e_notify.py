"""Notifications through the running system: a booking made in the chat is confirmed by an
email (with its calendar file) to the local mail server and a text to the Twilio stand-in,
sent by the notification worker; a signed STOP from Twilio's webhook stops further texts;
nothing in what was sent carries more than a first name and a time."""

import base64
import email
import json
import time
from email import policy
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar

from bot.notify.optout import twilio_signature
from tests.e2e import new_sender, say, texts
from tests.test_e2e_booking import CODE, book, to_the_times

pytestmark = pytest.mark.e2e
# The canary values the booking uses (tests/test_e2e_booking.CONTACT) and its birth date.
CANARY_SURNAME, PHONE, EMAIL = "Rivera", "+15125550142", "jamie.rivera@example.com"


def mails(stack):
    folder = Path(stack.env["MAIL_DIR"])
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def texts_sent(stack):
    folder = Path(stack.env["SMS_DIR"])
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def wait(fn, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fn()
        if found:
            return found
        time.sleep(0.3)
    return fn()


def test_a_booking_is_confirmed_by_email_and_text(stack):
    before_mail, before_sms = len(mails(stack)), len(texts_sent(stack))
    sender = new_sender("notify")
    _, said = book(stack, sender)
    code = next(CODE.search(t) for t in said if CODE.search(t)).group(1)

    mail = wait(
        lambda: [
            m for m in mails(stack)[before_mail:] if code in m.get_body(("plain",)).get_content()
        ]
    )
    assert len(mail) == 1, "one confirmation email"
    message = mail[0]
    assert message["To"] == EMAIL and message["Subject"] == "Your appointment is confirmed"
    [ics] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    event = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")[0]
    assert str(event["uid"]).startswith(code)
    sms = wait(lambda: [t for t in texts_sent(stack)[before_sms:] if code in t["body"]])
    assert len(sms) == 1 and sms[0]["to"] == PHONE and len(sms[0]["body"]) <= 160

    # Everything sent so far in this session: a first name and a time, nothing more.
    checked = 0
    for m in mails(stack):
        for part in m.walk():
            if part.get_content_maintype() == "multipart":
                continue
            body = part.get_payload(decode=True).decode("utf-8", "replace")
            assert CANARY_SURNAME not in body and "0142" not in body and "1990" not in body
            checked += 1
        assert CANARY_SURNAME not in str(m["Subject"])
    for t in texts_sent(stack):
        assert CANARY_SURNAME not in t["body"] and "screening" not in t["body"].lower()
        checked += 1
    print(f"\nmessage parts checked for PHI: {checked}")
    assert checked >= 4


def signed(stack, form):
    url = f"http://localhost:{stack.env['WEB_PORT']}/sms/inbound"
    signature = twilio_signature(stack.env["TWILIO_AUTH_TOKEN"], url, form)
    return httpx.post(
        f"{stack.web_url}/sms/inbound",
        data=form,
        headers={"X-Twilio-Signature": signature},
        timeout=10,
    )


def test_stop_from_twilio_stops_the_texts(stack):
    number = "+15125550177"
    forged = httpx.post(
        f"{stack.web_url}/sms/inbound",
        data={"From": number, "Body": "STOP"},
        headers={"X-Twilio-Signature": base64.b64encode(b"made up").decode()},
        timeout=10,
    )
    assert forged.status_code == 403  # nobody can opt someone else out
    reply = signed(stack, {"From": number, "Body": "STOP", "To": "+15550100100"})
    assert reply.status_code == 200 and reply.text == "<Response/>"

    sender = new_sender("stopped")
    before_mail, before_sms = len(mails(stack)), len(texts_sent(stack))
    contact = ["Sam Lee", "(512) 555-0177", "sam.lee@example.com", "Text and email"]

    times = to_the_times(stack, sender)
    for text in [times[0]["payload"]] + contact:
        say(stack, sender, text)
    said = texts(say(stack, sender, "yes"))
    code = next(CODE.search(t) for t in said if CODE.search(t)).group(1)
    assert wait(lambda: [m for m in mails(stack)[before_mail:] if m["To"] == "sam.lee@example.com"])
    time.sleep(2)  # the worker has had every chance to send a text
    assert not [t for t in texts_sent(stack)[before_sms:] if code in t["body"]]


def test_a_text_to_a_landline_fails_once_and_coordinators_see_it(stack):
    from tests.test_e2e_console import account, signed_in

    sender = new_sender("landline")
    times = to_the_times(stack, sender)
    contact = ["Robin Park", "(512) 555-0199", "robin.park@example.com", "Text and email"]
    for text in [times[0]["payload"]] + contact:
        say(stack, sender, text)
    assert any("You're booked!" in t for t in texts(say(stack, sender, "yes")))
    alex = signed_in(stack, account(stack))

    def failed_row():
        page = alex.get("/console/").text
        return sender in page and "HTTP 400 21614" in page and page

    page = wait(failed_row)
    assert page, "the refused text is listed for the coordinators"
    assert "+15125550199" not in page and "555-0199" not in page  # the why, not the number
    # Failed at once (a landline will not become a mobile): one try, no retries.
    assert not [t for t in texts_sent(stack) if t["to"] == "+15125550199"]
