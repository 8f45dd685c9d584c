"""Consent before any personal question: the wording (consent.yml, versioned) and its record.

Screening, the insurance check and booking all start by asking for it once per
conversation; a stored consent names the version of the text the person agreed to.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from pydantic import BaseModel, Extra
from sqlalchemy import select

from bot.content import load_model
from bot.dialog import Option, Question, normalize, parse_yes_no
from bot.store import audit, session

if TYPE_CHECKING:
    from bot.consent.models import Consent

    NonEmptyStr = str  # how pydantic types its own constrained types: a str to mypy
else:
    from pydantic import constr

    NonEmptyStr = constr(min_length=1)

PATH = Path(__file__).with_name("consent.yml")
QUESTION_KEY = "consent"
COUPLES_KEY = "consent.couples"


class CouplesText(BaseModel):
    class Config:
        extra = Extra.forbid

    version: NonEmptyStr
    text: NonEmptyStr
    text_part2: NonEmptyStr  # {confidentiality}: the profile's couples policy
    agree: NonEmptyStr
    decline: NonEmptyStr
    declined: NonEmptyStr


class ConsentText(BaseModel):
    class Config:
        extra = Extra.forbid

    version: NonEmptyStr
    text: NonEmptyStr
    text_part2: NonEmptyStr
    agree: NonEmptyStr
    decline: NonEmptyStr
    declined: NonEmptyStr
    couples: CouplesText


def load_consent(path: Path = PATH) -> ConsentText:
    return load_model(ConsentText, path)


CONSENT = load_consent()


def question() -> Question:
    return Question(
        key=QUESTION_KEY,
        text=CONSENT.text_part2,
        options=(Option(CONSENT.agree, CONSENT.agree), Option(CONSENT.decline, CONSENT.decline)),
        help="Please choose “I agree” or “No thanks”.",
        skippable=False,
    )


def parse(text: str) -> bool:
    t = normalize(text)
    if t == normalize(CONSENT.agree):
        return True
    if t == normalize(CONSENT.decline):
        return False
    return parse_yes_no(t, "I need a clear yes or no before I ask anything personal.", whole=True)


def couples_question(confidentiality: str) -> Question:
    """The couples agreement (after the consent): its first part is said before it."""
    c = CONSENT.couples
    return Question(
        key=COUPLES_KEY,
        text=" ".join(c.text_part2.format(confidentiality=confidentiality).split()),
        options=(Option(c.agree, c.agree), Option(c.decline, c.decline)),
        help=f"Please choose “{c.agree}” or “{c.decline}”.",
        skippable=False,
    )


def parse_couples(text: str) -> bool:
    t = normalize(text)
    if t == normalize(CONSENT.couples.agree):
        return True
    if t == normalize(CONSENT.couples.decline):
        return False
    return parse_yes_no(t, "I need a clear yes or no before I link you with your partner.")


def record(
    conversation_id: str, db_url: Optional[str] = None, version: Optional[str] = None
) -> "Consent":
    """The person agreed: stored with the version they saw, and audited with it."""
    from bot.consent.models import Consent

    version = version or CONSENT.version
    with session(db_url) as s:
        row = Consent(conversation_id=conversation_id, version=version)
        s.add(row)
        s.flush()
        audit.add(
            s,
            "consent_given",
            actor="person",
            conversation_id=conversation_id,
            record=audit.record_id(row),
            detail=f"version {version}",
        )
        return row


def record_declined(
    conversation_id: str, db_url: Optional[str] = None, version: Optional[str] = None
) -> None:
    """The person said no: nothing personal is stored, only the audit of the answer."""
    audit.log(
        "consent_declined",
        actor="person",
        conversation_id=conversation_id,
        detail=f"version {version or CONSENT.version}",
        db_url=db_url,
    )


def given(
    conversation_id: str, db_url: Optional[str] = None, version: Optional[str] = None
) -> Optional["Consent"]:
    """The latest consent of this conversation to the current text (or to `version`, e.g.
    the couples agreement's), if any."""
    from bot.consent.models import Consent

    with session(db_url) as s:
        return (
            s.execute(
                select(Consent)
                .where(
                    Consent.conversation_id == conversation_id,
                    Consent.version == (version or CONSENT.version),
                )
                .order_by(Consent.id.desc())
            )
            .scalars()
            .first()
        )
