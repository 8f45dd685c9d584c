"""A person's data, found and removed everywhere it rests: the app database and Rasa's
tracker store.

- `forget`: delete one person's data on request, found by conversation id, booking code or
  contact (`python -m bot.privacy.forget`; admins also from the console).
- `retention`: the periods of the profile's `facts.retention`, applied to unfinished drafts
  and abandoned conversations (`python -m bot.privacy.retention`; the notification worker
  runs it every hour).
- `tracker`: the tracker store's `events` table, reached the way the endpoints file says.

Both record what they delete in the audit log (bot.store.audit), by conversation id and with
counts only. This package sits above the domain packages (it knows their tables); nothing in
them imports it.
"""
