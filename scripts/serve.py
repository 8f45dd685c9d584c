"""`make run`: check the profile, start every process, restart one that exits (the others
keep running), stop them all on Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import check_or_exit  # noqa: E402
from bot.notify.templates import TemplateError, load_templates  # noqa: E402
from bot.profile import ProfileError, load_profile  # noqa: E402
from bot.store.crypto import MissingKeyError, check_key  # noqa: E402
from bot.store.migrate import upgrade as upgrade_schema  # noqa: E402
from scripts.stack import Stack, environment  # noqa: E402


def main() -> int:
    env = environment()
    check_or_exit(env)  # every setting valid (bot.config), else say which and exit 2
    try:
        load_profile(env.get("PROGRAM_PROFILE") or None)
    except ProfileError as exc:
        print(f"Program profile is not valid: {exc}", file=sys.stderr)
        return 2
    try:
        load_templates()  # bot/notify/messages.yml: a booking must never fail on its wording
    except TemplateError as exc:
        print(f"Message templates are not valid: {exc}", file=sys.stderr)
        return 2
    os.environ.update({k: v for k, v in env.items() if k in ("APP_ENV", "PHI_ENCRYPTION_KEY")})
    try:
        check_key()  # development: creates var/phi-dev.key once; elsewhere the key must be set
    except MissingKeyError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        # The app database to the newest migration before any server opens it (each server
        # also checks on first use; this way a failing migration stops the start here).
        upgrade_schema(env.get("DATABASE_URL", "").strip() or None)
    except Exception as exc:  # noqa: BLE001 - any failure stops the start with its reason
        print(
            f"Cannot start: upgrading the database schema failed: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 2
    stack = Stack(env)
    # Ctrl-C even when started from a shell that ignores SIGINT for background jobs, and
    # SIGTERM (docker stop, kill) likewise: stop every child, then exit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print(
            "Starting the action server, the Rasa server and the website "
            "(loading the model takes a while)…"
        )
        stack.start(echo=True)
        sandbox = env.get("RUN_CLEARINGHOUSE_SANDBOX") == "1"
        mail = (
            f"kept as files in {env.get('MAIL_DIR') or 'var/mail'} (the local mail stand-in)"
            if env.get("RUN_SMTP_SANDBOX") == "1"
            else f"sent through {env['SMTP_HOST']}"
        )
        sms = (
            f"kept as files in {env.get('SMS_DIR') or 'var/sms'} (the local Twilio stand-in)"
            if env.get("RUN_TWILIO_SANDBOX") == "1"
            else "sent through Twilio"
        )
        alerts = (
            "posted to ALERT_WEBHOOK_URL by the notification worker"
            if env.get("ALERT_WEBHOOK_URL", "").strip()
            else "the console only (set ALERT_WEBHOOK_URL for a Slack-compatible webhook)"
        )
        hint = " (the sandbox: try Aetna, PPO, AETNA12345, Jane Doe, 04/04/2004)" if sandbox else ""
        print(
            f"\nReady. Website with the chat widget: http://localhost:{env['WEB_PORT']}/\n"
            f"Rasa: {stack.rasa_url}  (REST: {stack.rasa_url}/webhooks/rest/webhook, "
            f"socket.io: {stack.rasa_url}/socket.io)\nActions: {stack.action_url}\n"
            f"Insurance checks go to: {env['CLEARINGHOUSE_URL']}{hint}\n"
            f"Coordinator console: http://localhost:{env['WEB_PORT']}/console/ "
            "(add an account: .venv/bin/python -m bot.console add-coordinator EMAIL --name NAME)\n"
            f"Escalation alerts: {alerts}\n"
            f"Emails: {mail}\nTexts: {sms}\n"
            "A process that exits is restarted; Ctrl-C stops everything.",
            flush=True,
        )
        stack.supervise()  # returns only by Ctrl-C or SIGTERM (KeyboardInterrupt)
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
