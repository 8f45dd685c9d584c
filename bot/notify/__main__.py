"""The outbox worker: `.venv/bin/python -m bot.notify` (make run starts one)."""

import logging

from bot.notify.worker import run

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run()
