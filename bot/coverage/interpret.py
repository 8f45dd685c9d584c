"""Reading a Stedi (Change-Healthcare-compatible) JSON 271 eligibility response: what it
means for outpatient mental health and substance use care, as a CoverageResult. Saying it in
plain words is bot.coverage.wording's job.

Pure functions: no I/O, no logging. Field names follow Stedi's Real-Time Eligibility Check
JSON endpoint (`planStatus`, `benefitsInformation[]` with `code`, `serviceTypeCodes`,
`inPlanNetworkIndicatorCode`, `timeQualifierCode`, `benefitAmount`, `benefitPercent`,
`authOrCertIndicator`, `benefitsRelatedEntities`, `errors[]` with AAA `code`s).

When the patient is a dependent on someone else's plan (a spouse, partner or child), the
request names the policyholder in `subscriber` and the patient in `dependents`; the
response's `benefitsInformation` is then the dependent's, `dependents[0]` names them with
`relationToSubscriberCode` (01 spouse, 19 child, 53 life partner), and a rejection about the
dependent sits in `dependents[].aaaErrors` (and the top-level `errors`, location Loop 2100D):
it concerns the patient's own name and date of birth, never the policyholder's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

# Service type codes (X12 005010) for outpatient behavioural health: mental health,
# psychiatric, psychotherapy, psychiatric outpatient, substance abuse, alcoholism, drug
# addiction, mental health / substance abuse facility outpatient.
BH_OUTPATIENT_STCS = frozenset({"MH", "A4", "A6", "A8", "AI", "AJ", "AK", "CF", "CH"})
# Every behavioural-health STC, inpatient included (for carve-outs and "has BH benefits").
BH_STCS = BH_OUTPATIENT_STCS | {"A5", "A7", "BB", "BC", "CE", "CG"}
SUD_STCS = frozenset({"AI", "AJ", "AK", "CG", "CH"})
PLAN_STC = "30"

# AAA reject reasons -> (status, error_field, reason)
AAA_FIELD = {
    "71": (
        "error",
        "dob",
        "dob_mismatch",
    ),  # Patient Birth Date Does Not Match That for the Patient on the Database
    "58": ("error", "dob", "dob_invalid"),  # Invalid/Missing Date-of-Birth
    "72": ("error", "member_id", "member_id_invalid"),  # Invalid/Missing Subscriber/Insured ID
    "64": ("error", "member_id", "member_id_invalid"),  # Invalid/Missing Patient ID
    "75": ("error", "member_id", "not_found"),  # Subscriber/Insured Not Found
    "67": ("error", "member_id", "not_found"),  # Patient Not Found
    "73": ("error", "name", "name_mismatch"),  # Invalid/Missing Subscriber/Insured Name
    "65": ("error", "name", "name_mismatch"),  # Invalid/Missing Patient Name
    "76": ("error", "person", "duplicate"),  # Duplicate Subscriber/Insured ID Number
    "68": ("error", "person", "duplicate"),  # Duplicate Patient ID Number
    "42": ("unavailable", None, "payer_unavailable"),  # Unable to Respond at Current Time
    "79": ("unavailable", None, "payer_unavailable"),  # Invalid Participant Identification
    "80": (
        "unavailable",
        None,
        "payer_unavailable",
    ),  # No Response received - Transaction Terminated
}
UNAVAILABLE_AAA = frozenset(c for c, v in AAA_FIELD.items() if v[0] == "unavailable")
# The same rejections about a dependent (Loop 2100D): the patient's own details, which the
# person answered about themselves, not the policyholder's. Codes not listed read as above.
DEPENDENT_AAA_FIELD = {
    "71": ("error", "patient_dob", "dob_mismatch"),
    "58": ("error", "patient_dob", "dob_invalid"),
    "65": ("error", "patient_name", "name_mismatch"),
    "73": ("error", "patient_name", "name_mismatch"),  # a subscriber code some payers send here
    "67": ("error", "patient", "not_found"),  # not on this plan under that name and birth date
    "68": ("error", "person", "duplicate"),  # Duplicate Patient ID Number
}
# relationToSubscriberCode (X12 INS02 in a 271) -> the patient's relation to the policyholder.
RELATION_CODES = {"01": "spouse", "19": "child", "53": "partner"}


def _dec(value: Any) -> Optional[Decimal]:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


@dataclass
class Range:
    low: Decimal
    high: Decimal

    @classmethod
    def of(cls, values: Iterable[Optional[Decimal]]) -> Optional["Range"]:
        """The range of the values given (None ignored); None when there are none."""
        vals = sorted(set(v for v in values if v is not None))
        return cls(vals[0], vals[-1]) if vals else None


@dataclass
class Benefits:
    """One network tier (in or out of network) for outpatient mental health / substance use."""

    deductible: Optional[Decimal] = None
    deductible_remaining: Optional[Decimal] = None
    oop_max: Optional[Decimal] = None
    oop_remaining: Optional[Decimal] = None
    copay: Optional[Range] = None  # dollars per visit
    coinsurance: Optional[Range] = None  # percent, 0-100

    def empty(self) -> bool:
        return all(v is None for v in asdict(self).values())


@dataclass
class CoverageResult:
    status: str  # active | inactive | error | unavailable
    reason: Optional[str] = None  # e.g. dob_mismatch, payer_unavailable, timeout
    error_field: Optional[str] = None  # dob | member_id | name | person | None
    aaa_code: Optional[str] = None
    payer_name: Optional[str] = None
    plan_type: Optional[str] = None
    plan_name: Optional[str] = None
    in_network: Optional[Benefits] = None
    out_of_network: Optional[Benefits] = None
    prior_auth_required: Optional[bool] = None
    carve_out: Optional[str] = None
    has_bh_benefits: bool = False
    has_sud_benefits: bool = False
    # The patient as a dependent on the policyholder's plan, as the insurer named them:
    # spouse | partner | child | other; None when the patient is the policyholder.
    patient_relation: Optional[str] = None

    @property
    def needs_followup(self) -> bool:
        """A coordinator should verify by hand (and contact the person)."""
        return (
            self.status == "unavailable"
            or bool(self.carve_out)
            or (self.status == "error" and self.error_field in (None, "person"))
            or (self.status == "active" and not self.has_bh_benefits)
            or self.reason == "dependent_not_confirmed"
        )

    def to_dict(self) -> Dict[str, Any]:
        """JSON-safe (Decimals as strings): what is stored, encrypted, with a check."""

        def conv(v: Any) -> Any:
            if isinstance(v, Decimal):
                return str(v)
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            return v

        return conv(asdict(self))

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "CoverageResult":
        def benefits(d: Optional[Dict[str, Any]]) -> Optional[Benefits]:
            if d is None:
                return None
            out: Dict[str, Any] = {}  # Decimal or Range values, None where absent
            for k, v in d.items():
                if isinstance(v, dict):
                    out[k] = Range(Decimal(v["low"]), Decimal(v["high"]))
                else:
                    out[k] = _dec(v)
            return Benefits(**out)

        data = dict(data)
        data["in_network"] = benefits(data.get("in_network"))
        data["out_of_network"] = benefits(data.get("out_of_network"))
        return cls(**data)


# --- reading the response -------------------------------------------------------------------


def aaa_errors(response: Dict[str, Any]) -> List[Tuple[str, bool]]:
    """(code, about the dependent) for every AAA reject code anywhere Stedi puts one:
    top-level `errors[]` and the `aaaErrors` of subscriber, dependents, provider and payer.
    A code is about the dependent when it sits in `dependents[].aaaErrors` or its location
    is the dependent's loop (2000D / 2100D)."""
    found: Dict[str, bool] = {}

    def add(items: Any, dependent: bool) -> None:  # whatever the JSON holds there
        if not isinstance(items, list):
            return
        for item in items:
            if isinstance(item, dict) and item.get("code") not in (None, ""):
                code = str(item["code"]).strip()
                loop = str(item.get("location") or "").upper()
                about = dependent or "2100D" in loop or "2000D" in loop
                found[code] = found.get(code, False) or about

    add(response.get("errors"), False)
    for key in ("subscriber", "provider", "payer"):
        part = response.get(key)
        if isinstance(part, dict):
            add(part.get("aaaErrors"), False)
    for dep in _dependents(response):
        add(dep.get("aaaErrors"), True)
    return list(found.items())


