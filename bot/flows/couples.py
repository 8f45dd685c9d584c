"""Couples enrollment as flows; bot.couples holds the rules. Three flows and the pieces the
screening shares:

- `couple_invite`: after consent and the couples agreement, the first partner gets a link
  and a code to pass on (or sees whether it was used, makes a new one, cancels it).
- `couple_join`: the second partner, from the link (its token arrives in the message's
  metadata) or a typed code, after their own consent and the couples agreement.
- `relationship_safety`: the private safety check on its own, for someone who was not
  somewhere private when the screening reached it ("private questions").

The safety questions come after the "somewhere private?" gate, each with a quick exit (the
widget clears its history and leaves the page). Everyone gets the same closing text and
the resources, whatever they answered; a positive answer only flags the person privately
for the clinicians and keeps the couple from an automatic joint booking.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Dict, List, Optional

from bot import consent, couples
from bot.config import settings
from bot.dialog import (
    NEXT_STEP_BUTTONS,
    PERSON,
    NotUnderstood,
    Option,
    Question,
    Reply,
    chosen,
    normalize,
)
from bot.flows.engine import Context, Flow
from bot.handoff import PRIORITY_CONCERN, escalate

# A button the widget acts on itself: it clears the visible chat and leaves the page. The
# message still reaches the assistant, which stops the private questions.
QUICK_EXIT = Option("Quick exit", "/quick_exit")
INVITE = Option("Invite my partner", "/enroll_couple")
SCREENING = Option("Start my screening", "/start_screening")
JOIN = Option("I have my partner's code", "/join_couple")
PRIVATE_QUESTIONS = Option("Private questions", "/relationship_safety")
QUICK = "__quick_exit__"  # the stored value of a quick exit
QUICK_EXIT_HINT = " ".join(couples.TEXTS.flows.quick_exit_hint.split())

KEEP = Option("Keep waiting", "keep")
NEW = Option("Send a new invitation", "new")
REVOKE = Option("Cancel the invitation", "revoke")
NO_CODE = Option("I don't have a code", "no code")
CODE_KEY = "couple.code"
_NO_CODE_SAID = re.compile(
    r"\b(no|nope|none|not|don'?t|do not|haven'?t|have not|lost|forgot|deleted)\b", re.I
)
PENDING_KEY = "couple.pending"
# Tokens are 43 characters of base64url (256 bits); anything far from that is not one.
TOKEN_LENGTH = range(32, 101)


def flow_text(name: str, **values: str) -> str:
    """One of texts.yml's `flows` texts, filled in, on one line."""
    return " ".join(getattr(couples.TEXTS.flows, name).format(**values).split())


def partner_link(token: str) -> str:
    """The link the first partner sends: the website, with the token after '#' so that it
    never reaches a server's logs or another site's Referer."""
    return f"{settings().web_base_url.rstrip('/')}/#couple={token}"


def _couples_agreed(ctx: Context) -> bool:
    version = consent.CONSENT.couples.version
    return consent.given(ctx.conversation_id, ctx.db_url, version=version) is not None


def _agreement(ctx: Context) -> Question:
    return consent.couples_question(ctx.profile.facts.couples.confidentiality)


def _store_agreement(value: bool, ctx: Context) -> None:
    version = consent.CONSENT.couples.version
    if value:
        consent.record(ctx.conversation_id, ctx.db_url, version=version)
    else:
        consent.record_declined(ctx.conversation_id, ctx.db_url, version=version)


