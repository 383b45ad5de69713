"""Charge capture: time bands, crisis, family, digital E/M, add-ons, telehealth per payer, effective dating."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import yaml
from claims.domain.coding import ChargeCoder
from claims.domain.exceptions import InvalidRules, RulesetNotFound
from claims.domain.model import Modality, PatientLocation, ServiceKind
from claims.domain.rulebook import Rulebook

K = ServiceKind


def codes(result: object) -> list[tuple[str, int]]:
    return [(ln.procedure_code, ln.units) for ln in result.lines]  # type: ignore[attr-defined]


def finding_codes(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(15, None), (16, "90832"), (37, "90832"), (38, "90834"), (52, "90834"), (53, "90837"), (90, "90837")],
)
def test_psychotherapy_alone_band_edges(coder: ChargeCoder, build: SimpleNamespace, minutes: int,
                                        expected: str | None) -> None:
    result = coder.code(build.visit(K.PSYCHOTHERAPY, minutes))
    if expected is None:
        assert result.lines == ()
        assert "PSYCHOTHERAPY_UNDER_MINIMUM" in finding_codes(result)
        assert not result.billable
    else:
        assert codes(result) == [(expected, 1)]
        assert result.billable


@pytest.mark.parametrize(
    ("minutes", "addon"), [(15, None), (16, "90833"), (37, "90833"), (38, "90836"), (52, "90836"), (53, "90838")]
)
def test_psychotherapy_add_on_with_em_band_edges(coder: ChargeCoder, build: SimpleNamespace, minutes: int,
                                                 addon: str | None) -> None:
    result = coder.code(build.visit(K.EM_WITH_PSYCHOTHERAPY, minutes, em_code="99213",
                                    rendering=build.clinician("MD")))
    expected = [("99213", 1)] + ([(addon, 1)] if addon else [])
    assert codes(result) == expected
    assert result.billable, "the E/M is billable whatever the psychotherapy time"
    assert ("PSYCHOTHERAPY_ADD_ON_UNDER_MINIMUM" in finding_codes(result)) is (addon is None)
    assert "PSYCHOTHERAPY_UNDER_MINIMUM" not in finding_codes(result)


@pytest.mark.parametrize(("kind", "minutes"), [(K.EM_WITH_PSYCHOTHERAPY, 15), (K.EM_WITH_PSYCHOTHERAPY, 0),
                                               (K.CRISIS, 12)])
def test_short_psychotherapy_with_an_em_bills_the_em_alone_with_a_warning(
        coder: ChargeCoder, build: SimpleNamespace, kind: ServiceKind, minutes: int) -> None:
    result = coder.code(build.visit(kind, minutes, em_code="99214", rendering=build.clinician("NP")))
    assert codes(result) == [("99214", 1)]
    (finding,) = [f for f in result.findings if f.code == "PSYCHOTHERAPY_ADD_ON_UNDER_MINIMUM"]
    assert (finding.severity.value, finding.field) == ("warning", "visit.psychotherapy_minutes")
    assert not any(f.severity.value == "error" for f in result.findings) and result.billable
    rules = [r.rule_id for r in result.lines[0].rules]
    assert rules[0] == "EM" and "PSY-SHORT-ADDON" in rules, "the E/M line says which rule dropped the add-on"


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (29, [("90832", 1)]),
        (30, [("90839", 1)]),
        (74, [("90839", 1)]),
        (75, [("90839", 1), ("90840", 1)]),
        (104, [("90839", 1), ("90840", 1)]),
        (105, [("90839", 1), ("90840", 2)]),
        (134, [("90839", 1), ("90840", 2)]),
        (135, [("90839", 1), ("90840", 3)]),
    ],
)
def test_crisis_band_edges(coder: ChargeCoder, build: SimpleNamespace, minutes: int,
                           expected: list[tuple[str, int]]) -> None:
    result = coder.code(build.visit(K.CRISIS, minutes))
    assert codes(result) == expected


def test_short_crisis_with_em_uses_the_add_on_and_records_both_rules(coder: ChargeCoder,
                                                                     build: SimpleNamespace) -> None:
    result = coder.code(build.visit(K.CRISIS, 29, em_code="99214", rendering=build.clinician("NP")))
    assert codes(result) == [("99214", 1), ("90833", 1)]
    assert [r.rule_id for r in result.lines[1].rules][:2] == ["PSY-30", "CRISIS-SHORT"]


def test_crisis_add_on_charge_multiplies_units(coder: ChargeCoder, build: SimpleNamespace) -> None:
    result = coder.code(build.visit(K.CRISIS, 105, payer_id="MEDICARE"))
    addon = result.lines[1]
    assert addon.units == 2
    assert addon.charge == Decimal("220.00")  # 2 x 110.00 from the chargemaster


@pytest.mark.parametrize(("minutes", "billable"), [(25, False), (26, True)])
@pytest.mark.parametrize(("kind", "code"), [(K.FAMILY_WITHOUT_PATIENT, "90846"), (K.FAMILY_WITH_PATIENT, "90847")])
def test_family_minimum(coder: ChargeCoder, build: SimpleNamespace, minutes: int, billable: bool,
                        kind: ServiceKind, code: str) -> None:
    result = coder.code(build.visit(kind, minutes))
    assert codes(result) == ([(code, 1)] if billable else [])
    assert ("FAMILY_UNDER_MINIMUM" in finding_codes(result)) is not billable


@pytest.mark.parametrize(
    ("kind", "code"),
    [(K.INTAKE_EVAL, "90791"), (K.INTAKE_EVAL_MEDICAL, "90792"), (K.GROUP, "90853"), (K.MULTI_FAMILY_GROUP, "90849")],
)
def test_untimed_services(coder: ChargeCoder, build: SimpleNamespace, kind: ServiceKind, code: str) -> None:
    result = coder.code(build.visit(kind, 0))
    assert codes(result) == [(code, 1)]
    assert result.lines[0].rule_id is not None
    assert result.lines[0].ruleset_version == "2020.1"


@pytest.mark.parametrize(
    ("minutes", "qhp", "physician"),
    [(4, None, None), (5, "98970", "99421"), (10, "98970", "99421"), (11, "98971", "99422"),
     (20, "98971", "99422"), (21, "98972", "99423")],
)
def test_digital_em_bands_by_credential(coder: ChargeCoder, build: SimpleNamespace, minutes: int,
                                        qhp: str | None, physician: str | None) -> None:
    for credential, expected in (("LCSW", qhp), ("psychologist", qhp), ("MD", physician), ("NP", physician),
                                 ("PA", physician)):
        v = build.visit(K.DIGITAL_EM, 0, digital_minutes=minutes, payer_id="MEDICARE",
                        rendering=build.clinician(credential), modality=Modality.VIDEO,
                        patient_location=PatientLocation.HOME)
        result = coder.code(v)
        assert codes(result) == ([(expected, 1)] if expected else [])
        if expected:
            # never telehealth: no POS 02/10, no 95/93
            assert result.place_of_service == "11"
            assert result.lines[0].modifiers == ()
        else:
            assert "DIGITAL_UNDER_MINIMUM" in finding_codes(result)


def test_digital_em_not_covered_by_payer_is_an_error(coder: ChargeCoder, build: SimpleNamespace) -> None:
    result = coder.code(build.visit(K.DIGITAL_EM, 0, digital_minutes=12, payer_id="ACME"))
    assert "DIGITAL_EM_NOT_COVERED" in finding_codes(result)
    assert not result.billable


def test_interactive_complexity_added_to_allowed_primary(coder: ChargeCoder, build: SimpleNamespace) -> None:
    result = coder.code(build.visit(K.PSYCHOTHERAPY, 40, interactive_complexity=True))
    assert codes(result) == [("90834", 1), ("90785", 1)]
    assert result.lines[1].rule_id == "IC-ADDON"


@pytest.mark.parametrize(
    ("kind", "minutes", "extra"),
    [(K.CRISIS, 60, {}), (K.EM_ONLY, 0, {"em_code": "99213"}), (K.FAMILY_WITH_PATIENT, 50, {})],
)
def test_interactive_complexity_refused_where_not_allowed(
    coder: ChargeCoder, build: SimpleNamespace, kind: ServiceKind, minutes: int, extra: dict[str, object]
) -> None:
    result = coder.code(build.visit(kind, minutes, interactive_complexity=True, **extra))
    assert "90785" not in {c for c, _ in codes(result)}
    assert "INTERACTIVE_COMPLEXITY_NOT_BILLABLE" in finding_codes(result)


def test_interactive_complexity_with_family_when_payer_allows(coder: ChargeCoder, build: SimpleNamespace) -> None:
    result = coder.code(build.visit(K.FAMILY_WITH_PATIENT, 50, interactive_complexity=True, payer_id="STATEMCD"))
    assert codes(result) == [("90847", 1), ("90785", 1)]


@pytest.mark.parametrize(
    ("payer", "modality", "location", "pos", "modifiers", "covered"),
    [
        ("MEDICARE", Modality.VIDEO, PatientLocation.HOME, "10", ("95",), True),
        ("MEDICARE", Modality.VIDEO, PatientLocation.OTHER, "02", ("95",), True),
        ("MEDICARE", Modality.AUDIO_ONLY, PatientLocation.HOME, "10", ("93",), True),
        ("ACME", Modality.VIDEO, PatientLocation.HOME, "10", ("GT",), True),
        ("ACME", Modality.AUDIO_ONLY, PatientLocation.OTHER, "02", ("GT",), True),
        ("STATEMCD", Modality.AUDIO_ONLY, PatientLocation.HOME, "10", ("93", "AJ"), False),
        ("NOTELE", Modality.VIDEO, PatientLocation.HOME, "10", ("95",), False),
        ("ACME", Modality.IN_PERSON, PatientLocation.OTHER, "11", (), True),
    ],
)
def test_telehealth_per_payer(coder: ChargeCoder, build: SimpleNamespace, payer: str, modality: Modality,
                              location: PatientLocation, pos: str, modifiers: tuple[str, ...], covered: bool) -> None:
    result = coder.code(build.visit(K.PSYCHOTHERAPY, 53, payer_id=payer, modality=modality,
                                    patient_location=location, date_of_service=date(2024, 3, 4)))
    assert result.place_of_service == pos
    assert result.lines[0].modifiers == modifiers
    assert ("TELEHEALTH_NOT_COVERED" in finding_codes(result)) is not covered
    if modality is not Modality.IN_PERSON:
        rule_ids = {r.rule_id for r in result.lines[0].rules}
        assert "TELE-POS" in rule_ids


def test_payer_terms_change_on_a_date(coder: ChargeCoder, build: SimpleNamespace) -> None:
    v = build.visit(K.PSYCHOTHERAPY, 53, payer_id="MEDICARE", modality=Modality.VIDEO,
                    patient_location=PatientLocation.HOME)
    before = coder.code(v.__class__(**{**_fields(v), "date_of_service": date(2021, 12, 31)}))
    after = coder.code(v.__class__(**{**_fields(v), "date_of_service": date(2022, 1, 1)}))
    assert before.place_of_service == "02"  # POS 10 did not exist yet
    assert after.place_of_service == "10"
    assert before.payer_terms_version == "MCR-2020"
    assert after.payer_terms_version == "MCR-2022"
    assert ("TELE-POS", "MCR-2022") in {(r.rule_id, r.version) for r in after.lines[0].rules}


def _fields(v: object) -> dict[str, object]:
    return {s: getattr(v, s) for s in v.__slots__}  # type: ignore[attr-defined]


def test_coding_ruleset_change_on_a_date(build: SimpleNamespace) -> None:
    coding_text, payers, fees = build.rules_text()
    doc = yaml.safe_load(coding_text)
    old = doc["rulesets"][0]
    new = yaml.safe_load(yaml.safe_dump(old))
    old["effective_to"] = "2025-06-30"
    new["version"] = "2025.2"
    new["effective_from"] = "2025-07-01"
    new["psychotherapy"]["bands"][0]["to"] = 39  # a hypothetical rule change moving the 30/45 edge
    new["psychotherapy"]["bands"][1]["from"] = 40
    doc["rulesets"].append(new)
    book = Rulebook.from_documents(doc, yaml.safe_load(payers), yaml.safe_load(fees))
    coder = ChargeCoder(book)
    before = coder.code(build.visit(K.PSYCHOTHERAPY, 38, date_of_service=date(2025, 6, 30)))
    after = coder.code(build.visit(K.PSYCHOTHERAPY, 38, date_of_service=date(2025, 7, 1)))
    assert codes(before) == [("90834", 1)]
    assert codes(after) == [("90832", 1)]
    assert (before.lines[0].ruleset_version, after.lines[0].ruleset_version) == ("2020.1", "2025.2")


def test_overlapping_rulesets_are_refused(build: SimpleNamespace) -> None:
    coding_text, payers, fees = build.rules_text()
    doc = yaml.safe_load(coding_text)
    doc["rulesets"].append({**doc["rulesets"][0], "version": "dup"})
    with pytest.raises(InvalidRules):
        Rulebook.from_documents(doc, yaml.safe_load(payers), yaml.safe_load(fees))


def test_no_ruleset_before_the_first_effective_date(coder: ChargeCoder, build: SimpleNamespace) -> None:
    with pytest.raises(RulesetNotFound):
        coder.code(build.visit(K.PSYCHOTHERAPY, 53, payer_id=None, date_of_service=date(2019, 1, 1)))


def test_fee_schedules_are_effective_dated_and_modifier_specific(rulebook: Rulebook) -> None:
    assert rulebook.fee("ACME", date(2024, 6, 1), "90837").charge == Decimal("200.00")  # type: ignore[union-attr]
    gt = rulebook.fee("ACME", date(2024, 6, 1), "90837", ("GT",))
    assert gt is not None
    assert (gt.contracted, gt.schedule_version) == (Decimal("120.00"), "ACME-FS-2023")
    assert rulebook.fee("ACME", date(2025, 1, 1), "90837").contracted == Decimal("133.00")  # type: ignore[union-attr]
    # a code the payer schedule lacks falls back to the chargemaster
    assert rulebook.fee("ACME", date(2024, 6, 1), "90853").schedule_version == "CHARGEMASTER-2023"  # type: ignore[union-attr]
    assert rulebook.self_pay_rate(date(2024, 6, 1), "90837").charge == Decimal("160.00")  # type: ignore[union-attr]


def test_self_pay_visit_uses_self_pay_rates(coder: ChargeCoder, build: SimpleNamespace) -> None:
    result = coder.code(build.visit(K.PSYCHOTHERAPY, 40, payer_id=None))
    assert result.lines[0].charge == Decimal("120.00")
    assert result.lines[0].rules[-1].version == "SELF-PAY-2023"


def test_missing_fee_is_a_finding(coder: ChargeCoder, build: SimpleNamespace) -> None:
    result = coder.code(build.visit(K.GROUP, 0, payer_id=None))  # 90853 is in the self-pay table
    assert result.billable
    result = coder.code(build.visit(K.MULTI_FAMILY_GROUP, 0, payer_id=None))  # 90849 is not
    assert "FEE_NOT_FOUND" in finding_codes(result)


def test_coding_leaves_supervisor_billing_to_the_credentialing_registry(coder: ChargeCoder,
                                                                        build: SimpleNamespace) -> None:
    supervisor = build.clinician("LCSW", npi=build.SUPERVISOR_NPI, last="STONE")
    v = build.visit(K.PSYCHOTHERAPY, 53, rendering=build.clinician("LMSW"), supervising=supervisor)
    claim = build.draft_claim(coder.code(v), v, claim_id="c-8", patient_control_number="P8", payer=build.PAYER,
                              billing_provider=build.BILLING, subscriber=build.SUBSCRIBER)
    assert (claim.rendering.credential, claim.supervising) == ("LMSW", supervisor), "as the visit names them"
    assert claim.reported is None, "who the 837P names is decided at the scrub"


def test_credential_modifier_from_payer_terms(coder: ChargeCoder, build: SimpleNamespace) -> None:
    result = coder.code(build.visit(K.PSYCHOTHERAPY, 53, payer_id="STATEMCD"))
    assert result.lines[0].modifiers == ("AJ",)
    assert "CREDENTIAL-MOD" in {r.rule_id for r in result.lines[0].rules}


def test_em_service_without_em_code_is_a_finding(coder: ChargeCoder, build: SimpleNamespace) -> None:
    result = coder.code(build.visit(K.EM_WITH_PSYCHOTHERAPY, 30, em_code=None))
    assert "EM_CODE_MISSING" in finding_codes(result)
    assert result.lines == ()


def test_draft_claim_carries_coding(coder: ChargeCoder, build: SimpleNamespace) -> None:
    v = build.visit(K.PSYCHOTHERAPY, 53, diagnoses=("F41.1", "Z63.0"))
    result = coder.code(v)
    claim = build.draft_claim(result, v, claim_id="c-9", patient_control_number="P9", payer=build.PAYER,
                              billing_provider=build.BILLING, subscriber=build.SUBSCRIBER)
    assert claim.diagnoses == ("F411", "Z630")
    assert claim.total_charge == Decimal("200.00")
    assert claim.lines[0].diagnosis_pointers == (1, 2)
    assert claim.status.value == "draft"