def aaa_codes(response: Dict[str, Any]) -> List[str]:
    """AAA reject codes anywhere Stedi puts them (see aaa_errors)."""
    return [code for code, _ in aaa_errors(response)]


def _dependents(response: Dict[str, Any]) -> List[Dict[str, Any]]:
    deps = response.get("dependents")
    return [d for d in deps if isinstance(d, dict)] if isinstance(deps, list) else []


def _reading(code: str, dependent: bool) -> Tuple[str, Optional[str], str]:
    """(status, error_field, reason) of an AAA code, about the dependent or not."""
    if dependent and code in DEPENDENT_AAA_FIELD:
        return DEPENDENT_AAA_FIELD[code]
    return AAA_FIELD.get(code, ("error", None, "rejected"))


def _relation(response: Dict[str, Any]) -> Optional[str]:
    """How the insurer names the patient's relation to the policyholder, if a dependent."""
    for dep in _dependents(response):
        code = str(dep.get("relationToSubscriberCode") or "").strip()
        if code in RELATION_CODES:
            return RELATION_CODES[code]
        if code or dep.get("relationToSubscriber"):
            return "other"
    return None


def _same_name(a: Any, b: Any) -> bool:
    def norm(v: Any) -> str:
        return " ".join(str(v or "").replace("’", "'").lower().split())

    return bool(norm(a)) and norm(a) == norm(b)


