"""Local stand-ins for the external services, for development and tests only: they speak
the services' published APIs over real HTTP, so the real clients are exercised over a
socket (timeouts, 5xx, 429 and malformed bodies included). Not part of the domain core.

- `python -m stand_ins.clearinghouse`: Stedi-shaped real-time eligibility (270/271 JSON)
- `python -m stand_ins.calcom`: Cal.com API v2 (slots, bookings)
- `python -m stand_ins.webhook`: a Slack-compatible incoming webhook (coordinator alerts)
- `python -m stand_ins.smtp`: an SMTP server (aiosmtpd) keeping mail under var/mail
- `python -m stand_ins.twilio`: Twilio's Messages API, keeping texts under var/sms
"""
