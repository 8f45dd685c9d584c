"""The website with the chat widget and the coordinator console (http://localhost:8000/).

    .venv/bin/python scripts/web.py [--port 8000] [--rasa-url http://localhost:5005]

The app itself is bot.web (Sanic); this starts it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from bot.web import WEB, create_app

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8000")))
    parser.add_argument(
        "--rasa-url",
        default=os.environ.get("RASA_PUBLIC_URL")
        or f"http://localhost:{os.environ.get('RASA_PORT', '5005')}",
    )
    args = parser.parse_args()
    if not (WEB / "static" / "vendor" / "socket.io.min.js").exists():
        sys.exit("web/static/vendor/socket.io.min.js is missing: run `make web` first.")
    app = create_app(args.rasa_url)
    print(
        f"Website on http://localhost:{args.port}/ (chat server {args.rasa_url}); "
        f"coordinator console on http://localhost:{args.port}/console/",
        flush=True,
    )
    # No access log: URLs may carry booking tokens.
    app.run(host="0.0.0.0", port=args.port, access_log=False, motd=False, workers=1)


if __name__ == "__main__":
    main()
