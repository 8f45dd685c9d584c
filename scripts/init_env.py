"""Create .env from .env.example on first run, filling secrets with fresh random values.

`make` runs this before every target that needs .env: an existing .env is kept as it is,
except that a secret added since it was made (e.g. ACTION_SERVER_TOKEN) is filled in.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ("RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN")
# The .env made here is a developer's: `make run` runs in development (a PHI key under var/).
# .env.example itself says production, so a copied template fails closed.
LOCAL = {"APP_ENV": "development"}


def _fresh() -> str:
    return secrets.token_urlsafe(32)


def create(target: Path, example: Path) -> None:
    lines = []
    for line in example.read_text().splitlines():
        key = line.split("=", 1)[0]
        if key in GENERATED and line.strip() == f"{key}=":
            line = f"{key}={_fresh()}"
        elif key in LOCAL and not line.startswith("#"):
            line = f"{key}={LOCAL[key]}"
        lines.append(line)
    target.write_text("\n".join(lines) + "\n")
    target.chmod(0o600)


def fill_missing(target: Path) -> List[str]:
    """Give every generated secret that is missing or empty in `target` a fresh value."""
    lines = target.read_text().splitlines()
    values: Dict[str, int] = {}
    for i, line in enumerate(lines):
        key, eq, _ = line.partition("=")
        if eq and not key.startswith("#"):
            values[key.strip()] = i
    added = []
    for key in GENERATED:
        if key not in values:
            lines.append(f"{key}={_fresh()}")
        elif lines[values[key]].strip() == f"{key}=":
            lines[values[key]] = f"{key}={_fresh()}"
        else:
            continue
        added.append(key)
    if added:
        target.write_text("\n".join(lines) + "\n")
    return added


def main() -> None:
    target = ROOT / ".env"
    if not target.exists():
        create(target, ROOT / ".env.example")
        print(
            "Created .env for development with a fresh RASA_AUTH_TOKEN and ACTION_SERVER_TOKEN "
            "(edit it to change settings)."
        )
        return
    for key in fill_missing(target):
        print(f"Added a fresh {key} to .env.")


if __name__ == "__main__":
    main()
