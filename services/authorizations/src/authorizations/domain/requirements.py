"""Which payers require a prior authorization, for which procedure codes and dates of service (the rules file
``prior_authorization_requirements.yaml``): the most specific rule in force wins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from rcm_shared.rules import RulesError, effective_span


@dataclass(frozen=True, slots=True)
class AuthorizationRequirement:
    """Whether ``payer_id`` (``"*"`` = any payer) requires prior authorization for ``cpt_codes`` (empty = every
    code) for dates of service from ``effective_from`` to ``effective_to`` inclusive."""

    payer_id: str
    requires_authorization: bool
    cpt_codes: frozenset[str] = frozenset()
    effective_from: date = date.min
    effective_to: date | None = None

    def applies(self, payer_id: str, cpt_code: str, day: date) -> bool:
        return (
            self.payer_id in (payer_id, "*")
            and (not self.cpt_codes or cpt_code in self.cpt_codes)
            and self.effective_from <= day
            and (self.effective_to is None or day <= self.effective_to)
        )

    @property
    def specificity(self) -> int:
        return (2 if self.payer_id != "*" else 0) + (1 if self.cpt_codes else 0)


@dataclass(frozen=True, slots=True)
class PayerAuthorizationRules:
    requirements: tuple[AuthorizationRequirement, ...] = ()

    def requires(self, payer_id: str, cpt_code: str, day: date) -> bool:
        """The most specific rule in force wins (payer + CPT, payer, default + CPT, default); none: not required."""
        matching = [r for r in self.requirements if r.applies(payer_id, cpt_code, day)]
        if not matching:
            return False
        return max(matching, key=lambda r: r.specificity).requires_authorization

    @classmethod
    def from_dict(cls, data: Mapping[str, object], file: str = "prior_authorization_requirements.yaml"
                  ) -> PayerAuthorizationRules:
        raw = data.get("requirements")
        if not isinstance(raw, list):
            raise RulesError(file, "requirements", "must be a list")
        out = []
        for i, item in enumerate(raw):
            where = f"requirements[{i}]"
            if not isinstance(item, Mapping):
                raise RulesError(file, where, "must be a mapping")
            payer = item.get("payer_id")
            required = item.get("requires_authorization")
            codes = item.get("cpt_codes", [])
            if not isinstance(payer, str) or not isinstance(required, bool):
                raise RulesError(file, where, "needs payer_id and requires_authorization (true or false)")
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise RulesError(file, f"{where}.cpt_codes", "must be a list of codes")
            start, end = effective_span(item, file=file, where=where)
            out.append(AuthorizationRequirement(payer_id=payer, requires_authorization=required,
                                                cpt_codes=frozenset(codes), effective_from=start, effective_to=end))
        return cls(tuple(out))
