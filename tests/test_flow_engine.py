"""The flow engine on its own: consent first, re-asks, skip after two failures, an FAQ in
the middle, finish later and resume, a person on request. A tiny two-question flow stands
in for the real ones (they have their own tests)."""

from typing import Any, List, Optional

import pytest

from bot import consent
from bot.dialog import PERSON, SKIPPED, NotUnderstood, Option, Question, Reply
from bot.flows.engine import SKIP, Context, Engine, Flow
from bot.handoff import for_conversation
from bot.profile import load_profile

PROFILE = load_profile()


class Pets(Flow):
    name, title = "pets", "the pet questions"

    def next_question(self, state, ctx) -> Optional[Question]:
        a = state.get("answers", {})
        if "count" not in a:
            return Question(
                "count", "How many pets?", (Option("None", "0"),), help="A number, like 2."
            )
        if "kind" not in a:
            return Question("kind", "Dog or cat?", (Option("Dog", "dog"), Option("Cat", "cat")))
        return None

    def parse(self, question, text, state, ctx) -> Any:
        if question.key == "count":
            if not text.isdigit():
                raise NotUnderstood("Please type a number.")
            return int(text)
        if text.lower() not in ("dog", "cat"):
            raise NotUnderstood("Dog or cat, please.")
        return text.lower()

    def finish(self, state, ctx) -> List[Reply]:
        return [Reply(f"Done: {state['answers']}")]


@pytest.fixture()
def run(db_url):
    engine = Engine({"pets": Pets()})
    ctx = Context("conv-1", PROFILE, db_url=db_url)

    def say(text, intent="", confidence=0.0):
        return engine.handle(text, intent, confidence, ctx)

    return engine, ctx, say


def asked(engine, ctx):
    current = engine.current(ctx)
    return current[0].key if current else None


def test_consent_comes_first_and_is_recorded(run):
    engine, ctx, say = run
    turn = engine.start("pets", ctx)
    assert turn.active and turn.say[0].text == consent.CONSENT.text
    assert asked(engine, ctx) == "consent"
    assert say("sure").active
    assert consent.given("conv-1", ctx.db_url).version == consent.CONSENT.version
    assert asked(engine, ctx) == "count"


def test_no_consent_no_questions(run):
    engine, ctx, say = run
    engine.start("pets", ctx)
    turn = say("no thanks")
    assert not turn.active and turn.say[0].text == consent.CONSENT.declined
    assert PERSON in turn.say[0].buttons
    assert engine.current(ctx) is None and consent.given("conv-1", ctx.db_url) is None


def test_unclear_answer_is_re_asked_then_skip_and_person_are_offered(run):
    engine, ctx, say = run
    engine.start("pets", ctx), say("yes")
    first = say("lots")
    assert first.active and first.say[0].text == "Please type a number."
    assert engine.current(ctx)[1] == 1
    second = say("many many")
    assert "skip this question or talk to a person" in second.say[0].text
    assert "A number, like 2." in second.say[0].text
    assert engine.current(ctx)[1] == 2
    assert say(SKIP.value).active
    assert asked(engine, ctx) == "kind"
    end = say("cat")
    assert not end.active and f"'count': '{SKIPPED}'" in end.say[-1].text


def test_skip_is_not_offered_before_two_failures(run):
    engine, ctx, say = run
    engine.start("pets", ctx), say("yes")
    say(SKIP.value)
    assert asked(engine, ctx) == "count"


def test_faq_in_the_middle_is_answered_and_the_same_question_waits(run):
    engine, ctx, say = run
    engine.start("pets", ctx), say("yes"), say("2")
    turn = say("how big are the groups?", "faq_group_size", 0.93)
    assert turn.active and turn.say[0].text == PROFILE.answer("group_size")
    assert asked(engine, ctx) == "kind" and engine.current(ctx)[1] == 0


def test_finish_later_then_resume_at_the_same_question(run):
    engine, ctx, say = run
    engine.start("pets", ctx), say("yes"), say("3")
    turn = say("can I finish this later?")
    assert not turn.active and "saved" in turn.say[0].text
    assert engine.current(ctx) is None and engine.paused(ctx) == "pets"
    back = engine.start("pets", ctx)
    assert back.active and "pick up" in back.say[0].text
    assert asked(engine, ctx) == "kind"
    assert "'count': 3" in say("dog").say[-1].text


