"""Every rules file of remittance as the typed objects its use cases take: read once, in ``bootstrap.py``, and
handed in (a test builds its own)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from remittance.domain.appeals import AppealRules
from remittance.domain.contracts import ContractedRates
from remittance.domain.denials import DenialClassifier, DenialRules
from remittance.domain.duplicates import DuplicatePaymentRules
from remittance.domain.posting import RemittancePosting
from remittance.domain.secondary_balances import SecondaryFollowUp


@dataclass(frozen=True)
class Rulebook:
    posting: RemittancePosting  # rules/posting.yaml: PLB accounts, coordination of benefits
    duplicate_payments: tuple[DuplicatePaymentRules, ...]  # rules/posting.yaml: duplicate_payments
    secondary_follow_up: tuple[SecondaryFollowUp, ...]  # rules/posting.yaml: secondary_follow_up
    denials: DenialRules  # rules/denials.yaml
    contracted_rates: ContractedRates  # rules/contracted_rates.yaml
    appeals: AppealRules  # rules/appeals.yaml
    versions: Mapping[str, str] = field(default_factory=dict)
    classifier: DenialClassifier = field(init=False)

    def __post_init__(self) -> None:
        # One classifier for every ERA: it remembers the rule block per date and the category per CARC/RARCs.
        object.__setattr__(self, "classifier", DenialClassifier(self.denials))
