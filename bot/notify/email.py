"""Email through SMTP (the standard library's smtplib), a sender of the outbox worker.

The payload: {"to", "subject", "text", "html", and optionally "ics" (an iCalendar text,
attached as text/calendar; method=REQUEST), "ics_name", "sender_name"}. Outcomes as for the
webhook: accepted, sent; a 5xx answer, failed (retrying cannot fix it); a 4xx answer, a
dropped or refused connection or a timeout, retried. The reason is a code or an exception
class ("SMTP 550", "ConnectionRefusedError"), never the address or the text.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any, Dict

import httpx

from bot.config import Settings, settings
from bot.notify.outcome import Outcome

TIMEOUT = 10.0  # seconds, for the connection and for each SMTP command


def build_message(payload: Dict[str, Any], mail_from: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((payload.get("sender_name") or "", mail_from))
    msg["To"] = payload["to"]
    msg["Subject"] = payload["subject"]
    msg["Date"] = formatdate(usegmt=True)
    # The sender's domain, not this host's name (make_msgid's default).
    msg["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2])
    msg.set_content(payload["text"])
    if payload.get("html"):
        msg.add_alternative(payload["html"], subtype="html")
    if payload.get("ics"):
        msg.add_attachment(
            payload["ics"],
            subtype="calendar",
            filename=payload.get("ics_name") or "invite.ics",
            params={"method": "REQUEST"},
        )
    return msg


def _deliver(conf: Settings, msg: EmailMessage) -> None:
    smtp = smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=TIMEOUT)
    try:
        if conf.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()  # the server's extensions (AUTH) can differ once encrypted
        if conf.smtp_user:
            smtp.login(conf.smtp_user, conf.smtp_password)
        smtp.send_message(msg)
        # Accepted already: QUIT's answer changes nothing, so it must not turn into a retry.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
    finally:
        smtp.close()


def send_email(payload: Dict[str, Any], client: httpx.Client) -> Outcome:
    """Send one email; `client` is unused (the senders share one signature)."""

    conf = settings()
    if not conf.smtp_host:
        return Outcome(sent=False, reason="SMTP_HOST is not set")
    try:
        msg = build_message(payload, conf.mail_from)
    except (KeyError, TypeError, ValueError) as exc:  # a bad payload stays bad
        return Outcome(sent=False, reason=f"bad message ({type(exc).__name__})")

    def by_code(code: int) -> Outcome:  # 5xx permanent, anything else worth another try
        return Outcome(sent=False, retry=not 500 <= code < 600, reason=f"SMTP {code}")

    try:
        _deliver(conf, msg)
    except smtplib.SMTPRecipientsRefused as exc:
        # One recipient: its code. A 4xx here is usually greylisting, which a retry passes.
        codes = [code for code, _ in exc.recipients.values()]
        return by_code(codes[0] if codes else 550)
    except smtplib.SMTPResponseException as exc:  # refused at connect, MAIL, DATA, AUTH…
        return by_code(exc.smtp_code)
    except smtplib.SMTPServerDisconnected as exc:
        # smtplib reports a read timeout as a disconnection: name the timeout then.
        cause = exc.__context__ if isinstance(exc.__context__, OSError) else exc
        return Outcome(sent=False, retry=True, reason=type(cause).__name__)
    except smtplib.SMTPException as exc:  # no STARTTLS or no AUTH offered: configuration
        return Outcome(sent=False, reason=type(exc).__name__)
    except OSError as exc:  # refused connection, timeout, DNS, TLS handshake
        return Outcome(sent=False, retry=True, reason=type(exc).__name__)
    return Outcome(sent=True)
