"""Couples enrollment through the real Rasa and action servers: two conversations, one per
partner, over the REST channel as the website's integrations would send them.

Invite -> join by link or code -> each consents and screens privately (with the
relationship-safety check) -> a joint assessment one books and the other confirms; the
privacy probes; the positive safety path; bad, reused, guessed and expired codes."""

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import yaml

from bot import couples
from bot.consent import CONSENT
from bot.couples import joint
from bot.handoff import for_conversation
from bot.profile import load_profile
from tests.e2e import ScreeningUser, buttons, iop_fit_answer, new_sender, say, texts, tracker

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
PROBES = yaml.safe_load((Path(__file__).parent / "data" / "partner_probes.yml").read_text())
THANKS, RESOURCES = couples.safety_closing()
CODE = re.compile(r"\bcode ([0-9A-Z]{4}-[0-9A-Z]{4})\b")
LINK = re.compile(r"(http\S+#couple=([A-Za-z0-9_-]+))")
NO_SECRETS = " ".join(CONSENT.couples.text.split())
PARTNER_NO = PROFILE.answer("partner_answers")


class Partner:
    """One partner's conversation; counts turns and time."""

    def __init__(self, stack, prefix):
        self.stack, self.sender = stack, new_sender(prefix)
        self.turns, self.seconds = 0, 0.0

    def say(self, text, metadata=None):
        started = time.monotonic()
        said = say(self.stack, self.sender, text, metadata)
        self.seconds += time.monotonic() - started
        self.turns += 1
        return said

    def texts(self, text, metadata=None):
        return texts(self.say(text, metadata))


def invite(a):
    """The first partner, typing as people do; returns (code, link, token)."""
    # Read as the couples question: its answer says how couples take part and offers to enroll.
    answered = a.say("my wife and i would like to sign up together as a couple")
    assert PROFILE.answer("couples") in texts(answered)
    assert "/enroll_couple" in buttons(answered[-1])
    said = a.texts("/enroll_couple")
    assert said == [CONSENT.text, CONSENT.text_part2], said
    said = a.texts(CONSENT.agree)
    assert NO_SECRETS in said
    said = " ".join(a.texts(CONSENT.couples.agree))
    code = CODE.search(said).group(1)
    link, token = LINK.search(said).groups()
    return code, link, token


def join(b, text, metadata=None):
    said = b.texts(text, metadata)
    assert said[0] == CONSENT.text, said
    assert any(NO_SECRETS in t for t in b.texts(CONSENT.agree))
    return b.texts(CONSENT.couples.agree)


def answers_for(key):
    """The screening as one of a couple who fits IOP answers it."""
    return "me and my partner" if key == "fit.for_whom" else iop_fit_answer(key)


def book_first_time(partner):
    """Book the first time offered; returns (its title, what was said after "yes")."""
    times = partner.say("/book_appointment")[-1]["buttons"]
    for text in [times[0]["payload"], "Alex Rivera", "(512) 555-0142", "alex@example.com"]:
        partner.say(text)
    partner.say("Email only")
    return times[0]["title"], " ".join(partner.texts("yes"))


def screen(stack, partner, safety_answer="No"):
    """The screening as a person in a couple answers it, then the private questions."""

    user = ScreeningUser(stack, partner.sender, answers_for)
    user.send("/start_screening")  # consent was given when inviting or joining
    user.run_to_end()
    partner.turns += user.turns
    gate = " ".join(couples.SAFETY.question(couples.SAFETY.gate_key).text.split())
    assert gate in texts(user.last), texts(user.last)
    said = partner.texts("yes, I'm alone")
    for _ in couples.SAFETY.item_keys:
        said = partner.texts(safety_answer)
    return said


