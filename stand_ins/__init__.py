"""Local stand-ins for the external services, for development and tests only: they speak
the services' published APIs over real HTTP, so the real clients are exercised over a
socket (timeouts, 5xx, 429 and malformed bodies included). Not part of the domain core.

- `python -m stand_ins.clearinghouse`: Stedi-shaped real-time eligibility (270/271 JSON)
- `python -m stand_ins.calcom`: Cal.com API v2 (slots, bookings)
"""