def _stcs(entry: Dict[str, Any]) -> Set[str]:
    return set(str(c) for c in entry.get("serviceTypeCodes") or [])


def _networks(entry: Dict[str, Any]) -> Tuple[str, ...]:
    code = entry.get("inPlanNetworkIndicatorCode")
    if code == "Y":
        return ("in",)
    if code == "N":
        return ("out",)
    if code == "W":  # not applicable: applies either way
        return ("in", "out")
    return ("in", "out") if code in (None, "", "U") else ()


def _level_rank(entry: Dict[str, Any]) -> int:
    # One person's figures first: individual; then employee, spouse, children or dependents
    # only (a dependent patient's own tier) and unstated; family and two-person tiers last.
    return {"IND": 0, None: 1, "": 1, "EMP": 1, "SPO": 1, "CHD": 1, "DEP": 1}.get(
        entry.get("coverageLevelCode"), 2
    )


def _pick(entries: List[Dict[str, Any]], codes: Iterable[str]) -> List[Dict[str, Any]]:
    codes = set(codes)
    return [e for e in entries if str(e.get("code")) in codes]


def _amount(entries: List[Dict[str, Any]], total: bool) -> Optional[Decimal]:
    """Deductible / out-of-pocket: the calendar- or plan-year total, or what is left (29)."""
    quals = (
        {"29"}
        if total is False
        else {"23", "22", "21", "24", "25", "26", "32", "33", "34", None, ""}
    )
    found: List[Tuple[int, Decimal]] = []  # (coverage level rank, amount)
    for e in entries:
        amount = _dec(e.get("benefitAmount"))
        if e.get("timeQualifierCode") in quals and amount is not None:
            found.append((_level_rank(e), amount))
    if not found:
        return None
    best = min(rank for rank, _ in found)
    # Several totals for the same tier (office vs outpatient hospital...): the largest is the
    # honest one to quote.
    return max(amount for rank, amount in found if rank == best)


