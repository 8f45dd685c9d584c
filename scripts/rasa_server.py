"""`rasa run`, with the HTTP API's credentials taken from the environment, never a command line.

Rasa 3.6 reads `--auth-token` and `--jwt-secret` only from its command line, which any user of
the machine can read (`ps`, /proc/<pid>/cmdline). This entry point adds them to Rasa's
argument list inside the process:

    python -m scripts.rasa_server --enable-api --port 5005 --credentials credentials.yml …

- `--jwt-secret`/`--jwt-method`, always: the API takes short-lived, scoped tokens
  (bot.api_tokens). The console's are for one conversation each (role "user"); a token of
  role "admin" may call every route.
- `--auth-token` from RASA_AUTH_TOKEN, when it is set: a static token that may call every
  route. Nothing in the console uses it; scripts/stack.py's readiness check and the tests do.

Every other argument is passed to `rasa run` as given. scripts/stack.py starts Rasa this way.
"""

from __future__ import annotations

import sys

# Set here from the environment only; on a command line they would be readable by anyone.
OWN_OPTIONS = ("--auth-token", "--jwt-secret", "--jwt-method", "--jwt-private-key")


def own_option(arg: str) -> bool:
    """One of OWN_OPTIONS as argparse would read it: `-t…`, or a long option or any
    abbreviation of one (`--auth=…`, `--jwt-sec …`)."""
    if arg.startswith("-t"):
        return True
    name = arg.split("=", 1)[0]
    return len(name) > 2 and name.startswith("--") and any(o.startswith(name) for o in OWN_OPTIONS)


def main() -> None:
    from bot.config import check_or_exit

    for arg in sys.argv[1:]:
        if own_option(arg):
            name = arg[:2] if arg.startswith("-t") else arg.split("=", 1)[0]  # not its value
            raise SystemExit(
                f"{name}: the API's credentials come from the environment (RASA_AUTH_TOKEN; the "
                "JWT key from SIGNING_SECRET or the PHI key), never on the command line."
            )
    config = check_or_exit()
    from bot import api_tokens

    extra = [f"--auth-token={config.rasa_auth_token}"] if config.rasa_auth_token else []
    extra += [f"--jwt-secret={api_tokens.secret()}", f"--jwt-method={api_tokens.ALGORITHM}"]
    sys.argv = ["rasa", "run", *sys.argv[1:], *extra]

    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
