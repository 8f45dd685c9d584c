"""`python -m bot.screening`: validate the screening content and say so."""

import sys

try:
    from bot.screening import FIT, INSTRUMENTS
except Exception as exc:  # noqa: BLE001 - print the content error and fail
    print(f"Screening content is not valid: {exc}", file=sys.stderr)
    sys.exit(1)
print(
    f"Screening content OK: {', '.join(i.name for i in INSTRUMENTS.values())}; "
    f"{len(FIT.questions)} fit questions."
)
