"""`python -m bot.couples`: validate the couples content and say so."""

import sys

try:
    from bot.couples import SAFETY
except Exception as exc:  # noqa: BLE001 - print the content error and fail
    print(f"Couples content is not valid: {exc}", file=sys.stderr)
    sys.exit(1)
print(f"Couples content OK: {SAFETY.content.title}, {len(SAFETY.item_keys)} questions.")
