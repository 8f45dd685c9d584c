"""Consent before any personal question: the wording (consent.yml, versioned) and its record.

Screening, the insurance check and booking all start by asking for it once per
conversation; a stored consent names the version of the text the person agreed to.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, Extra, ValidationError, constr
from sqlalchemy import select

from bot.flows.base import NotUnderstood, Option, Question
from bot.store import session

PATH = Path(__file__).with_name("consent.yml")
QUESTION_KEY = "consent"


class ConsentText(BaseModel):
    class Config:
        extra = Extra.forbid

    version: constr(min_length=1)
    text: constr(min_length=1)
    text_part2: constr(min_length=1)
    agree: constr(min_length=1)
    decline: constr(min_length=1)
    declined: constr(min_length=1)


def load_consent(path: Path = PATH) -> ConsentText:
    try:
        return ConsentText.parse_obj(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        bad = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: {bad}") from None


CONSENT = load_consent()

_YES = {"yes", "y", "yeah", "yep", "sure", "ok", "okay", "i agree", "agree", "i do", "fine",
        "yes i agree", "sounds good", "go ahead", "alright", "of course", "yes please"}
_NO = {"no", "n", "nope", "nah", "no thanks", "no thank you", "i don't agree", "i do not agree",
       "don't agree", "disagree", "not now", "no way"}


def question() -> Question:
    return Question(
        key=QUESTION_KEY,
        text=CONSENT.text_part2,
        options=(Option(CONSENT.agree, CONSENT.agree), Option(CONSENT.decline, CONSENT.decline)),
        help="Please choose “I agree” or “No thanks”.",
        skippable=False,
    )


def parse(text: str) -> bool:
    t = " ".join(text.lower().replace("’", "'").strip(" .!").split())
    if t in _YES or t == CONSENT.agree.lower():
        return True
    if t in _NO or t == CONSENT.decline.lower():
        return False
    raise NotUnderstood("I need a clear yes or no before I ask anything personal.")


def record(conversation_id: str, db_url: Optional[str] = None) -> "Consent":
    from bot.consent.models import Consent

    with session(db_url) as s:
        row = Consent(conversation_id=conversation_id, version=CONSENT.version)
        s.add(row)
        s.flush()
        return row


def given(conversation_id: str, db_url: Optional[str] = None) -> Optional["Consent"]:
    """The latest consent of this conversation to the current text, if any."""
    from bot.consent.models import Consent

    with session(db_url) as s:
        return s.execute(
            select(Consent)
            .where(Consent.conversation_id == conversation_id, Consent.version == CONSENT.version)
            .order_by(Consent.id.desc())
        ).scalars().first()
