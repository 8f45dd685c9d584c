"""Understanding the answers to the coverage questions. Each parser returns a clean value or
raises NotUnderstood with a short, kind explanation of what is expected."""

from __future__ import annotations

import re
from datetime import date
from typing import Optional

from bot.dialog import NotUnderstood

from .payers import Payer, match_payer  # noqa: F401  (re-exported)

PLAN_TYPES = (
    "ppo",
    "hmo",
    "epo",
    "pos",
    "medicaid",
    "medicare",
    "tricare",
    "not_sure",
    "self_pay",
)
RELATIONS = ("self", "spouse", "child")


def _clean(text: str) -> str:
    text = (text or "").replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", text).strip()


def _has(text: str, *patterns: str) -> bool:
    return any(re.search(r"(?<![a-z0-9])" + p + r"(?![a-z0-9])", text) for p in patterns)


# --- plan type ----------------------------------------------------------------------------

# How people name each plan type, most specific first ("Medicare Advantage PPO" is Medicare;
# state Medicaid programs of the licensed states go by their own names).
PLAN_PATTERNS = (
    ("medicare", (r"medicare( advantage)?", r"medigap")),
    (
        "medicaid",
        (
            r"medicaid",
            r"medi cal",
            r"chip (plan|program|insurance|coverage)",
            r"soonercare",
            r"star (plus|kids|health)",
            r"healthy louisiana",
            r"arkids",
            r"centennial care",
            r"health first colorado",
            # More states' Medicaid and CHIP programs, as people name them.
            r"apple health",
            r"mass ?health",
            r"husky (health|a|b|c|d)",
            r"badger ?care",
            r"tenn ?care",
            r"kan ?care",
            r"hoosier healthwise",
            r"oregon health plan",
            r"ahcccs",
            r"peach ?care",
            r"maine ?care",
            r"nj family ?care",
            r"(on|has|have|with|through|thru) chip",
            r"state (insurance|health ?(insurance|plan|coverage))",
        ),
    ),
    (
        "tricare",
        (
            r"tri ?care",
            r"champ ?va",
            r"military (insurance|health ?(insurance|plan|coverage)|coverage)",
            r"va (insurance|benefits|health ?care|coverage|community care)",
        ),
    ),
    ("ppo", (r"ppos?", r"preferred provider( organi[sz]ation)?")),
    ("hmo", (r"hmos?", r"health maintenance( organi[sz]ation)?")),
    ("epo", (r"epos?", r"exclusive provider( organi[sz]ation)?")),
    ("pos", (r"pos", r"point of service")),
)


# State Medicaid programs whose names are also everyday words.
BARE_PROGRAM_NAMES = (r"chip", r"star")


def mentioned_plan(text: str) -> Optional[str]:
    """The plan type a message names ("do you take medicare?" -> "medicare"), or None."""
    t = _clean(text).lower().replace("-", " ")
    for code, patterns in PLAN_PATTERNS:
        if _has(t, *patterns):
            return code
    return None


def parse_plan_type(text: str) -> str:
    t = _clean(text).lower().replace("-", " ")
    if not t:
        raise NotUnderstood(
            "Please tell me your plan type: PPO, HMO, EPO, POS, Medicaid or Medicare, "
            "or say you're not sure."
        )
    if _has(
        t,
        r"self ?pay(ing)?",
        r"no insurance",
        r"not insured",
        r"uninsured",
        r"(don't|do not|dont) have (any )?insurance",
        r"without insurance",
        r"pay(ing)? (it )?(myself|out of pocket|cash)",
        r"cash",
        r"private pay",
    ):
        return "self_pay"
    plan = mentioned_plan(t)
    if plan:
        return plan
    # As the answer to "what plan type?", a bare program name is a plan ("STAR", "CHIP");
    # inside a question it is an ordinary word ("can we chip in?"), so mentioned_plan skips it.
    if _has(t, *BARE_PROGRAM_NAMES):
        return "medicaid"
    if _has(
        t,
        r"not sure",
        r"unsure",
        r"(don't|do not|dont) know",
        r"idk",
        r"no idea",
        r"no clue",
        r"not certain",
        r"(can't|cannot|cant) remember",
        r"forgot",
        r"dunno",
        r"\?+",
    ):
        return "not_sure"
    raise NotUnderstood(
        "Sorry, I didn't catch the plan type. "
        "Is it a PPO, HMO, EPO, POS, Medicaid or Medicare plan? "
        "It's fine to say you're not sure."
    )


# --- member ID ----------------------------------------------------------------------------

