"""X12 code lists every reader shares, once: what a code means in the standard, never what a service does about it.

* AAA03 reject reasons (element 901), sent in 271 and 278 responses (and PAS errors) when a request could not be
  processed: ``reject_reason(code) -> (description, category)``. The category groups the codes by what has to be
  fixed (the member id, the provider, the dates ...), so a service can route them without listing codes.
* AAA04 follow-up actions (element 889): ``follow_up_action(code) -> (description, category)``; the category says
  whether the request may be sent again (``correct``, ``resubmit``), later (``wait``) or not at all
  (``do_not_resubmit``).

An unknown code stays readable (``Reject reason 9Z``, category ``other``) instead of failing a reader: payers send
codes from later releases. What a service then does (eligibility's next action, authorizations' field to fix)
lives in that service's domain.
"""

from __future__ import annotations

# Reject reason categories: what the sender has to look at.
PAYER_UNAVAILABLE = "payer_unavailable"  # nothing wrong with the request: the payer could not answer now
MEMBER_ID = "member_id"
MEMBER_NOT_FOUND = "member_not_found"
MEMBER_DATA = "member_data"  # name, birth date, gender
PROVIDER = "provider"  # the provider's identification, name, address ... as sent
PROVIDER_NOT_ELIGIBLE = "provider_not_eligible"  # the provider as such (network, enrollment, access)
DATES = "dates"
REQUEST_DATA = "request_data"  # the service, codes or other application data of the request
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

# Follow-up action categories: may the request go again, and when.
CORRECT = "correct"  # fix what the reject reason names, then send again
RESUBMIT = "resubmit"  # may be sent again as it is
WAIT = "wait"  # send again later
DO_NOT_RESUBMIT = "do_not_resubmit"
NONE = "none"  # no follow-up action given

FOLLOW_UP_ACTIONS: dict[str, tuple[str, str]] = {
    "C": ("Please correct and resubmit", CORRECT),
    "N": ("Resubmission not allowed", DO_NOT_RESUBMIT),
    "P": ("Please resubmit original transaction", WAIT),
    "R": ("Resubmission allowed", RESUBMIT),
    "S": ("Do not resubmit; inquiry initiated to a third party", DO_NOT_RESUBMIT),
    "W": ("Please wait 30 days and resubmit", WAIT),
    "X": ("Please wait 10 days and resubmit", WAIT),
    "Y": ("Do not resubmit; we will hand deliver or mail the response", DO_NOT_RESUBMIT),
}


def reject_reason(code: str) -> tuple[str, str]:
    """(description, category) of an AAA03 reject reason; an unknown code is named, in category ``other``."""
    return REJECT_REASONS.get(code, (f"Reject reason {code}", OTHER))


def follow_up_action(code: str) -> tuple[str, str]:
    """(description, category) of an AAA04 follow-up action; none given (or unknown) is ``("", "none")``."""
    return FOLLOW_UP_ACTIONS.get(code, ("", NONE))
