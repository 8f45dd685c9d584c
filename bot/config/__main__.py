"""`python -m bot.config`: validate and print the settings, secrets masked; exit 2 when invalid."""

import sys

from bot.config import main

sys.exit(main())
