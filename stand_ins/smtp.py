"""A local SMTP server for development and tests (aiosmtpd):
`python -m stand_ins.smtp --port 8025 --dir var/mail` keeps each message as a .eml file and
prints one line per message (a number and the file, never the address or the text).

It is plain SMTP: run the sender with SMTP_STARTTLS=false against it, and SMTP_USER empty.
`--tls` offers STARTTLS with a self-signed certificate written next to the mail; a sender
trusts it with SSL_CERT_FILE=<that file> (the tests use this to cover STARTTLS and login).
In tests, `Mailbox().start()` runs it in a thread on a free port, keeps the parsed messages,
and can be told to refuse the next messages with a code (451 temporary, 550 permanent).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import ipaddress
import logging
import ssl
import tempfile
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Deque, List, Optional, Tuple

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

# aiosmtpd logs each address at INFO, and warns of its own deprecations on every login.
logging.getLogger("mail.log").setLevel(logging.ERROR)


def self_signed(directory: Path) -> Tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key, written in `directory`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(timezone.utc)
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "stand-in-cert.pem", directory / "stand-in-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Mailbox:
    """The aiosmtpd handler (handle_RCPT, handle_DATA), and the server it runs in."""

    def __init__(
        self,
        port: int = 0,
        directory: Optional[Path] = None,
        echo: bool = False,
        tls: bool = False,
        user: Optional[str] = None,
        password: Optional[str] = None,
    ):
        self.messages: List[EmailMessage] = []  # accepted, parsed, with X-MailFrom/X-RcptTo
        self.refusals: Deque[Tuple[int, str]] = deque()  # (code, "RCPT" or "DATA"), next first
        self.directory, self.echo = directory, echo
        self.credentials = (user, password) if user else None
        self.cert_path: Optional[Path] = None
        self.scratch: Optional[tempfile.TemporaryDirectory[str]] = None
        if directory:
            directory.mkdir(parents=True, exist_ok=True)
        tls_context = None
        if tls:
            if not directory:  # the certificate goes with the mail, or in a scratch folder
                self.scratch = tempfile.TemporaryDirectory()
                directory = Path(self.scratch.name)
            self.cert_path, key_path = self_signed(directory)
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(self.cert_path, key_path)
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            self.loop.create_server(
                lambda: SMTP(
                    self,
                    hostname="localhost",  # not socket.getfqdn(), slow on some hosts
                    enable_SMTPUTF8=True,
                    tls_context=tls_context,
                    auth_required=self.credentials is not None,
                    auth_require_tls=tls,
                    authenticator=self._authenticate,
                    loop=self.loop,
                ),
                "127.0.0.1",
                port,
            )
        )
        self.port: int = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> "Mailbox":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if self.scratch:
            self.scratch.cleanup()

    def refuse(self, code: int, count: int = 1, at: str = "DATA") -> None:
        """Answer the next `count` messages with `code`, at RCPT TO or after DATA."""
        self.refusals.extend([(code, at)] * count)

    def _refusal(self, stage: str) -> Optional[str]:
        if not self.refusals or self.refusals[0][1] != stage:
            return None
        code, _ = self.refusals.popleft()
        if self.echo:
            print(f"mail refused with {code}", flush=True)
        enhanced = "4.3.0 Try again later" if code < 500 else "5.7.1 Refused"
        return f"{code} {enhanced} (stand-in)"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.credentials is not None
            and (data.login.decode(), data.password.decode()) == self.credentials
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        refused = self._refusal("RCPT")
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        refused = self._refusal("DATA")
        if refused:
            return refused
        # The envelope as headers, as aiosmtpd's own Message handler does.
        head = f"X-MailFrom: {envelope.mail_from}\r\nX-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
        raw = head.encode() + (envelope.original_content or b"")
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        number = len(self.messages)
        kept = ""
        if self.directory:
            stamp = time.strftime("%Y%m%dT%H%M%S")
            path = self.directory / f"{stamp}-{number:04d}.eml"
            path.write_bytes(raw)
            kept = f" kept in {path}"
        if self.echo:
            print(f"mail {number} received{kept}", flush=True)
        return "250 OK: queued"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    parser.add_argument("--tls", action="store_true", help="offer STARTTLS (self-signed)")
    args = parser.parse_args()
    box = Mailbox(args.port, args.dir, echo=True, tls=args.tls)
    print(f"SMTP stand-in on 127.0.0.1:{box.port}, mail kept in {args.dir}", flush=True)
    if box.cert_path:
        print(f"STARTTLS offered: trust it with SSL_CERT_FILE={box.cert_path}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop quietly
        box.loop.run_forever()


if __name__ == "__main__":
    main()
