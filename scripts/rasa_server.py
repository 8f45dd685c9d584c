"""`rasa run`, with the HTTP API's token taken from the environment (RASA_AUTH_TOKEN).

Rasa 3.6 reads `--auth-token` only from its command line, which any user of the machine can
read (`ps`, /proc/<pid>/cmdline). This entry point adds the option to Rasa's argument list
inside the process, so the token never appears on a command line:

    python -m scripts.rasa_server --enable-api --port 5005 --credentials credentials.yml …

Every other argument is passed to `rasa run` as given. scripts/stack.py starts Rasa this way.
"""

from __future__ import annotations

import sys


def main() -> None:
    from bot.config import check_or_exit

    if any(a == "-t" or a.startswith("--auth-token") for a in sys.argv[1:]):
        raise SystemExit("Pass the API token as RASA_AUTH_TOKEN, never on the command line.")
    token = check_or_exit().rasa_auth_token
    if not token:
        raise SystemExit("RASA_AUTH_TOKEN is not set: copy .env.example to .env (make does this).")
    sys.argv = ["rasa", "run", *sys.argv[1:], f"--auth-token={token}"]

    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
