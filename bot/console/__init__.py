"""The coordinator console: accounts, sessions, audit (accounts.py) and the web app (web.py)."""