class CoupleInviteFlow(Flow):
    name = "couple_invite"
    title = "your invitation"

    def intro(self, state: dict, ctx: Context) -> List[Reply]:
        if state.get("linked") or state.get("agreed"):
            return []
        return [Reply(" ".join(consent.CONSENT.couples.text.split()))]

    def prepare(self, state: dict, ctx: Context) -> None:
        state.setdefault("answers", {})
        state["linked"] = couples.couple_id_of(ctx.conversation_id, ctx.db_url) is not None
        state["agreed"] = _couples_agreed(ctx)
        state["status"] = couples.invitation_status(ctx.conversation_id, db_url=ctx.db_url)

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        a = state.get("answers", {})
        if state.get("linked") or a.get(consent.COUPLES_KEY) is False:
            return None
        if not state.get("agreed") and consent.COUPLES_KEY not in a:
            return _agreement(ctx)
        if state.get("status") == "pending" and PENDING_KEY not in a:
            return Question(
                PENDING_KEY,
                f"{couples.status_reply('pending')} What would you like to do?",
                (KEEP, NEW, REVOKE),
                help="Please choose one of the buttons.",
                skippable=False,
            )
        return None

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        if question.key == consent.COUPLES_KEY:
            return consent.parse_couples(text)
        found = chosen(question.options, text)
        if found is None:
            raise NotUnderstood("Please choose one of the buttons.")
        return found

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        state.setdefault("answers", {})[question.key] = value
        if question.key == consent.COUPLES_KEY:
            _store_agreement(value, ctx)
        return []

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        a = state.get("answers", {})
        conv, db = ctx.conversation_id, ctx.db_url
        if state.get("linked"):
            step = couples.next_step(conv, db)
            say = [Reply(_linked_text(ctx))]
            if step is not None and step.text:
                say.append(Reply(step.text, _offer(step.offer)))
            return say
        if a.get(consent.COUPLES_KEY) is False:
            return [Reply(" ".join(consent.CONSENT.couples.declined.split()), [SCREENING])]
        choice = a.get(PENDING_KEY)
        if choice == "keep":
            return [Reply(flow_text("invitation_kept"))]
        if choice == "revoke":
            couples.revoke_invitation(conv, db_url=db)
            return [Reply(couples.join_reply(couples.JoinResult("revoked")), [INVITE, SCREENING])]
        say = []
        if state.get("status") in ("expired", "declined"):
            say.append(Reply(couples.status_reply(state["status"])))
        invitation = couples.create_invitation(conv, db_url=db)
        days = ctx.profile.facts.couples.invitation_days
        text = couples.TEXTS.invitation.created.format(code=invitation.code, days=days)
        return say + [
            Reply(" ".join(text.split())),
            Reply(flow_text("invitation_link", link=partner_link(invitation.token))),
            Reply(flow_text("meanwhile"), [SCREENING]),
        ]