_ID_LEAD = re.compile(
    r"^(?:(?:it'?s|it is|my|the|our)\s+)*"
    r"(?:(?:member|subscriber|policy|insurance|insured|card)\s*)*"
    r"(?:id|identification|number|no\.?|#)?\s*(?:number|no\.?|#)?\s*(?:is|=|:)?\s*",
    re.I,
)


def parse_member_id(text: str) -> str:
    t = _clean(text)
    t = _ID_LEAD.sub("", t, count=1)
    compact = re.sub(r"[\s\-]+", "", t).rstrip(".").upper()
    if not compact:
        raise NotUnderstood(
            "Please type the member ID exactly as it appears on your insurance card."
        )
    if not re.fullmatch(r"[A-Z0-9]+", compact):
        raise NotUnderstood(
            "A member ID has only letters and numbers. Please type it as it appears on your card."
        )
    if not 5 <= len(compact) <= 20:
        raise NotUnderstood(
            "That looks too short or too long for a member ID "
            "(usually 5 to 20 letters and numbers). Could you check your card?"
        )
    if not re.search(r"\d", compact):
        raise NotUnderstood(
            "Member IDs usually include numbers. Please type it as it appears on your card."
        )
    return compact


# --- names --------------------------------------------------------------------------------

_NAME_LEAD = re.compile(
    r"^(?:(?:my|her|his|their)\s+(?:first\s+|last\s+|family\s+|given\s+)?name\s+is|"
    r"(?:first|last|family|given)\s+name\s*(?:is|:)?|it'?s|it is|i'?m|i am|this is|name\s*:)\s+",
    re.I,
)


def parse_name(text: str) -> str:
    t = _clean(text)
    t = _NAME_LEAD.sub("", t, count=1).strip().rstrip(".!")
    if not t:
        raise NotUnderstood("Please type the name as it appears on the insurance card.")
    if not re.fullmatch(r"[^\W\d_]+(?:[ '\-][^\W\d_]+)*", t):
        raise NotUnderstood(
            "Please type just the name, using letters (spaces, hyphens and apostrophes are fine)."
        )
    if len(t) > 35:
        raise NotUnderstood(
            "That's longer than a name usually is. Please type just this one name as on the card."
        )
    return t


# --- date of birth ------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}

_DOB_HELP = "Please type the date of birth as month/day/year, for example 04/27/1988."


def _year(y: int, digits: int, today: date) -> int:
    if digits == 2:
        y += 2000
        if y > today.year:
            y -= 100
    return y


def _make(y: int, m: int, d: int, today: date) -> date:
    try:
        value = date(y, m, d)
    except ValueError:
        raise NotUnderstood("That date doesn't exist on the calendar. " + _DOB_HELP) from None
    if value > today:
        raise NotUnderstood("That date is in the future. " + _DOB_HELP)
    if value == today:
        raise NotUnderstood("That's today's date. " + _DOB_HELP)
    if value.year < today.year - 120 or (
        value.year == today.year - 120 and (value.month, value.day) < (today.month, today.day)
    ):
        raise NotUnderstood("That's more than 120 years ago. " + _DOB_HELP)
    return value


def parse_dob(text: str, today: Optional[date] = None) -> date:
    """A date of birth. Numbers are read US-style (month/day/year) unless only day/month can
    be right (31/12/1990); ISO (1990-12-31) and 8-digit forms (12311990, 19901231), 6-digit
    MMDDYY (123190) and month names (Dec 31 1990, 31 December 1990) are understood."""
    today = today or date.today()
    t = _clean(text).lower()
    t = re.sub(
        r"^(?:(?:my|her|his|their|the)\s+)?"
        r"(?:date of birth|dob|birthday|birth date|born)\s*(?:is|:|on)?\s*",
        "",
        t,
    )
    t = re.sub(r"^(?:i was born|born)\s*(?:on|in)?\s*", "", t).strip().rstrip(".")
    if not t:
        raise NotUnderstood(_DOB_HELP)
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", t)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]), today)
    m = re.fullmatch(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4}|\d{2})", t) or re.fullmatch(
        r"(\d{1,2}) (\d{1,2}) (\d{4})", t
    )
    if m:
        a, b, y = int(m[1]), int(m[2]), _year(int(m[3]), len(m[3]), today)
        if a > 12 and b <= 12:  # only day/month makes sense
            a, b = b, a
        return _make(y, a, b, today)
    if re.fullmatch(r"\d{8}", t):
        if (
            t[:2] in ("19", "20")
            and int(t[4:6]) <= 12
            and not (int(t[:2]) <= 12 and 1 <= int(t[2:4]) <= 31 and t[4:6] in ("19", "20"))
        ):
            return _make(int(t[:4]), int(t[4:6]), int(t[6:]), today)  # YYYYMMDD
        return _make(int(t[4:]), int(t[:2]), int(t[2:4]), today)  # MMDDYYYY
    if re.fullmatch(r"\d{6}", t):
        return _make(_year(int(t[4:]), 2, today), int(t[:2]), int(t[2:4]), today)  # MMDDYY
    words = re.findall(r"[a-z]+|\d+", t)
    months = [w for w in words if w in _MONTHS]
    if len(months) == 1:
        month = _MONTHS[months[0]]
        nums = [w for w in re.findall(r"\d+(?:st|nd|rd|th)?", t)]
        nums = [int(re.sub(r"\D", "", n)) for n in nums]
        rest = [
            w
            for w in words
            if not w.isdigit()
            and w not in _MONTHS
            and w not in ("st", "nd", "rd", "th", "of", "the")
        ]
        if len(nums) == 2 and not rest:
            digits = re.findall(r"\d+", t)
            if len(digits[1]) in (2, 4) and (len(digits[1]) == 4 or nums[0] <= 31):
                day, year, ydigits = nums[0], nums[1], len(digits[1])
                if len(digits[0]) == 4:  # 1990 Dec 31
                    day, year, ydigits = nums[1], nums[0], 4
                return _make(_year(year, ydigits, today), month, day, today)
    raise NotUnderstood("Sorry, I couldn't read that date. " + _DOB_HELP)