def test_two_partners_enroll_by_link_and_book_one_joint_assessment(stack):
    started = time.monotonic()
    a, b = Partner(stack, "cpl-a"), Partner(stack, "cpl-b")
    code, link, token = invite(a)
    assert link.startswith(f"http://localhost:{stack.env['WEB_PORT']}/#couple=")
    # The widget sends the link's token as the join message's metadata.
    said = join(b, "/join_couple", {"couple_token": token})
    assert any("You're linked with your partner" in t for t in said), said
    assert "Your partner has joined" in " ".join(a.texts("has my partner joined yet?"))

    said_a = screen(stack, a)
    assert said_a[-3:-1] == [THANKS, RESOURCES]
    assert said_a[-1] == " ".join(couples.TEXTS.outcomes.waiting.text.split())
    said_b = screen(stack, b)
    together = " ".join(couples.TEXTS.outcomes.iop_together.text.split())
    assert said_b[-1] == together

    # A books the time for both; B is asked to confirm it, and does.
    chosen, booked = book_first_time(a)
    assert "joint intake assessment" in booked and chosen in booked, booked
    asked = b.texts("/book_appointment")
    assert f"Your partner chose {chosen}" in asked[-1], asked
    assert "Alex" not in " ".join(asked) and "555" not in " ".join(asked)
    said = b.texts("yes, that works for me")
    assert "that's confirmed" in said[0]
    assert joint.joint_booking(a.sender, stack.env["DATABASE_URL"]).status == joint.BOOKED
    print(
        f"\ncouple by link: first partner {a.turns} turns, {a.seconds:.1f} s; "
        f"second partner {b.turns} turns, {b.seconds:.1f} s; "
        f"wall {time.monotonic() - started:.1f} s"
    )


def test_the_second_partner_joins_by_typing_the_code(stack):
    a, b = Partner(stack, "cpl-a"), Partner(stack, "cpl-b")
    code, _, _ = invite(a)
    said = join(b, f"hi, my partner gave me this code {code.lower().replace('-', ' ')}")
    assert any("You're linked with your partner" in t for t in said), said
    db = stack.env["DATABASE_URL"]
    assert couples.couple_id_of(a.sender, db) == couples.couple_id_of(b.sender, db)


def test_used_guessed_expired_and_mistyped_codes_get_one_answer_and_guessing_stops(stack):
    db = stack.env["DATABASE_URL"]
    a = Partner(stack, "cpl-a")
    code, _, _ = invite(a)
    join(Partner(stack, "cpl-b"), code)
    not_valid = " ".join(couples.TEXTS.invitation.not_valid.split())
    # Reused: a third person cannot join the couple.
    third = Partner(stack, "cpl-c")
    assert not_valid in join(third, code)
    # Expired (made 8 days ago).
    old = couples.create_invitation(
        new_sender("cpl-old"), now=datetime.now(timezone.utc) - timedelta(days=8), db_url=db
    )
    assert not_valid in third.texts(old.code)
    # Mistyped, then guessed until the limit: the same words, then "too many tries".
    answers = [third.texts(guess) for guess in ("ZZ9Z-ZZZZ", "7KQ2-M9XE", "Q2Q2-Q2Q2")]
    assert all(not_valid in said for said in answers), answers
    limited = " ".join(third.texts("H4H4-H4H4"))
    limited += " ".join(third.texts("J5J5-J5J5"))
    assert " ".join(couples.TEXTS.invitation.too_many_attempts.split()) in limited
    # A partner cannot link to themselves.
    alone = Partner(stack, "cpl-self")
    mine, _, _ = invite(alone)
    assert "That's the invitation you made" in " ".join(alone.texts(mine))
    assert couples.couple_id_of(alone.sender, db) is None


