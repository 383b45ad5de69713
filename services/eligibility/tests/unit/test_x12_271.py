"""Reading 271 responses: hand-made cases from the mental-health workflow, x12sdk files, and garbage."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from eligibility.domain.benefits import CoverageStatus, EligibilityResult, NextAction, ResultStatus
from eligibility.domain.telehealth import TelehealthPhrases
from eligibility.edi.x12_271 import read_271
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rcm_shared.x12 import X12SyntaxError

from .conftest import decided, rules_file

ISA = "ISA*00*          *00*          *ZZ*PAYERSENDER    *ZZ*CLINICRECV     *260301*0930*^*00501*000000042*0*T*:"
HEADER = (
    "BHT*0022*11*BHTREF01*20260301*0930",
    "HL*1**20*1",
    "NM1*PR*2*ACME HEALTH*****PI*ACME01",
    "HL*2*1*21*1",
    "NM1*1P*2*CALM CLINIC*****XX*1234567893",
)


def interchange_271(*segments: str, control: str = "0001") -> str:
    body = list(segments)
    lines = [ISA, "GS*HB*PAYERSENDER*CLINICRECV*20260301*0930*42*X*005010X279A1",
             f"ST*271*{control}*005010X279A1", *body, f"SE*{len(body) + 2}*{control}", "GE*1*42", "IEA*1*000000042"]
    return "".join(line + "~\n" for line in lines)


def subscriber(*benefits: str, trace: str = "TRACE1", aaa: str | None = None) -> tuple[str, ...]:
    head = ["HL*3*2*22*0", f"TRN*2*{trace}*9RCMPLATFM", "NM1*IL*1*DOE*JANE****MI*W100200300"]
    if aaa:
        head.append(aaa)
    return (*head, "DMG*D8*19900102*F", *benefits)


def only(text: str) -> EligibilityResult:
    results = decided(text)
    assert len(results) == 1
    return results[0]


def test_active_plan_with_cost_shares_by_network() -> None:
    text = interchange_271(*HEADER, *subscriber(
        "REF*6P*GRP77*ACME EMPLOYER", "DTP*346*D8*20250101",
        "EB*1*IND*30^MH*C1*ACME PPO",
        "EB*B*IND*A6***27*35.5*****Y", "EB*B*IND*A6***27*80*****N",
        "EB*A*IND*A6*****.2****Y",
        "EB*C*IND*30***23*1500*****Y", "EB*C*IND*30***29*725.25*****Y",
        "EB*C*FAM*30***23*3000*****Y",
        "EB*G*IND*30***23*6000*****W", "EB*G*IND*30***29*5100*****W",
    ))
    result = only(text)
    assert result.status is ResultStatus.ACTIVE and result.next_action is NextAction.NONE
    assert result.trace_number == "TRACE1" and result.member_id == "W100200300"
    snap = result.snapshot
    assert snap is not None
    assert snap.plan.plan_name == "ACME PPO" and snap.plan.group_number == "GRP77"
    assert snap.coverage_begin is not None and snap.coverage_begin.isoformat() == "2025-01-01"
    psychotherapy = snap.benefit("A6")
    assert psychotherapy is not None
    assert psychotherapy.in_network.copay == Decimal("35.50")
    assert psychotherapy.out_of_network.copay == Decimal("80.00")
    assert psychotherapy.in_network.coinsurance_percent == Decimal("20.00")
    plan = snap.benefit("30")
    assert plan is not None and plan.covered is True
    deductible = plan.in_network.deductible_individual
    assert deductible is not None and deductible.total == Decimal("1500.00")
    assert deductible.remaining == Decimal("725.25")
    assert plan.in_network.deductible_family is not None and plan.in_network.deductible_family.total == 3000
    oop = plan.for_network(in_network=True).out_of_pocket_individual  # EB12 W: applies to any network
    assert oop is not None and oop.remaining == Decimal("5100.00")
    assert isinstance(psychotherapy.in_network.copay, Decimal)
    json.dumps(result.to_dict())


def test_inactive_member_with_end_date_asks_for_new_coverage() -> None:
    result = only(interchange_271(*HEADER, *subscriber("DTP*347*D8*20251231", "EB*6**30")))
    assert result.status is ResultStatus.INACTIVE
    assert result.next_action is NextAction.COLLECT_NEW_COVERAGE
    assert result.snapshot is not None and result.snapshot.coverage_end is not None
    assert result.snapshot.coverage_end.isoformat() == "2025-12-31"
    assert result.snapshot.benefit("30") is not None
    assert result.snapshot.benefit("30").covered is False  # type: ignore[union-attr]


def test_mental_health_carve_out_names_the_behavioral_health_payer() -> None:
    result = only(interchange_271(*HEADER, *subscriber(
        "EB*1**30**MEDICAL ONLY",
        "EB*R**MH^A6^A8",
        "LS*2120", "NM1*PR*2*MINDFUL BEHAVIORAL HEALTH*****PI*MBH01", "PER*IC**TE*8005551234", "LE*2120",
    )))
    assert result.status is ResultStatus.ACTIVE
    assert result.next_action is NextAction.CHECK_OTHER_PAYER
    (carve,) = result.carve_outs
    assert carve.name == "MINDFUL BEHAVIORAL HEALTH" and carve.identifier == "MBH01"
    assert carve.service_types == ("MH", "A6", "A8") and carve.phone == "8005551234"


def test_contact_entity_u_with_plan_sponsor_is_a_carve_out_too() -> None:
    result = only(interchange_271(*HEADER, *subscriber(
        "EB*1**30", "EB*U**MH", "LS*2120", "NM1*P5*2*EMPLOYER EAP PROGRAM", "LE*2120",
    )))
    assert result.next_action is NextAction.CHECK_OTHER_PAYER
    assert result.carve_outs[0].entity_code == "P5"


def test_other_payer_without_named_entity_is_not_a_carve_out() -> None:
    result = only(interchange_271(*HEADER, *subscriber("EB*1**30", "EB*R**MH")))
    assert result.carve_outs == ()
    assert result.next_action is NextAction.NONE


def test_nearly_used_session_limit_from_hsd_segments() -> None:
    result = only(interchange_271(*HEADER, *subscriber(
        "EB*1**30", "EB*F*IND*A6*****", "HSD*VS*20***23", "HSD*VS*2***29",
    )))
    assert result.snapshot is not None
    limit = result.snapshot.benefit("A6").for_network().visit_limit  # type: ignore[union-attr]
    assert limit is not None and (limit.limit, limit.remaining, limit.period) == (20, 2, "23")


def test_session_limit_from_eb09_quantity_and_used_count() -> None:
    result = only(interchange_271(*HEADER, *subscriber(
        "EB*1**30", "EB*F*IND*MH***23***VS*30**Y", "EB*F*IND*MH***29***VS*1**Y", "EB*F*IND*MH******99*29**Y",
    )))
    limit = result.snapshot.benefit("MH").in_network.visit_limit  # type: ignore[union-attr]
    assert limit is not None and (limit.limit, limit.remaining, limit.used) == (30, 1, 29)


@pytest.mark.parametrize(
    ("aaa", "code", "action", "retryable"),
    [
        ("AAA*N**72*C", "72", NextAction.CORRECT_AND_RESEND, False),
        ("AAA*N**75*C", "75", NextAction.CORRECT_AND_RESEND, False),
        ("AAA*Y**42*R", "42", NextAction.RETRY_LATER, True),
        ("AAA*N**58*N", "58", NextAction.CONTACT_PAYER, False),
    ],
)
def test_subscriber_rejections_become_clear_results(
    aaa: str, code: str, action: NextAction, retryable: bool
) -> None:
    result = only(interchange_271(*HEADER, *subscriber(aaa=aaa)))
    assert result.status is ResultStatus.REJECTED
    assert result.next_action is action
    (rejection,) = result.rejections
    assert (rejection.code, rejection.level, rejection.retryable) == (code, "subscriber", retryable)
    assert rejection.description
    assert result.snapshot is None


def test_payer_level_rejection_without_subscriber_loop_uses_bht_trace() -> None:
    text = interchange_271(
        "BHT*0022*11*OURTRACE9*20260301*0930", "HL*1**20*0", "NM1*PR*2*ACME HEALTH*****PI*ACME01", "AAA*Y**42*P",
    )
    result = only(text)
    assert result.status is ResultStatus.REJECTED and result.next_action is NextAction.RETRY_LATER
    assert result.trace_number == "OURTRACE9" and result.rejections[0].level == "payer"


def test_provider_level_rejection_reaches_every_patient() -> None:
    text = interchange_271(
        *HEADER[:4], "NM1*1P*2*CALM CLINIC*****XX*1234567893", "AAA*N**51*C",
        *subscriber(),
    )
    result = only(text)
    assert result.status is ResultStatus.REJECTED
    assert [r.code for r in result.rejections] == ["51"]
    assert result.next_action is NextAction.CONTACT_PAYER


def test_telehealth_from_iii_place_of_service() -> None:
    covered = only(interchange_271(*HEADER, *subscriber("EB*1**30", "EB*1**A6", "III*ZZ*10")))
    assert covered.snapshot is not None and covered.snapshot.telehealth_covered is True
    excluded = only(interchange_271(*HEADER, *subscriber("EB*1**30^A6", "EB*I**A6", "III*ZZ*02", "III*ZZ*10")))
    assert excluded.snapshot is not None
    a6 = excluded.snapshot.benefit("A6")
    assert a6 is not None and a6.telehealth_covered is False
    assert a6.covered is True  # the office benefit stays covered; only telehealth is excluded


def test_telehealth_from_message_phrases_is_configurable() -> None:
    text = interchange_271(*HEADER, *subscriber("EB*1**MH", "MSG*Virtual visits covered at office copay"))
    assert only(text).snapshot.telehealth_covered is True  # type: ignore[union-attr]
    custom = TelehealthPhrases.from_rules(rules_file("telehealth_phrases.yaml", {"covered": ["VIDEO OK"],
                                                                               "not_covered": []}))
    assert decided(text, custom)[0].snapshot.telehealth_covered is None  # type: ignore[union-attr]
    negative = interchange_271(*HEADER, *subscriber("EB*1**MH", "MSG*TELEHEALTH NOT COVERED"))
    assert only(negative).snapshot.telehealth_covered is False  # type: ignore[union-attr]


def test_dependent_loop_is_the_patient() -> None:
    text = interchange_271(
        *HEADER, "HL*3*2*22*1", "NM1*IL*1*DOE*JANE****MI*W100200300",
        "HL*4*3*23*0", "TRN*2*DEPTRACE*9RCMPLATFM", "NM1*03*1*DOE*SAM", "EB*1**30",
    )
    result = only(text)
    assert result.is_dependent and result.trace_number == "DEPTRACE" and result.member_id == "W100200300"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("SE*9*", "SE*10*"),  # wrong segment count
        lambda t: t.replace("ST*271", "ST*270"),
        lambda t: t.replace("GS*HB", "GS*HC"),
        lambda t: t.replace("IEA*1*000000042~\n", ""),
        lambda t: t.replace("HL*3*2*22", "HL*3*9*22"),  # unknown parent
        lambda t: t.replace("EB*B**A6***27*20", "EB*B**A6***27*2O"),  # letter O in an amount
        lambda t: t.replace("DTP*346*D8*20250101", "DTP*346*D8*20251301"),
        lambda t: t[:50],
        lambda t: "hello",
    ],
)
def test_malformed_271_is_refused_with_x12_syntax_error(mutate) -> None:  # type: ignore[no-untyped-def]
    good = interchange_271(*HEADER[:1], "HL*1**20*1", "NM1*PR*2*A*****PI*1", "HL*2*1*21*1",
                           "HL*3*2*22*0", "DTP*346*D8*20250101", "EB*B**A6***27*20")
    assert read_271(good)[0].snapshot is not None
    assert mutate(good) != good
    with pytest.raises(X12SyntaxError):
        read_271(mutate(good))


# ------------------------------------------------------------------------------------------- x12sdk files


@pytest.fixture(scope="module")
def generated_271s() -> list[str]:
    from x12sdk.generate import generate_271  # in-process: the CLI pays a 2 s import per call

    return [generate_271(seed=seed, members=8, dependent_rate=0.4) for seed in (1, 2, 3)]


def test_x12sdk_271_files_read_one_result_per_patient(generated_271s: list[str]) -> None:
    for text in generated_271s:
        results = decided(text)
        dependents = text.count("*23*")  # HL level code 23 (dependent) occurs only in HL segments here
        subscribers_alone = sum(
            1 for line in text.replace("\n", "").split("~") if line.startswith("HL*") and line.endswith("*22*0")
        )
        assert len(results) == dependents + subscribers_alone
        traces = {line.split("*")[2] for line in text.replace("\n", "").split("~") if line.startswith("TRN*")}
        assert {r.trace_number for r in results} <= traces
        for result in results:
            json.dumps(result.to_dict())
            if result.snapshot is not None:
                assert result.snapshot.coverage_status in (CoverageStatus.ACTIVE, CoverageStatus.INACTIVE)


# ------------------------------------------------------------------------------------------- fuzzing

_VALID = interchange_271(*HEADER, *subscriber(
    "EB*1**30*C1*PLAN", "EB*B*IND*A6***27*20*****Y", "EB*F**A6", "HSD*VS*20***23", "HSD*VS*3***29",
    "EB*R**MH", "LS*2120", "NM1*PR*2*BH PAYER", "LE*2120", "DTP*346*D8*20250101",
))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text_raises_only_x12_syntax_error(text: str) -> None:
    try:
        read_271(text)
    except X12SyntaxError:
        pass


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(_VALID) - 1), st.integers(0, 6),
                  st.text(alphabet="*~:^0123456789ABEHLNPRSTUVZ-. \n", max_size=6)),
        min_size=1, max_size=5,
    )
)
def test_mutated_271_raises_only_x12_syntax_error(edits: list[tuple[int, int, str]]) -> None:
    text = _VALID
    for position, delete, insert in edits:
        position = min(position, len(text))
        text = text[:position] + insert + text[position + delete:]
    try:
        for result in decided(text):
            json.dumps(result.to_dict())
    except X12SyntaxError:
        pass
