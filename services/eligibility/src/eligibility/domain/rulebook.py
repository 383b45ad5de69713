"""Every rules file of eligibility, read once (``bootstrap.load_rulebook``) and handed to the use cases that
decide with them; a test builds its own."""

from __future__ import annotations

from dataclasses import dataclass

from eligibility.domain.freshness import FreshnessRules
from eligibility.domain.nightly_batch import NightlyBatchRules
from eligibility.domain.payer_limits import PayerLimitRules
from eligibility.domain.session_limits import SessionLimitRules
from eligibility.domain.telehealth import TelehealthPhrases


@dataclass(frozen=True, slots=True)
class EligibilityRules:
    freshness: FreshnessRules  # rules/freshness.yaml
    payer_limits: PayerLimitRules  # rules/payer_limits.yaml
    nightly_batch: NightlyBatchRules  # rules/nightly_batch.yaml
    session_limits: SessionLimitRules  # rules/session_limits.yaml
    telehealth: TelehealthPhrases  # rules/telehealth_phrases.yaml
