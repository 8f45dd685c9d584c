"""The outbox worker: `.venv/bin/python -m bot.notify` (make run starts one). It also runs
the retention job (bot.privacy.retention) at start and every hour."""

import logging

from bot.notify.worker import run

RETENTION_EVERY = 3600.0  # seconds: the periods are days, an hour late is nothing

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(retention_every=RETENTION_EVERY)