def _tier(bh: List[Dict[str, Any]], plan: List[Dict[str, Any]], network: str) -> Benefits:
    def of(entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return [e for e in entries if network in _networks(e)]

    bh_n, plan_n = of(bh), of(plan)
    b = Benefits()
    for code, total_attr, left_attr in (
        ("C", "deductible", "deductible_remaining"),
        ("G", "oop_max", "oop_remaining"),
    ):
        src = _pick(bh_n, code) or _pick(plan_n, code)
        if (
            code == "G"
            and _pick(plan_n, code)
            and not any(e.get("timeQualifierCode") != "29" for e in _pick(bh_n, code))
        ):
            src = _pick(bh_n, code) + _pick(plan_n, code)  # out-of-pocket max is plan-wide
        setattr(b, total_attr, _amount(src, True))
        setattr(b, left_attr, _amount(src, False))
    copays = [
        _dec(e.get("benefitAmount")) for e in _pick(bh_n, "B") if e.get("timeQualifierCode") != "29"
    ]
    b.copay = Range.of(copays)
    coins: List[Decimal] = []
    for e in _pick(bh_n, "A") or _pick(plan_n, "A"):
        pct = _dec(e.get("benefitPercent"))
        if pct is not None:
            pct = pct * 100 if pct <= 1 else pct
            coins.append(
                pct.quantize(Decimal(1)) if pct == pct.to_integral_value() else pct.normalize()
            )
    b.coinsurance = Range.of(coins)
    return b


def _carve_out(entries: List[Dict[str, Any]]) -> Optional[str]:
    for e in entries:
        if str(e.get("code")) not in ("U", "1", "R", "P", "X"):
            continue
        for ent in e.get("benefitsRelatedEntities") or []:
            ident = (ent.get("entityIdentifier") or "").lower()
            if "primary care" in ident or ident in ("provider", "insured or subscriber"):
                continue
            name = (
                ent.get("entityName")
                or ent.get("entityOrganizationName")
                or ent.get("entityLastName")
            )
            if name:
                return str(name).strip().title() if str(name).isupper() else str(name).strip()
    return None


def interpret(
    response: Dict[str, Any],
    payer_name: Optional[str] = None,
    plan_type: Optional[str] = None,
    dependent: Optional[Tuple[str, str]] = None,
) -> CoverageResult:
    """What a 271 JSON response means for outpatient mental health and substance use care.

    `dependent`: the (first, last) name of the dependent the request asked about. A payer
    that does not support dependents may ignore one and answer for the policyholder; such an
    answer (no `dependents[]`, and a subscriber who is not the patient) is not read as the
    patient's coverage: reason `dependent_not_confirmed`, a coordinator confirms."""
    result = CoverageResult(status="error", payer_name=payer_name, plan_type=plan_type)
    if not isinstance(response, dict):
        result.status, result.reason = "unavailable", "malformed_response"
        return result
    errors = aaa_errors(response)
    if errors:
        # The most actionable code decides: a field the person can fix first.
        code, about_dependent = min(errors, key=lambda e: (_reading(*e)[1] is None, e[0]))
        status, field_, reason = _reading(code, about_dependent)
        result.status, result.error_field, result.reason, result.aaa_code = (
            status,
            field_,
            reason,
            code,
        )
        return result
    result.patient_relation = _relation(response)

    entries = [e for e in response.get("benefitsInformation") or [] if isinstance(e, dict)]
    statuses = [s for s in response.get("planStatus") or [] if isinstance(s, dict)]
    active = any(str(e.get("code")) == "1" for e in entries) or any(
        str(s.get("statusCode")) == "1" for s in statuses
    )
    inactive = any(str(e.get("code")) in ("6", "7", "8") for e in entries) or any(
        str(s.get("statusCode")) in ("6", "7", "8") for s in statuses
    )
    if not entries and not statuses:
        result.status, result.reason = "unavailable", "empty_response"
        return result
    if not active:
        result.status, result.reason = (
            ("inactive", "inactive") if inactive else ("unavailable", "no_status")
        )
        return result
    plan_active_30 = [e for e in entries if str(e.get("code")) == "1" and PLAN_STC in _stcs(e)]
    plan_inactive_30 = [e for e in entries if str(e.get("code")) == "6" and PLAN_STC in _stcs(e)]
    if plan_inactive_30 and not plan_active_30:
        result.status, result.reason = "inactive", "inactive"
        return result

    result.status = "active"
    result.plan_name = (
        next((s.get("planDetails") for s in statuses if s.get("planDetails")), None)
        or next((e.get("planCoverage") for e in entries if e.get("planCoverage")), None)
        or (response.get("planInformation") or {}).get("groupDescription")
    )

    bh = [e for e in entries if _stcs(e) & BH_OUTPATIENT_STCS]
    bh_any = [e for e in entries if _stcs(e) & BH_STCS]
    plan = [e for e in entries if PLAN_STC in _stcs(e)]
    result.has_bh_benefits = bool(bh)
    result.has_sud_benefits = any(_stcs(e) & SUD_STCS for e in bh_any)
    result.carve_out = _carve_out(bh_any)

    # Behavioural health explicitly not covered (code I, non-covered).
    if bh and all(str(e.get("code")) in ("I", "6") for e in bh):
        result.reason = "bh_not_covered"
    tiers: Dict[str, Optional[Benefits]] = {}
    for network in ("in", "out"):
        t = _tier(bh, plan, network)
        tiers[network] = None if t.empty() else t
    # "Out-of-network only": behavioural-health entries exist only without in-network ones.
    bh_networks = {n for e in bh for n in _networks(e)}
    if bh and bh_networks == {"out"}:
        tiers["in"] = None
        result.reason = result.reason or "out_of_network_only"
    result.in_network, result.out_of_network = tiers["in"], tiers["out"]
    auth = [
        e.get("authOrCertIndicator")
        for e in bh
        if e.get("authOrCertIndicator") and ("in" in _networks(e) or not tiers["in"])
    ]
    if "Y" in auth:
        result.prior_auth_required = True
    elif auth and all(a == "N" for a in auth):
        result.prior_auth_required = False
    if result.carve_out:
        result.reason = result.reason or "carve_out"
    elif not bh:
        result.reason = result.reason or "no_bh_detail"
    if dependent is not None and not _dependents(response):
        part = response.get("subscriber")
        sub: Dict[str, Any] = part if isinstance(part, dict) else {}
        if not (
            _same_name(sub.get("firstName"), dependent[0])
            and _same_name(sub.get("lastName"), dependent[1])
        ):  # the answer is about the policyholder: the patient's own coverage is unconfirmed
            result.reason = "dependent_not_confirmed"
    return result
