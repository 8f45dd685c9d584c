"""Settings from the environment; `.env` (python-dotenv) fills in what is not set.

Every variable is documented in `.env.example`.
"""
from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
load_dotenv(ROOT / ".env")  # never overrides variables already set


def database_url() -> str:
    """The app database (escalations, later intakes and bookings)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    return f"sqlite:///{var / 'app.db'}"
