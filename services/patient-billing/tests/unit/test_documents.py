"""The patient documents without I/O: statements built from the ledger's items (holds, pending insurance, reasons
from CARCs, aging, amount due), the Good Faith Estimate clock in business days and the dispute watch, superbill
lines; and the PDFs read back with pypdf, field by field, with page 1 rendered to PNG for a person to look at."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from patient_billing.adapters.documents.estimate_pdf import render_estimate
from patient_billing.adapters.documents.samples import (
    sample_estimate,
    sample_statement,
    sample_superbill,
)
from patient_billing.adapters.documents.statement_pdf import render_statement
from patient_billing.adapters.documents.superbill_pdf import render_superbill
from patient_billing.bootstrap import load_document_rules
from patient_billing.domain.estimates import (
    EstimateRefused,
    check_dispute,
    course_end,
    due_by,
    queue_state,
    watch,
)
from patient_billing.domain.exceptions import InvalidAmount
from patient_billing.domain.ledger import Credit, EntryKind, OpenItem
from patient_billing.domain.statements import Hold, Party, build_statement, cycle_date, dollars
from patient_billing.domain.superbills import SuperbillVisit, VisitCoding, line_charges
from pypdf import PdfReader

RULES = load_document_rules()
POLICY = RULES.estimates.on(date(2026, 12, 1))
BUSINESS = RULES.calendar.default


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# -- statements ----------------------------------------------------------------------------------------------------


def test_the_sample_statement_demands_what_is_due_and_shows_what_is_held() -> None:
    s = sample_statement(RULES.statements)
    # 75.00 fee + 120.00 deductible/coinsurance + 10.00 copay left + 160.00 self-pay, 60.00 of it under dispute
    assert s.balance == 36_500 and s.not_demanded == {"gfe_dispute": 6_000} and s.amount_due == 30_500
    assert s.due_date == date(2026, 12, 22) and s.links_expire_on == date(2027, 1, 15)
    assert [ln.status for ln in s.lines] == ["due", "due", "due", "gfe_dispute"]
    assert s.pending_visits == ((date(2026, 11, 24), "Jordan Avery"),)
    assert "deductible" in s.lines[1].reason and "coinsurance" in s.lines[1].reason
    assert s.aging["91-120"] == 7_500 and s.aging["0-30"] == 17_000


def test_pending_insurance_is_shown_but_never_demanded() -> None:
    item = OpenItem("i1", "p1", date(2026, 11, 2), 5_000, 5_000, EntryKind.RESPONSIBILITY)
    s = build_statement(
        statement_id="s", practice=sample_statement(RULES.statements).practice, account_id="a", guarantor_id="p1",
        guarantor=Party("G"), statement_date=date(2026, 12, 1), period_start=date(2026, 11, 1),
        cycle=RULES.statements.cycle_on(date(2026, 12, 1)), open_items=[item], credits=[], balance=5_000,
        pending_visits=[("p1", date(2026, 11, 2))], item_facts={}, insurance={}, holds=[], activity=[],
        patient_names={}, rules=RULES.statements, payment_url="http://pay", portal_url="http://portal")
    assert s.amount_due == 0 and s.not_demanded == {"pending_insurance": 5_000}
    assert s.payment_url == "", "nothing to pay: no payment link"


def test_a_statement_refuses_items_that_disagree_with_the_balance() -> None:
    with pytest.raises(InvalidAmount):
        build_statement(
            statement_id="s", practice=sample_statement(RULES.statements).practice, account_id="a",
            guarantor_id="g", guarantor=Party("G"), statement_date=date(2026, 12, 1), period_start=date(2026, 11, 1),
            cycle=RULES.statements.cycle_on(date(2026, 12, 1)),
            open_items=[OpenItem("i", "p", date(2026, 11, 2), 100, 100, EntryKind.CHARGE)], credits=[],
            balance=99, pending_visits=[], item_facts={}, insurance={}, holds=[], activity=[], patient_names={},
            rules=RULES.statements, payment_url="", portal_url="")


@given(st.lists(st.integers(1, 50_000), min_size=0, max_size=6), st.integers(0, 40_000),
       st.lists(st.integers(0, 60_000), min_size=0, max_size=6))
def test_amount_due_is_the_balance_less_what_is_held_never_below_zero(opens: list[int], credit: int,
                                                                        holds: list[int]) -> None:
    items = [OpenItem(f"i{n}", "p", date(2026, 10, 1 + n), amount, amount, EntryKind.CHARGE)
             for n, amount in enumerate(opens)]
    credits = [Credit("c", "p", date(2026, 11, 1), credit)] if credit else []
    balance = sum(opens) - credit
    s = build_statement(
        statement_id="s", practice=sample_statement(RULES.statements).practice, account_id="a", guarantor_id="p",
        guarantor=Party("G"), statement_date=date(2026, 12, 1), period_start=date(2026, 11, 1),
        cycle=RULES.statements.cycle_on(date(2026, 12, 1)), open_items=items, credits=credits, balance=balance,
        pending_visits=[], item_facts={}, insurance={},
        holds=[Hold("payment_plan", f"i{n}", h) for n, h in enumerate(holds) if h and n < len(items)],
        activity=[], patient_names={}, rules=RULES.statements, payment_url="u", portal_url="p")
    held = sum(s.not_demanded.values())
    assert held <= sum(opens)
    assert s.amount_due == max(0, balance - held)
    assert sum(v for k, v in s.aging.items() if k != "credit") - credit == balance


def test_the_cycle_date_is_the_last_statement_day_on_or_before_today() -> None:
    assert cycle_date(1, date(2026, 12, 3)) == date(2026, 12, 1)
    assert cycle_date(15, date(2026, 12, 3)) == date(2026, 11, 15)
    assert cycle_date(28, date(2026, 3, 1)) == date(2026, 2, 28)
    assert dollars(-123_456) == "-$1,234.56" and dollars(5) == "$0.05"


# -- Good Faith Estimates ------------------------------------------------------------------------------------------


def test_an_estimate_is_owed_by_business_days_of_the_practice_calendar() -> None:
    monday = date(2026, 11, 23)  # Thanksgiving (Thu 26) is a holiday in the default calendar
    # scheduled 10+ business days ahead: within 3 business days (Tue, Wed, Fri -> Friday the 27th)
    assert due_by(trigger="scheduled", asked_on=monday, first_service_date=date(2026, 12, 10), policy=POLICY,
                  business=BUSINESS) == date(2026, 11, 27)
    # scheduled 3-9 business days ahead: within 1 business day
    assert due_by(trigger="scheduled", asked_on=monday, first_service_date=date(2026, 11, 30), policy=POLICY,
                  business=BUSINESS) == date(2026, 11, 24)
    # fewer than 3 business days ahead: none owed before the service
    assert due_by(trigger="scheduled", asked_on=monday, first_service_date=date(2026, 11, 25), policy=POLICY,
                  business=BUSINESS) is None
    # a request (a cost question) on Friday: within 3 business days -> Wednesday
    assert due_by(trigger="requested", asked_on=date(2026, 11, 27), first_service_date=None, policy=POLICY,
                  business=BUSINESS) == date(2026, 12, 2)
    assert queue_state(date(2026, 12, 2), date(2026, 12, 3), BUSINESS) == "late"
    assert queue_state(date(2026, 12, 2), date(2026, 12, 2), BUSINESS) == "due_today"
    assert queue_state(date(2026, 12, 7), date(2026, 12, 2), BUSINESS) == "due"


def test_a_recurring_course_is_covered_for_twelve_months() -> None:
    assert course_end(date(2026, 12, 14), POLICY) == date(2027, 12, 13)
    assert course_end(date(2028, 2, 29), POLICY) == date(2029, 2, 27)


def test_the_dispute_watch_warns_before_the_threshold_and_flags_at_it_once_each() -> None:
    estimated = {"111": 100_000}
    assert watch(estimated, {"111": 129_999}, {}, POLICY) == []
    warned = watch(estimated, {"111": 130_000}, {}, POLICY)
    assert [(w.state, w.over_by) for w in warned] == [("approaching", 30_000)]
    assert watch(estimated, {"111": 135_000}, {"111": "approaching"}, POLICY) == []
    flagged = watch(estimated, {"111": 140_000}, {"111": "approaching"}, POLICY)
    assert [w.state for w in flagged] == ["reached"]
    assert watch(estimated, {"111": 131_000}, {"111": "reached"}, POLICY) == [], "never back to a warning"
    # a provider not on the estimate at all: everything billed is above it
    assert [w.state for w in watch(estimated, {"222": 40_000}, {}, POLICY)] == ["reached"]


def test_a_dispute_needs_the_threshold_and_the_120_day_window() -> None:
    check_dispute(bill_date=date(2026, 1, 5), opened_on=date(2026, 5, 5), estimated=100_000, billed=140_000,
                  disputed=40_000, policy=POLICY)
    with pytest.raises(EstimateRefused, match="120"):
        check_dispute(bill_date=date(2026, 1, 5), opened_on=date(2026, 5, 6), estimated=100_000, billed=140_000,
                      disputed=40_000, policy=POLICY)
    with pytest.raises(EstimateRefused, match="at least"):
        check_dispute(bill_date=date(2026, 1, 5), opened_on=date(2026, 1, 6), estimated=100_000, billed=139_999,
                      disputed=10_000, policy=POLICY)
    with pytest.raises(EstimateRefused, match="disputed amount"):
        check_dispute(bill_date=date(2026, 1, 5), opened_on=date(2026, 1, 6), estimated=100_000, billed=140_000,
                      disputed=40_001, policy=POLICY)


# -- superbills ----------------------------------------------------------------------------------------------------


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.integers(0, 1_000_000))
def test_superbill_line_charges_add_up_to_the_visit(units: list[int], charged: int) -> None:
    from patient_billing.domain.superbills import CodedLine
    coding = VisitCoding("v", "p", date(2026, 11, 3), "1234567893",
                         tuple(CodedLine("90837", (), u) for u in units), ("F41.1",), "11")
    assert sum(line_charges(SuperbillVisit(coding, charged, 0))) == charged


# -- the PDFs, read back -------------------------------------------------------------------------------------------


def test_the_statement_pdf_shows_every_required_field() -> None:
    s = sample_statement(RULES.statements)
    pdf = render_statement(s)
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (612.0, 792.0), "Letter paper"
    fonts = {str(f["/BaseFont"]) for page in reader.pages
             for f in page["/Resources"]["/Font"].get_object().values()}
    assert fonts and all("BitstreamVeraSans" in f for f in fonts), f"only the embedded face: {fonts}"
    assert all(f.get_object()["/FontDescriptor"].get("/FontFile2") is not None
               for page in reader.pages for f in page["/Resources"]["/Font"].get_object().values()), \
        "every font embedded"
    assert reader.metadata is not None and reader.metadata.title.startswith("Statement")
    text = squash(text_of(pdf))
    for shown in [
        "Riverside Counseling Group", "120 Main Street, Suite 4", "(217) 555-0142",  # practice
        "Jordan Avery", "48 Elm Court", "Springfield, IL 62704",  # guarantor
        "Sam Avery",  # a second patient of the family account
        "December 1, 2026", "A1B2C3D4",  # statement date, account number
        "10/06/2026", "11/03/2026", "11/17/2026", "08/04/2026",  # itemized by date of service
        "$200.00", "$98.00", "$52.00",  # billed, plan paid, adjusted
        "deductible", "coinsurance", "copay",  # plain-language reasons from the CARCs
        "Payment received, thank you", "-$20.00",  # payments in the period
        "0-30 days", "31-60 days", "61-90 days", "91-120 days", "120+ days",  # aging buckets
        "Amount due: $305.00", "Please pay by December 22, 2026",  # amount due and by when
        "Under a Good Faith Estimate dispute: $60.00", "11/24/2026",  # held, and pending insurance
        s.payment_url, "scan the code",  # how to pay: the link and its QR code
    ]:
        assert shown in text, f"{shown!r} missing from the statement"


def test_the_superbill_pdf_shows_every_required_field() -> None:
    text = squash(text_of(render_superbill(sample_superbill())))
    for shown in ["Riverside Counseling Group", "120 Main Street, Suite 4", "1245319599", "12-3456789",
                  "Morgan Lee", "LCSW", "IL 149.012345", "1234567893",
                  "Jordan Avery", "04/12/1988", "48 Elm Court",
                  "11/03/2026", "11/17/2026", "90791", "90837", "95", "F41.1", "F32.1",
                  "$200.00", "$160.00", "$360.00", "$260.00", "Signature"]:
        assert shown in text, f"{shown!r} missing from the superbill"
    assert "(box 21)" in squash(text_of(render_superbill(sample_superbill("cms1500"))))


def test_the_good_faith_estimate_pdf_shows_what_the_rule_requires() -> None:
    e = sample_estimate(RULES.estimates)
    text = squash(text_of(render_estimate(e)))
    for shown in ["Good Faith Estimate".upper(), "Jordan Avery", "04/12/1988", "1245319599", "123456789",
                  "1234567893", "Morgan Lee", "90791", "90837", "$200.00", "$160.00", "$3,840.00", "$4,040.00",
                  "F41.1", "12/14/2026", "12/13/2027", "120 calendar days", "www.cms.gov/nosurprises",
                  "not a contract"]:
        assert shown in text, f"{shown!r} missing from the estimate"


def test_rendering_is_deterministic() -> None:
    s = sample_statement(RULES.statements)
    assert render_statement(s) == render_statement(s)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_page_one_of_each_document_renders_to_png(tmp_path: Path) -> None:
    """For a person to look at: var/documents-preview/<name>-1.png (kept); the PNG is Letter-shaped."""
    out = Path("var/documents-preview")
    out.mkdir(parents=True, exist_ok=True)
    for name, pdf in [("statement", render_statement(sample_statement(RULES.statements))),
                      ("superbill", render_superbill(sample_superbill())),
                      ("gfe", render_estimate(sample_estimate(RULES.estimates)))]:
        source = tmp_path / f"{name}.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(source), str(out / name)],
                       check=True, timeout=60)
        png = next(out.glob(f"{name}-*1.png")).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == (510, 660), "8.5 x 11 in at 60 dpi"
