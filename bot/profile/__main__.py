"""`python -m bot.profile`: check the program profile; exit non-zero naming the bad key."""

import sys

from bot.profile import ProfileError, load_profile

try:
    load_profile()
except ProfileError as exc:
    sys.exit(f"Program profile is not valid: {exc}")
print("Program profile OK")
