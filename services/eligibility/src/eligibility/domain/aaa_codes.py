"""AAA reject reason codes (X12 element 901) and follow-up action codes (element 889) as used in 271s.

These are the standard's code meanings, not payer rules; what we *do* with a category is in ``next_action_for``.
"""

from __future__ import annotations

from eligibility.domain.model import NextAction

# category names group codes by what the front desk has to fix
PAYER_UNAVAILABLE = "payer_unavailable"
MEMBER_ID = "member_id"
MEMBER_NOT_FOUND = "member_not_found"
MEMBER_DATA = "member_data"
PROVIDER = "provider"
PROVIDER_NOT_ELIGIBLE = "provider_not_eligible"
DATES = "dates"
REQUEST_DATA = "request_data"
OTHER = "other"

REJECT_REASONS: dict[str, tuple[str, str]] = {
    "04": ("Authorized quantity exceeded", REQUEST_DATA),
    "15": ("Required application data missing", REQUEST_DATA),
    "33": ("Input errors", REQUEST_DATA),
    "35": ("Out of network", PROVIDER_NOT_ELIGIBLE),
    "41": ("Authorization/access restrictions", PROVIDER_NOT_ELIGIBLE),
    "42": ("Unable to respond at current time", PAYER_UNAVAILABLE),
    "43": ("Invalid/missing provider identification", PROVIDER),
    "44": ("Invalid/missing provider name", PROVIDER),
    "45": ("Invalid/missing provider specialty", PROVIDER),
    "46": ("Invalid/missing provider phone number", PROVIDER),
    "47": ("Invalid/missing provider state", PROVIDER),
    "48": ("Invalid/missing referring provider identification number", PROVIDER),
    "49": ("Provider is not primary care physician", PROVIDER_NOT_ELIGIBLE),
    "50": ("Provider ineligible for inquiries", PROVIDER_NOT_ELIGIBLE),
    "51": ("Provider not on file", PROVIDER_NOT_ELIGIBLE),
    "52": ("Service dates not within provider plan enrollment", PROVIDER_NOT_ELIGIBLE),
    "53": ("Inquired benefit inconsistent with provider type", REQUEST_DATA),
    "54": ("Inappropriate product/service ID qualifier", REQUEST_DATA),
    "55": ("Inappropriate product/service ID", REQUEST_DATA),
    "56": ("Inappropriate date", DATES),
    "57": ("Invalid/missing date(s) of service", DATES),
    "58": ("Invalid/missing date-of-birth", MEMBER_DATA),
    "60": ("Date of birth follows date(s) of service", DATES),
    "61": ("Date of death precedes date(s) of service", DATES),
    "62": ("Date of service not within allowable inquiry period", DATES),
    "63": ("Date of service in future", DATES),
    "64": ("Invalid/missing patient ID", MEMBER_ID),
    "65": ("Invalid/missing patient name", MEMBER_DATA),
    "66": ("Invalid/missing patient gender code", MEMBER_DATA),
    "67": ("Patient not found", MEMBER_NOT_FOUND),
    "68": ("Duplicate patient ID number", MEMBER_ID),
    "69": ("Inconsistent with patient's age", REQUEST_DATA),
    "70": ("Inconsistent with patient's gender", REQUEST_DATA),
    "71": ("Patient birth date does not match that for the patient on the database", MEMBER_DATA),
    "72": ("Invalid/missing subscriber/insured ID", MEMBER_ID),
    "73": ("Invalid/missing subscriber/insured name", MEMBER_DATA),
    "74": ("Invalid/missing subscriber/insured gender code", MEMBER_DATA),
    "75": ("Subscriber/insured not found", MEMBER_NOT_FOUND),
    "76": ("Duplicate subscriber/insured ID number", MEMBER_ID),
    "77": ("Subscriber found, patient not found", MEMBER_NOT_FOUND),
    "78": ("Subscriber/insured not in group/plan identified", MEMBER_NOT_FOUND),
    "79": ("Invalid participant identification", PROVIDER),
    "80": ("No response received - transaction terminated", PAYER_UNAVAILABLE),
    "97": ("Invalid or missing provider address", PROVIDER),
    "98": ("Experimental service or procedure", REQUEST_DATA),
    "AA": ("Authorization number not found", REQUEST_DATA),
    "AE": ("Requires primary care physician authorization", REQUEST_DATA),
    "AF": ("Invalid/missing diagnosis code(s)", REQUEST_DATA),
    "AG": ("Invalid/missing procedure code(s)", REQUEST_DATA),
    "AO": ("Additional patient condition information required", REQUEST_DATA),
    "CI": ("Certification information does not match patient", REQUEST_DATA),
    "E8": ("Requires medical review", REQUEST_DATA),
    "IA": ("Invalid authorization number format", REQUEST_DATA),
    "MA": ("Missing authorization", REQUEST_DATA),
    "T4": ("Payer name or identifier missing", REQUEST_DATA),
}

FOLLOW_UP_ACTIONS: dict[str, str] = {
    "C": "Please correct and resubmit",
    "N": "Resubmission not allowed",
    "P": "Please resubmit original transaction",
    "R": "Resubmission allowed",
    "S": "Do not resubmit; inquiry initiated to a third party",
    "W": "Please wait 30 days and resubmit",
    "X": "Please wait 10 days and resubmit",
    "Y": "Do not resubmit; we will hand deliver the response",
}

_DO_NOT_RESUBMIT = frozenset({"N", "S", "Y"})
_WAIT = frozenset({"P", "W", "X"})

_BY_CATEGORY: dict[str, NextAction] = {
    PAYER_UNAVAILABLE: NextAction.RETRY_LATER,
    MEMBER_ID: NextAction.CORRECT_AND_RESEND,
    MEMBER_NOT_FOUND: NextAction.CORRECT_AND_RESEND,
    MEMBER_DATA: NextAction.CORRECT_AND_RESEND,
    PROVIDER: NextAction.CORRECT_AND_RESEND,
    PROVIDER_NOT_ELIGIBLE: NextAction.CONTACT_PAYER,
    DATES: NextAction.CORRECT_AND_RESEND,
    REQUEST_DATA: NextAction.CORRECT_AND_RESEND,
    OTHER: NextAction.CONTACT_PAYER,
}


def describe(code: str) -> tuple[str, str]:
    """(description, category) for an AAA03 code; unknown codes stay readable instead of failing."""
    return REJECT_REASONS.get(code, (f"Reject reason {code}", OTHER))


def is_retryable(category: str, follow_up_code: str) -> bool:
    if follow_up_code in _DO_NOT_RESUBMIT:
        return False
    return category == PAYER_UNAVAILABLE or follow_up_code in _WAIT


def next_action_for(category: str, follow_up_code: str) -> NextAction:
    if follow_up_code in _DO_NOT_RESUBMIT:
        return NextAction.CONTACT_PAYER
    if category == PAYER_UNAVAILABLE or follow_up_code in _WAIT:
        return NextAction.RETRY_LATER
    return _BY_CATEGORY.get(category, NextAction.CONTACT_PAYER)
