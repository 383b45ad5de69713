"""Contracted rates: what each payer agreed to pay per unit (``rules/contracted_rates.yaml``). Remittance checks
underpayments, so the contract is remittance's fact; the claim copy says only which payer was billed, when and
for what."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from rcm_shared.rules import effective_span


@dataclass(frozen=True)
class Contract:
    payer_id: str
    effective_from: date
    effective_to: date | None  # inclusive
    rates: Mapping[str, Decimal]  # CPT or CPT:MODIFIER -> per unit

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class ContractedRates:
    """The contracts by payer; ``rate`` answers for one line (the CPT:MODIFIER key before the CPT alone)."""

    def __init__(self, contracts: Sequence[Contract]) -> None:
        by_payer: dict[str, list[Contract]] = {}
        for contract in contracts:
            for other in by_payer.get(contract.payer_id, ()):
                if contract.effective_from <= (other.effective_to or date.max) and \
                        other.effective_from <= (contract.effective_to or date.max):
                    raise ValueError(f"contracts of {contract.payer_id} overlap from {contract.effective_from}")
            by_payer.setdefault(contract.payer_id, []).append(contract)
        self._by_payer = {payer: tuple(found) for payer, found in by_payer.items()}
        self.payers = frozenset(self._by_payer)  # payers with a contract here, on some date
        self.rate = lru_cache(maxsize=16384)(self._rate)  # few distinct (payer, day, code) per ERA

    def contract(self, payer_id: str | None, day: date) -> Contract | None:
        return next((c for c in self._by_payer.get(payer_id or "", ()) if c.covers(day)), None)

    def _rate(self, payer_id: str | None, day: date, code: str, modifiers: tuple[str, ...]) -> Decimal | None:
        contract = self.contract(payer_id, day)
        if contract is None:
            return None
        for key in (*(f"{code}:{m}" for m in modifiers), code):
            if key in contract.rates:
                return contract.rates[key]
        return None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContractedRates:
        contracts = []
        for i, raw in enumerate(data.get("contracts") or []):
            where = f"contracts[{i}]"
            if not isinstance(raw, Mapping) or not raw.get("payer_id"):
                raise ValueError(f"{where}.payer_id is required")
            start, end = effective_span(raw, file="contracted_rates.yaml", where=where)
            rates: dict[str, Decimal] = {}
            for key, value in (raw.get("rates") or {}).items():
                try:
                    rate = Decimal(str(value))
                except InvalidOperation:
                    raise ValueError(f"{where}.rates.{key} must be an amount") from None
                if not rate.is_finite() or rate < 0:
                    raise ValueError(f"{where}.rates.{key} must be an amount of zero or more")
                rates[str(key)] = rate
            contracts.append(Contract(str(raw["payer_id"]), start, end, rates))
        return cls(contracts)
