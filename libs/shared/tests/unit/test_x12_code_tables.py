"""X12 code tables: one meaning per code for every reader; unknown codes stay readable."""

from __future__ import annotations

import pytest
from rcm_shared.x12 import code_tables
from rcm_shared.x12.code_tables import follow_up_action, reject_reason

REJECT_CATEGORIES = {code_tables.PAYER_UNAVAILABLE, code_tables.MEMBER_ID, code_tables.MEMBER_NOT_FOUND,
                     code_tables.MEMBER_DATA, code_tables.PROVIDER, code_tables.PROVIDER_NOT_ELIGIBLE,
                     code_tables.DATES, code_tables.REQUEST_DATA, code_tables.OTHER}
FOLLOW_UP_CATEGORIES = {code_tables.CORRECT, code_tables.RESUBMIT, code_tables.WAIT, code_tables.DO_NOT_RESUBMIT}


@pytest.mark.parametrize(("code", "expected"), [
    ("42", ("Unable to respond at current time", code_tables.PAYER_UNAVAILABLE)),
    ("72", ("Invalid/missing subscriber/insured ID", code_tables.MEMBER_ID)),
    ("75", ("Subscriber/insured not found", code_tables.MEMBER_NOT_FOUND)),
    ("AG", ("Invalid/missing procedure code(s)", code_tables.REQUEST_DATA)),
])
def test_a_reject_reason_reads_as_its_description_and_category(code: str, expected: tuple[str, str]) -> None:
    assert reject_reason(code) == expected


def test_an_unknown_reject_reason_is_named_not_refused() -> None:
    assert reject_reason("9Z") == ("Reject reason 9Z", code_tables.OTHER)


def test_follow_up_actions_say_whether_to_send_again() -> None:
    assert follow_up_action("C") == ("Please correct and resubmit", code_tables.CORRECT)
    assert {follow_up_action(code)[1] for code in "NSY"} == {code_tables.DO_NOT_RESUBMIT}
    assert {follow_up_action(code)[1] for code in "PWX"} == {code_tables.WAIT}
    assert follow_up_action("") == ("", code_tables.NONE)
    assert follow_up_action("Q") == ("", code_tables.NONE)


def test_every_code_is_two_characters_with_a_known_category_and_a_description() -> None:
    for code, (description, category) in code_tables.REJECT_REASONS.items():
        assert len(code) == 2 and code.isalnum() and code.upper() == code
        assert description and category in REJECT_CATEGORIES
    for code, (description, category) in code_tables.FOLLOW_UP_ACTIONS.items():
        assert len(code) == 1 and description and category in FOLLOW_UP_CATEGORIES
