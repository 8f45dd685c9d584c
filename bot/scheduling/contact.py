"""Understanding contact details and time zones typed in a chat, and saying times back."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Dict, Union
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bot.dialog import NotUnderstood
from bot.scheduling.core import Slot

# The main (most populous) zone of each state, DC and Puerto Rico.
STATE_ZONES: Dict[str, str] = {
    "AL": "America/Chicago",
    "AK": "America/Anchorage",
    "AZ": "America/Phoenix",
    "AR": "America/Chicago",
    "CA": "America/Los_Angeles",
    "CO": "America/Denver",
    "CT": "America/New_York",
    "DE": "America/New_York",
    "DC": "America/New_York",
    "FL": "America/New_York",
    "GA": "America/New_York",
    "HI": "Pacific/Honolulu",
    "ID": "America/Boise",
    "IL": "America/Chicago",
    "IN": "America/Indiana/Indianapolis",
    "IA": "America/Chicago",
    "KS": "America/Chicago",
    "KY": "America/New_York",
    "LA": "America/Chicago",
    "ME": "America/New_York",
    "MD": "America/New_York",
    "MA": "America/New_York",
    "MI": "America/Detroit",
    "MN": "America/Chicago",
    "MS": "America/Chicago",
    "MO": "America/Chicago",
    "MT": "America/Denver",
    "NE": "America/Chicago",
    "NV": "America/Los_Angeles",
    "NH": "America/New_York",
    "NJ": "America/New_York",
    "NM": "America/Denver",
    "NY": "America/New_York",
    "NC": "America/New_York",
    "ND": "America/Chicago",
    "OH": "America/New_York",
    "OK": "America/Chicago",
    "OR": "America/Los_Angeles",
    "PA": "America/New_York",
    "RI": "America/New_York",
    "SC": "America/New_York",
    "SD": "America/Chicago",
    "TN": "America/Chicago",
    "TX": "America/Chicago",
    "UT": "America/Denver",
    "VT": "America/New_York",
    "VA": "America/New_York",
    "WA": "America/Los_Angeles",
    "WV": "America/New_York",
    "WI": "America/Chicago",
    "WY": "America/Denver",
    "PR": "America/Puerto_Rico",
}
STATE_NAMES: Dict[str, str] = {
    "alabama": "AL",
    "alaska": "AK",
    "arizona": "AZ",
    "arkansas": "AR",
    "california": "CA",
    "colorado": "CO",
    "connecticut": "CT",
    "delaware": "DE",
    "district of columbia": "DC",
    "washington dc": "DC",
    "washington d c": "DC",
    "florida": "FL",
    "georgia": "GA",
    "hawaii": "HI",
    "idaho": "ID",
    "illinois": "IL",
    "indiana": "IN",
    "iowa": "IA",
    "kansas": "KS",
    "kentucky": "KY",
    "louisiana": "LA",
    "maine": "ME",
    "maryland": "MD",
    "massachusetts": "MA",
    "michigan": "MI",
    "minnesota": "MN",
    "mississippi": "MS",
    "missouri": "MO",
    "montana": "MT",
    "nebraska": "NE",
    "nevada": "NV",
    "new hampshire": "NH",
    "new jersey": "NJ",
    "new mexico": "NM",
    "new york": "NY",
    "north carolina": "NC",
    "north dakota": "ND",
    "ohio": "OH",
    "oklahoma": "OK",
    "oregon": "OR",
    "pennsylvania": "PA",
    "rhode island": "RI",
    "south carolina": "SC",
    "south dakota": "SD",
    "tennessee": "TN",
    "texas": "TX",
    "utah": "UT",
    "vermont": "VT",
    "virginia": "VA",
    "washington": "WA",
    "washington state": "WA",
    "west virginia": "WV",
    "wisconsin": "WI",
    "wyoming": "WY",
    "puerto rico": "PR",
}
# Time-zone words and abbreviations. Checked before state codes, so "CT" / "MT" read as
# Central / Mountain Time (what people mean when asked for a time zone).
ZONE_WORDS: Dict[str, str] = {
    "eastern": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "et": "America/New_York",
    "east coast": "America/New_York",
    "central": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "ct": "America/Chicago",
    "mountain": "America/Denver",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "mt": "America/Denver",
    "pacific": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pt": "America/Los_Angeles",
    "west coast": "America/Los_Angeles",
    "alaska": "America/Anchorage",
    "akst": "America/Anchorage",
    "akdt": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "hst": "Pacific/Honolulu",
    "hawaii aleutian": "Pacific/Honolulu",
    "atlantic": "America/Puerto_Rico",
    "ast": "America/Puerto_Rico",
    "arizona": "America/Phoenix",
    "utc": "UTC",
    "gmt": "UTC",
}
TZ_HELP = (
    "Which time zone are you in? You can say Eastern, Central, Mountain or Pacific, "
    "or just your state."
)


def zone_for_state(text: str) -> str:
    """ "TX" / "Texas" -> "America/Chicago". Raises NotUnderstood for anything else."""
    key = " ".join(re.sub(r"[^a-z ]", " ", (text or "").lower()).split())
    code = key.upper() if len(key) == 2 else STATE_NAMES.get(key)
    if code in STATE_ZONES:
        return STATE_ZONES[code]
    raise NotUnderstood("Please tell me the US state you live in, like Texas or TX.")


@lru_cache(maxsize=1)
def _iana() -> Dict[str, str]:
    """Lower-cased IANA names and their city part ("denver", "new york") -> zone."""
    names: Dict[str, str] = {}
    for name in available_timezones():
        names[name.lower()] = name
    for name in sorted(available_timezones()):
        if name.startswith("America/") or name.startswith("Pacific/Honolulu"):
            city = name.rsplit("/", 1)[-1].replace("_", " ").lower()
            names.setdefault(city, name)
    return names


def parse_time_zone(text: str) -> str:
    """ "central", "CST", "eastern time", "pacific", "America/Denver", "Texas", "TX",
    "Denver" -> an IANA zone. Raises NotUnderstood."""
    raw = (text or "").strip()
    if not raw:
        raise NotUnderstood(TZ_HELP)
    if raw.lower() in _iana() and "/" in raw:
        return _iana()[raw.lower()]
    key = " ".join(re.sub(r"[^a-z/ ]", " ", raw.lower()).split())
    for noise in (
        " standard time",
        " daylight time",
        " time zone",
        " timezone",
        " time",
        " zone",
        " standard",
        " daylight",
    ):
        if key.endswith(noise):
            key = key[: -len(noise)].strip()
    key = re.sub(r"^(in |on |the |i m in |im in |i am in )+", "", key).strip()
    if key in ZONE_WORDS:
        return ZONE_WORDS[key]
    try:
        return zone_for_state(key)
    except NotUnderstood:
        pass
    if key in _iana():
        return _iana()[key]
    raise NotUnderstood(TZ_HELP)


def parse_phone(text: str) -> str:
    """A US (or +country) phone number -> E.164 ("+15125550142"). Raises NotUnderstood."""
    raw = (text or "").strip()
    if sum(c.isdigit() for c in raw) < 7 or re.search(r"[A-Za-z]{2,}", raw.replace("ext", "")):
        raise NotUnderstood("Please type a phone number with the area code, like 512-555-0142.")
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise NotUnderstood("Please type a phone number with the area code, like 512-555-0142.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(text: str) -> str:
    """An email address, normalised (domain lower-cased). Raises NotUnderstood."""
    raw = (text or "").strip().strip("<>.,;")
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        raise NotUnderstood("Please type an email address, like name@example.com.") from None


def parse_dob(text: Union[str, date]) -> date:
    """A date of birth, read exactly as the insurance check reads it (bot.coverage), so a
    birth date that was accepted there also proves a booking here. Raises NotUnderstood."""
    from bot.coverage.parsing import parse_dob as parse_birth_date

    return text if isinstance(text, date) else parse_birth_date(text)


def format_slot(slot: Slot, tz: Union[str, ZoneInfo]) -> str:
    """ "Tue Nov 24, 2:00 PM CST": short enough for a button."""
    return format_time(slot.start, tz)


def format_time(moment: datetime, tz: Union[str, ZoneInfo]) -> str:
    """An aware moment as format_slot says a slot's start."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    local = moment.astimezone(zone)
    return f"{local:%a %b} {local.day}, {local.hour % 12 or 12}:{local:%M %p} {local.tzname()}"
