"""Create .env from .env.example on first run, filling secrets with fresh random values."""

from __future__ import annotations

import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ("RASA_AUTH_TOKEN",)


def main() -> None:
    target = ROOT / ".env"
    if target.exists():
        return
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        if key in GENERATED and line.strip() == f"{key}=":
            line = f"{key}={secrets.token_urlsafe(32)}"
        lines.append(line)
    target.write_text("\n".join(lines) + "\n")
    target.chmod(0o600)
    print("Created .env with a fresh RASA_AUTH_TOKEN (edit it to change settings).")


if __name__ == "__main__":
    main()