def test_asking_for_a_person_pauses_and_queues_a_request(run):
    engine, ctx, say = run
    engine.start("pets", ctx), say("yes")
    turn = say("/request_human", "request_human", 1.0)
    # Nobody has the console open: no "someone can join you", just how to reach the team.
    assert not turn.active and turn.say[0].text == PROFILE.contact_queued
    assert [r.kind for r in for_conversation("conv-1", ctx.db_url)] == ["request"]


def test_asking_for_a_person_while_a_coordinator_is_online(run, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from bot.console.accounts import add_coordinator, mark_online, start_session, utcnow

    # A Tuesday, 10 am Central: inside the sample profile's coordinator hours.
    monkeypatch.setattr("bot.handoff._now", lambda: datetime(2026, 12, 8, 16, tzinfo=timezone.utc))
    engine, ctx, say = run
    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery", db_url=ctx.db_url)
    token, _ = start_session(alex, db_url=ctx.db_url)
    mark_online(token, utcnow() + timedelta(seconds=30), db_url=ctx.db_url)
    engine.start("pets", ctx), say("yes")
    turn = say("/request_human", "request_human", 1.0)
    assert turn.say[0].text == PROFILE.contact_text
    # The same at 7 pm: the console is still open, but the team's day is over.
    monkeypatch.setattr("bot.handoff._now", lambda: datetime(2026, 12, 9, 1, tzinfo=timezone.utc))
    engine.start("pets", ctx), say("yes")
    assert say("/request_human", "request_human", 1.0).say[0].text == PROFILE.contact_queued


def test_answers_are_encrypted_in_the_database(run, tmp_path):
    import sqlite3

    engine, ctx, say = run
    engine.start("pets", ctx), say("yes"), say("7")
    db = sqlite3.connect(ctx.db_url.replace("sqlite:///", ""))
    raw = " ".join(str(r) for r in db.execute("select state from flow_drafts"))
    assert "count" not in raw and raw.count("gAAAAA") == 1  # a Fernet token, not JSON


class Names(Pets):
    name, title = "names", "the name question"

    def next_question(self, state, ctx):
        if "name" not in state.get("answers", {}):
            return Question("name", "Your name?", free_text=True)
        return None

    def parse(self, question, text, state, ctx):
        return text  # any words are a name


def test_answers_come_first_but_free_text_looks_for_interruptions_first(db_url):
    engine = Engine({"pets": Pets(), "names": Names()})
    ctx = Context("conv-2", PROFILE, db_url=db_url)
    engine.start("pets", ctx), engine.handle("yes", "", 0, ctx)
    # "me" read as a request for a person is still an answer when it parses.
    assert engine.handle("4", "request_human", 0.9, ctx).active
    assert engine.current(ctx)[0].key == "kind"
    engine.start("names", ctx)
    turn = engine.handle("how much does it cost", "faq_cost", 0.95, ctx)
    assert turn.say[0].text == PROFILE.answer("cost") and engine.current(ctx)[0].key == "name"
    assert not engine.handle("can I finish later", "", 0, ctx).active


def test_a_second_miss_says_the_explanation_once_when_it_is_the_help_text(db_url):
    class Kind(Flow):
        name, title = "kind", "the kind question"
        help = "Please pick a button, or type dog or cat."

        def next_question(self, state, ctx):
            if "kind" in state.get("answers", {}):
                return None
            return Question("kind", "Dog or cat?", help=self.help)

        def parse(self, question, text, state, ctx):
            raise NotUnderstood(self.help)  # the parser's reason is the help text itself

        def finish(self, state, ctx):
            return []

    engine = Engine({"kind": Kind()})
    ctx = Context("conv-help", PROFILE, db_url=db_url)
    engine.start("kind", ctx)
    engine.handle("yes", "", 0.0, ctx)  # consent
    engine.handle("a parrot", "", 0.0, ctx)
    second = engine.handle("a hamster", "", 0.0, ctx).say[0].text
    assert second.count(Kind.help) == 1, second
    assert "skip this question or talk to a person" in second