class CoupleJoinFlow(Flow):
    name = "couple_join"
    title = "joining your partner"

    def begin(self, state: dict, ctx: Context) -> None:
        # The newest link or code wins over an earlier one, and over "I don't have a code".
        token = ctx.metadata.get("couple_token")
        code = None
        if ctx.text and not ctx.text.startswith("/"):
            code = couples.find_code(ctx.text)
        if isinstance(token, str) and len(token) in TOKEN_LENGTH:
            state.pop("code", None)
            state["token"] = token
        elif code:
            state.pop("token", None)
            state["code"] = code
        else:
            return
        state.get("answers", {}).pop(CODE_KEY, None)

    def intro(self, state: dict, ctx: Context) -> List[Reply]:
        if state.get("linked") or state.get("agreed"):
            return []
        said = " ".join(consent.CONSENT.couples.text.split())
        if state.get("token"):
            said = f"Your partner invited you to enroll together. {said}"
        return [Reply(said)]

    def prepare(self, state: dict, ctx: Context) -> None:
        state.setdefault("answers", {})
        state["linked"] = couples.couple_id_of(ctx.conversation_id, ctx.db_url) is not None
        state["agreed"] = _couples_agreed(ctx)

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        a = state.get("answers", {})
        if state.get("linked") or state.get("result") or a.get(CODE_KEY) is False:
            return None
        if not state.get("token") and not state.get("code"):
            return Question(
                CODE_KEY,
                flow_text("code_question"),
                (NO_CODE,),
                help=flow_text("code_help"),
                skippable=False,
            )
        if not state.get("agreed") and consent.COUPLES_KEY not in a:
            return _agreement(ctx)
        return None

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        if question.key == consent.COUPLES_KEY:
            return consent.parse_couples(text)
        t = text.strip()
        code = couples.find_code(t)
        if code is not None:
            return code
        if chosen((NO_CODE,), t) or _NO_CODE_SAID.search(t):
            return False  # "I don't have one", "lost it", "nope"
        raise NotUnderstood(flow_text("not_a_code"))

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        a = state.setdefault("answers", {})
        if question.key == CODE_KEY:
            if value is False:
                a[CODE_KEY] = False
            else:
                state["code"] = value  # kept out of `answers`; dropped when the flow ends
            return []
        a[question.key] = value
        _store_agreement(value, ctx)
        return []

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        a = state.get("answers", {})
        conv, db = ctx.conversation_id, ctx.db_url
        secret = {"code": state.pop("code", None), "token": state.pop("token", None)}
        if state.get("linked") and "result" not in state:
            state["result"] = couples.ALREADY_IN_COUPLE
            return [Reply(couples.join_reply(couples.JoinResult(couples.ALREADY_IN_COUPLE)))]
        if a.get(CODE_KEY) is False:
            state["result"] = "no_code"
            return [Reply(flow_text("no_code"), [SCREENING])]
        if a.get(consent.COUPLES_KEY) is False:
            # Declining says the same whatever the code was: nothing about whether it worked.
            state["result"] = couples.decline_invitation(conv, db_url=db, **secret).outcome
            return [Reply(" ".join(consent.CONSENT.couples.declined.split()), [SCREENING])]
        result = couples.accept_invitation(conv, db_url=db, **secret)
        state["result"] = result.outcome
        if result.outcome == couples.JOINED:
            return [
                Reply(couples.join_reply(result)),
                Reply(flow_text("joined_next"), [SCREENING]),
            ]
        if result.outcome == couples.NOT_VALID:
            return [Reply(couples.join_reply(result), [JOIN, SCREENING])]
        return [Reply(couples.join_reply(result), [SCREENING, PERSON])]


# --- the private relationship-safety check, shared with the screening ----------------------


def safety_question(answers: Dict[str, Any]) -> Optional[Question]:
    """The next safety question (the private-place gate first), with a quick exit."""
    question = couples.safety_question(answers)
    if question is None:
        return None
    return dataclasses.replace(question, options=question.options + (QUICK_EXIT,))


def is_safety_key(key: str) -> bool:
    return key in couples.SAFETY.keys


def parse_safety(question: Question, text: str) -> str:
    if text.strip() == QUICK_EXIT.value or normalize(text) == normalize(QUICK_EXIT.title):
        return QUICK
    return couples.parse_safety_answer(question.key, text)


def store_safety(question: Question, value: str, answers: Dict[str, Any]) -> None:
    """Keep one safety answer. A quick exit forgets the answers given so far and puts the
    check off, as "not somewhere private" does."""
    if value == QUICK:
        answers.clear()
        answers[couples.SAFETY.gate_key] = "later"
        answers["quick_exit"] = True
        return
    answers[question.key] = value


def close_safety(answers: Dict[str, Any], ctx: Context) -> List[Reply]:
    """Save a finished check (flagging the person privately when positive) and say the same
    to everyone: thanks and the resources. Put off: how to come back to it."""
    if answers.get("quick_exit"):
        return []  # the page is gone; say nothing that a shared screen could show
    result = couples.score_safety(answers)
    if result.deferred:
        return [Reply(couples.SAFETY.later(), [PRIVATE_QUESTIONS])]
    if not result.complete:
        return []
    couples.save_safety_check(ctx.conversation_id, answers, db_url=ctx.db_url)
    if result.flagged:
        escalate(
            ctx.conversation_id,
            kind="review",
            reason="relationship_safety",
            priority=PRIORITY_CONCERN,
            db_url=ctx.db_url,
        )
    thanks, resources = couples.safety_closing()
    return [Reply(thanks), Reply(resources)]