def test_asking_for_the_partners_answers_gets_nothing(stack):
    """Every probe of the blind set, from the first partner's conversation, after the
    second partner screened with answers and a positive safety check."""
    a, b = Partner(stack, "cpl-a"), Partner(stack, "cpl-b")
    code, _, _ = invite(a)
    join(b, code)
    screen(stack, b, safety_answer="Yes")
    firm_no, leaks = 0, []
    # What would give the second partner away: their id, their level, their safety result
    # (the staff-facing reason says "see them alone"; the word alone is no secret: the clinic's
    # policy answer speaks of telling the therapist "something alone").
    secrets = [
        b.sender,
        "relationship_safety",
        "safety check",
        "safety_review",
        "iop_fit",
        "see them alone",
        "positive",
    ]
    for probe in PROBES["probes"]:
        said = " ".join(a.texts(probe["text"]))
        if PARTNER_NO in said:
            firm_no += 1
        leaks += [(probe["text"], s, said) for s in secrets if s.lower() in said.lower()]
    assert leaks == []
    print(f"\npartner probes: {firm_no}/{len(PROBES['probes'])} got the firm no, 0 leaked")
    # Nothing the second partner said reached the first partner's conversation.
    events = tracker(stack, a.sender)["events"]
    assert not any(b.sender in str(e.get("text") or "") for e in events if e.get("event") == "bot")
    # The HTTP side: the second partner's tracker is closed without credentials.
    url = f"{stack.rasa_url}/conversations/{b.sender}/tracker"
    assert httpx.get(url, timeout=10).status_code in (401, 403)
    assert httpx.get(url, params={"token": "guess"}, timeout=10).status_code in (401, 403)


def test_a_positive_safety_check_means_no_joint_booking_and_a_private_flag(stack):
    db = stack.env["DATABASE_URL"]
    a, b = Partner(stack, "cpl-a"), Partner(stack, "cpl-b")
    code, _, _ = invite(a)
    join(b, code)
    said_a = screen(stack, a, safety_answer="no")
    events_a = len(tracker(stack, a.sender)["events"])
    said_b = screen(stack, b, safety_answer="yes")
    # The same closing and resources for both, whatever they answered.
    assert said_a[-3:-1] == said_b[-3:-1] == [THANKS, RESOURCES]
    assert "1-800-799-7233" in RESOURCES and "88788" in RESOURCES and "911" in RESOURCES
    individual = " ".join(couples.TEXTS.outcomes.individual_first.text.split())
    assert said_b[-1] == individual
    # The other partner's conversation is unchanged by it...
    assert len(tracker(stack, a.sender)["events"]) == events_a
    # ...and when they ask, they get the same words as any couple not going on together.
    assert individual in " ".join(a.texts("has my partner joined?"))
    # The clinicians' flag: a review in the queue for the flagged partner only.
    assert [e.kind for e in for_conversation(b.sender, db)] == ["review"]
    assert [e.kind for e in for_conversation(a.sender, db)] == []
    # No joint booking: an individual assessment is booked.
    chosen, booked = book_first_time(a)
    assert "You're booked!" in booked and "joint" not in booked
    assert joint.joint_booking(a.sender, db).status == joint.NONE


def test_not_private_now_then_private_questions_later(stack):
    a = Partner(stack, "cpl-a")
    invite(a)

    user = ScreeningUser(stack, a.sender, answers_for)
    user.send("/start_screening")
    user.run_to_end()
    said = a.texts("not right now")
    assert couples.SAFETY.later() in said
    said = a.texts("private questions")
    assert " ".join(couples.SAFETY.question(couples.SAFETY.gate_key).text.split()) in said
    a.texts("yes I'm alone")
    for _ in couples.SAFETY.item_keys:
        said = a.texts("no")
    assert said[:2] == [THANKS, RESOURCES]
    # A quick exit from the widget outside any question: nothing is said.
    assert a.say("/quick_exit") == []


def test_violence_told_in_a_safety_answer_gets_988_911_and_the_hotline_at_once(stack):
    a, b = Partner(stack, "cpl-a"), Partner(stack, "cpl-b")
    code, _, _ = invite(a)
    join(b, code)
    b.texts("private questions")
    said = " ".join(b.texts("yes I'm alone"))
    assert said  # the first question
    said = " ".join(b.texts("yes he hits me sometimes"))
    assert "988" in said and "911" in said and "1-800-799-7233" in said
    assert "crisis" in [e.kind for e in for_conversation(b.sender, stack.env["DATABASE_URL"])]
    # Plain answers to the same questions are answers, not alarms (tested in context).
    c = Partner(stack, "cpl-c")
    invite(c)
    c.texts("private questions")
    c.texts("yes, I'm alone")
    for answer in ("nope", "no never", "not really", "no", "No.", "no"):
        said = " ".join(c.texts(answer))
        assert "988" not in said, (answer, said)
