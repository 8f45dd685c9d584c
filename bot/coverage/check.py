"""One coverage check: build the Stedi request(s), call the clearinghouse, interpret."""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any, Dict, List, Optional, Tuple

from .client import ClearinghouseError, EligibilityClient
from .interpret import BH_OUTPATIENT_STCS, CoverageResult, interpret
from .payers import Payer

log = logging.getLogger("bot.coverage")


@dataclass(frozen=True)
class CoverageRequest:
    payer: Payer
    plan_type: str
    member_id: str  # the policy holder's (subscriber's) member ID
    first_name: str  # the policy holder
    last_name: str
    dob: date
    relation: str = "self"  # the patient's relation to the policy holder: self/spouse/child
    patient_first_name: Optional[str] = None  # for a dependent (relation spouse/child)
    patient_last_name: Optional[str] = None
    patient_dob: Optional[date] = None

    @property
    def dependent_dob(self) -> Optional[date]:
        """The patient's date of birth when the patient is a dependent, else None."""
        return self.patient_dob if self.relation != "self" else None

    @property
    def is_dependent(self) -> bool:
        return self.dependent_dob is not None

    @property
    def dependent_name(self) -> Optional[Tuple[str, str]]:
        """The (first, last) name the request gives the dependent; None for the policyholder."""
        if not self.is_dependent:
            return None
        return (
            self.patient_first_name or self.first_name,
            self.patient_last_name or self.last_name,
        )

    def summary(self) -> Dict[str, Any]:
        """What is stored (encrypted) about the request: the minimum to follow up."""
        out: Dict[str, Any] = {
            "payer_id": self.payer.payer_id,
            "payer_name": self.payer.name,
            "plan_type": self.plan_type,
            "member_id": self.member_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "dob": self.dob.isoformat(),
            "relation": self.relation,
        }
        patient_dob = self.dependent_dob
        if patient_dob is not None:
            out.update(
                patient_first_name=self.patient_first_name,
                patient_last_name=self.patient_last_name,
                patient_dob=patient_dob.isoformat(),
            )
        return out

    def __repr__(self) -> str:  # never print PHI by accident (logs, tracebacks, pytest output)
        return (
            f"CoverageRequest(payer={self.payer.payer_id!r}, plan_type={self.plan_type!r}, "
            f"relation={self.relation!r})"
        )

    __str__ = __repr__


def control_number() -> str:
    return f"{secrets.randbelow(10**9):09d}"


def build_payload(
    request: CoverageRequest, client: EligibilityClient, service_type: str = "30"
) -> Dict[str, Any]:
    """A Stedi Real-Time Eligibility Check JSON request. Dependents go in `dependents` (one
    per check), with the policy holder in `subscriber`, as Stedi recommends.

    The dependent's relationship (`individualRelationshipCode`, the 270's 2100D INS segment)
    is not sent: with the member ID, the dependent's name and date of birth (X12's primary
    search option, what we always send) the 005010X279 TR3 prohibits it (X12 RFI 922). Being
    in `dependents` is what tells the payer the patient is a dependent; the 271 names the
    relation back (`relationToSubscriberCode`, read by interpret)."""
    payload: Dict[str, Any] = {
        "controlNumber": control_number(),
        "tradingPartnerServiceId": request.payer.payer_id,
        "provider": client.provider,
        "subscriber": {
            "memberId": request.member_id,
            "firstName": request.first_name,
            "lastName": request.last_name,
            "dateOfBirth": request.dob.strftime("%Y%m%d"),
        },
        "encounter": {"serviceTypeCodes": [service_type]},
    }
    patient_dob = request.dependent_dob
    if patient_dob is not None:
        payload["dependents"] = [
            {
                "firstName": request.patient_first_name or request.first_name,
                "lastName": request.patient_last_name or request.last_name,
                "dateOfBirth": patient_dob.strftime("%Y%m%d"),
            }
        ]
    return payload


def _merge(base: Dict[str, Any], extra: List[Dict[str, Any]]) -> Dict[str, Any]:
    merged = dict(base)
    info = list(base.get("benefitsInformation") or [])
    for resp in extra:
        info.extend(resp.get("benefitsInformation") or [])
    merged["benefitsInformation"] = info
    return merged


def check_coverage(request: CoverageRequest, client: EligibilityClient) -> CoverageResult:
    """Start with service type 30 (health benefit plan coverage: payers must include MH
    benefits when the plan has them). If the answer carries no outpatient behavioural-health
    benefits, ask again for MH (mental health) and AI (substance abuse), one service type per
    request, in parallel; their benefits are added to the first answer."""
    name, ptype, dependent = request.payer.name, request.plan_type, request.dependent_name
    try:
        first = client.check(build_payload(request, client, "30"))
    except ClearinghouseError as exc:
        return CoverageResult(
            status="unavailable", reason=exc.reason, payer_name=name, plan_type=ptype
        )
    result = interpret(first, payer_name=name, plan_type=ptype, dependent=dependent)
    if result.status != "active" or result.has_bh_benefits or result.carve_out:
        return result
    extra: List[Dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(client.check, build_payload(request, client, stc)) for stc in ("MH", "AI")
        ]
        for fut in futures:
            try:
                resp = fut.result()
            except ClearinghouseError as exc:
                log.info("coverage follow-up query failed: %s", exc.reason)
                continue
            if interpret(resp).status == "active" or any(
                set(e.get("serviceTypeCodes") or []) & BH_OUTPATIENT_STCS
                for e in resp.get("benefitsInformation") or []
            ):
                extra.append(resp)
    if not extra:
        return result
    return interpret(_merge(first, extra), payer_name=name, plan_type=ptype, dependent=dependent)