def needs_safety_check(ctx: Context, enrolling: bool) -> bool:
    """Whether this person is asked the safety check: one of a couple, inviting a partner, or
    enrolling as a couple, and not checked yet."""
    conv, db = ctx.conversation_id, ctx.db_url
    if couples.safety_checked(conv, db):
        return False
    if enrolling or couples.couple_id_of(conv, db) is not None:
        return True
    return couples.invitation_status(conv, db_url=db) == "pending"


def couple_step(ctx: Context) -> List[Reply]:
    """After a screening or a safety check: the couple's next step for this partner, or, for
    someone not linked yet, where their invitation stands."""
    conv, db = ctx.conversation_id, ctx.db_url
    step = couples.next_step(conv, db)
    if step is not None:
        offer = _offer(step.offer)
        if not couples.safety_checked(conv, db):
            offer.append(PRIVATE_QUESTIONS)  # the questions put off earlier
        return [Reply(step.text, offer)]
    status = couples.invitation_status(conv, db_url=db)
    if status == "pending":
        return [Reply(couples.status_reply("pending"))]
    if status in ("expired", "declined"):
        text = couples.TEXTS.invitation.go_on_alone
        return [Reply(f"{couples.status_reply(status)} {' '.join(text.split())}", [INVITE])]
    return [Reply(flow_text("invite_when_ready"), [INVITE])]


def _offer(names: List[str]) -> List[Option]:
    return [NEXT_STEP_BUTTONS[n] for n in names if n in NEXT_STEP_BUTTONS]


class RelationshipSafetyFlow(Flow):
    name = "relationship_safety"
    title = "the private questions"

    def prepare(self, state: dict, ctx: Context) -> None:
        state.setdefault("safety", {})
        if "due" not in state:
            state["due"] = needs_safety_check(ctx, enrolling=True)

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        if not state.get("due"):
            return None
        return safety_question(state.get("safety", {}))

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        return parse_safety(question, text)

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        store_safety(question, value, state.setdefault("safety", {}))
        return []

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        if not state.get("due"):
            return [Reply(flow_text("nothing_private_left"))]
        safety = state.pop("safety", {})  # saved by close_safety; no copy left in the draft
        said = close_safety(safety, ctx)
        if safety.get("quick_exit") or couples.score_safety(safety).deferred:
            return said
        return said + couple_step(ctx)


def _linked_text(ctx: Context) -> str:
    """ "Your partner has joined" to the one who invited; the one who joined is linked."""
    if couples.invitation_status(ctx.conversation_id, db_url=ctx.db_url) == "accepted":
        return couples.status_reply("accepted")
    return flow_text("linked")


def invitation_update(ctx: Context) -> List[Reply]:
    """ "Has my partner joined?": whether the invitation was used, and nothing more."""
    conv, db = ctx.conversation_id, ctx.db_url
    if couples.couple_id_of(conv, db) is not None:
        step = couples.next_step(conv, db)
        said = [Reply(_linked_text(ctx))]
        if step is not None and step.text:
            said.append(Reply(step.text, _offer(step.offer)))
        return said
    status = couples.invitation_status(conv, db_url=db)
    if status is None:
        return [Reply(flow_text("not_invited"), [INVITE, JOIN])]
    if status == "pending":
        manage = Option("Manage my invitation", INVITE.value)
        return [Reply(couples.status_reply(status), [manage, SCREENING])]
    text = " ".join(couples.TEXTS.invitation.go_on_alone.split())
    return [Reply(f"{couples.status_reply(status)} {text}", [INVITE, SCREENING])]
