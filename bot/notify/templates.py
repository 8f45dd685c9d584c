"""The wording of person-facing messages (bot/notify/messages.yml), checked on load: every
kind present, only known placeholders, texts within one SMS segment."""

from __future__ import annotations

import html
import string
from functools import lru_cache
from pathlib import Path
from typing import Dict

from pydantic import BaseModel, Extra, validator

from bot.content import ContentError, load_model

PATH = Path(__file__).with_name("messages.yml")
KINDS = ("confirmed", "reminder_24h", "reminder_2h", "rescheduled", "cancelled", "callback_ack")
PLACEHOLDERS = {"first_name", "when", "code", "sender", "phone"}
SMS_SEGMENT = 160  # GSM-7 characters in one segment
# The longest values a text must still fit with (a long first name, a long time).
LONG_SAMPLE = {
    "first_name": "Alexandrina",
    "when": "Wed Sep 30, 12:30 PM CDT",
    "code": "APT-7KQ2M-8XDPR",  # bot.scheduling.core.new_code
    "sender": "",  # filled with the real sender name
    "phone": "(555) 010-0199",
}
# GSM-7's basic characters: anything else makes a text UCS-2, at 70 characters a segment.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


class TemplateError(ContentError):
    pass


def _placeholders(text: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Message(BaseModel):
    class Config:
        extra = Extra.forbid

    subject: str
    email: str
    sms: str

    @validator("subject", "email", "sms")
    def known_placeholders(cls, text: str) -> str:
        unknown = _placeholders(text) - PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{sorted(unknown)[0]}}} "
                f"(use {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))})"
            )
        return text


class Templates(BaseModel):
    class Config:
        extra = Extra.forbid

    sender: str
    messages: Dict[str, Message]

    @validator("messages")
    def every_kind(cls, messages: Dict[str, Message]) -> Dict[str, Message]:
        missing = [k for k in KINDS if k not in messages]
        extra = [k for k in messages if k not in KINDS]
        if missing or extra:
            raise ValueError(f"missing {missing} or unknown {extra} (expected {list(KINDS)})")
        return messages

    @validator("messages")
    def texts_fit_one_segment(cls, messages: Dict[str, Message], values: dict) -> dict:
        sample = {**LONG_SAMPLE, "sender": values.get("sender", "")}
        for kind, message in messages.items():
            text = message.sms.format(**sample)
            odd = sorted(set(text) - GSM7)
            if odd:
                raise ValueError(f"{kind}.sms: {odd[0]!r} is not a plain SMS character")
            if len(text) > SMS_SEGMENT:
                raise ValueError(
                    f"{kind}.sms: {len(text)} characters with long values, over one "
                    f"segment ({SMS_SEGMENT})"
                )
        return messages

    def render(self, kind: str, values: Dict[str, str]) -> Dict[str, str]:
        """Subject, text, HTML and SMS for one message."""
        message = self.messages[kind]
        values = {**values, "sender": self.sender}
        text = message.email.format(**values)
        paragraphs = "".join(
            f"<p>{html.escape(p).replace(chr(10), ' ')}</p>" for p in text.split("\n\n")
        )
        return {
            "subject": message.subject.format(**values),
            "text": text,
            "html": f"<!doctype html><html><body>{paragraphs}</body></html>",
            "sms": message.sms.format(**values),
        }


@lru_cache(maxsize=4)
def load_templates(path: Path = PATH) -> Templates:
    return load_model(Templates, path, TemplateError)
