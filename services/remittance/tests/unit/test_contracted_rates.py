"""Contracted rates are remittance's rules (rules/contracted_rates.yaml): which rate a line is held to, by payer,
date of service and modifier; and the claim copy's own rate only for a payer with no contract here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from remittance.bootstrap import load_rulebook
from remittance.domain.contracts import ContractedRates
from remittance.service_layer.denials import contracted_rates_of

RATES = ContractedRates.from_dict({"contracts": [
    {"payer_id": "ACME", "effective_from": "2023-01-01", "effective_to": "2024-12-31",
     "rates": {"90837": "128.00", "90837:GT": "120.00"}},
    {"payer_id": "ACME", "effective_from": date(2025, 1, 1), "rates": {"90837": "133.00"}},
]})


def copy(payer_id: str, day: date, *lines: tuple[str, tuple[str, ...], str | None]) -> SimpleNamespace:
    return SimpleNamespace(payer_id=payer_id, date_of_service=day, lines=[
        {"line_number": n, "procedure_code": code, "modifiers": list(modifiers), "contracted_rate": rate}
        for n, (code, modifiers, rate) in enumerate(lines, 1)])


def test_the_modifier_key_wins_and_the_date_of_service_picks_the_contract() -> None:
    assert RATES.rate("ACME", date(2024, 6, 1), "90837", ("GT",)) == D("120.00")
    assert RATES.rate("ACME", date(2024, 6, 1), "90837", ("95",)) == D("128.00")
    assert RATES.rate("ACME", date(2024, 12, 31), "90837", ()) == D("128.00"), "effective_to is inclusive"
    assert RATES.rate("ACME", date(2025, 1, 1), "90837", ("GT",)) == D("133.00")
    assert RATES.rate("ACME", date(2022, 12, 31), "90837", ()) is None, "no contract before it begins"
    assert RATES.rate("OTHER", date(2025, 1, 1), "90837", ()) is None


def test_the_rules_decide_and_the_claim_copy_rate_is_only_a_fallback() -> None:
    ours = copy("ACME", date(2025, 3, 1), ("90837", (), "999.00"), ("90834", (), "80.00"))
    assert contracted_rates_of(RATES, ours) == (("90837", D("133.00"), ()),), \
        "a payer under contract: the rules' rate, and a code the contract does not name is not checked"
    other = copy("SBXHP", date(2025, 3, 1), ("90837", ("95",), "150.00"), ("90834", (), None))
    assert contracted_rates_of(RATES, other) == (("90837", "150.00", ("95",)),), \
        "no contract here for the payer: what the claim copy carried (older claim copies)"


@pytest.mark.parametrize("contracts, where", [
    ([{"effective_from": "2025-01-01", "rates": {}}], "contracts[0].payer_id"),
    ([{"payer_id": "ACME", "rates": {}}], "contracts[0].effective_from"),
    ([{"payer_id": "ACME", "effective_from": "2025-01-01", "rates": {"90837": "lots"}}], "contracts[0].rates.90837"),
    ([{"payer_id": "ACME", "effective_from": "2025-01-01", "rates": {"90837": "-1"}}], "contracts[0].rates.90837"),
])
def test_a_bad_contract_names_its_field(contracts: list[dict[str, object]], where: str) -> None:
    with pytest.raises(ValueError, match=where.replace("[", r"\[").replace("]", r"\]")):
        ContractedRates.from_dict({"contracts": contracts})


def test_overlapping_contracts_of_one_payer_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        ContractedRates.from_dict({"contracts": [
            {"payer_id": "ACME", "effective_from": "2025-01-01", "rates": {}},
            {"payer_id": "ACME", "effective_from": "2025-06-01", "rates": {}}]})


def test_the_shipped_contracts_load_with_the_rulebook() -> None:
    rules = load_rulebook()
    assert rules.contracted_rates.rate("ACME", date(2026, 3, 1), "90834", ()) == D("102.00")
    assert rules.versions["contracted_rates.yaml"] == "2026-12-02.1"