# --- relation to the policy holder --------------------------------------------------------

_SPOUSE = (
    r"wife'?s?",
    r"wifey'?s?",
    r"husband'?s?",
    r"hubby'?s?",
    r"spouse'?s?",
    r"partner'?s?",  # domestic, life, civil partner too
    r"fianc[eé]e?'?s?",
    r"significant other'?s?",
    r"(better|other) half'?s?",
    r"common ?law",
    r"girlfriend'?s?",
    r"boyfriend'?s?",
    r"married",
)
_CHILD = (
    r"mom'?s?",
    r"mum'?s?",
    r"mother'?s?",
    r"dad'?s?",
    r"father'?s?",
    r"parents?'?s?",
    r"step ?(mom|dad|mother|father|parent)'?s?",
    r"guardian'?s?",
    r"child",
    r"son",
    r"daughter",
    r"kid",
    r"mama'?s?",
    r"papa'?s?",
)
_SELF = (
    r"me",
    r"myself",
    r"mine",
    r"self",
    r"my own",
    r"policy ?holder",
    r"subscriber",
    r"primary( (member|holder|subscriber|insured))?",
    r"(i'?m|i am) (the )?(main|primary) (one|member|holder|person)",
    r"employee",
    r"my (plan|insurance|policy|job|employer|work|company|card)",
    r"(under|in) my (own )?name",
    r"through work",
    r"i have it",
    r"it'?s me",
    r"yes",
)
_NOT_SURE = (
    r"not sure",
    r"unsure",
    r"(don't|do not|dont) know",
    r"idk",
    r"no idea",
    r"not certain",
)
# "not mine", "it isn't my husband's": what a person says it is not, left out before reading.
_NEGATED = re.compile(
    r"(?<![a-z0-9])(?:not|isn'?t|is not|wasn'?t|aren'?t)\s+"
    r"(?:(?:my|the|our|his|her|their)\s+)?(?:own\s+)?[a-z]+(?:'s|s'|')?",
)
_ASK = "Whose plan is it: yours, your spouse's or partner's, or a parent's?"


def parse_relation(text: str) -> str:
    """Who holds the policy, from the patient's side: self, spouse (a spouse's or partner's
    plan: married, domestic or life partner) or child (a parent's plan). What the person
    says it is not ("not mine, my wife's") is left out."""
    t = _clean(text).lower()
    if not t:
        raise NotUnderstood(_ASK)
    if _has(t, *_NOT_SURE):
        raise NotUnderstood(
            "That's okay. The policyholder is the person the plan is in the name of, usually "
            "shown on the card as the subscriber or member. Is that you, your spouse or "
            "partner, or a parent?"
        )
    t = _NEGATED.sub(" ", t)
    if _has(t, *_SPOUSE):
        return "spouse"
    if _has(t, *_CHILD):
        return "child"
    if _has(t, *_SELF):
        return "self"
    if _has(t, r"dependent'?s?", r"dependant'?s?"):
        raise NotUnderstood(
            "Whose plan are you a dependent on: your spouse's or partner's, or a parent's?"
        )
    raise NotUnderstood(
        "Sorry, whose plan is it? You can say "
        '"mine", "my spouse\'s or partner\'s" or "my parent\'s".'
    )
