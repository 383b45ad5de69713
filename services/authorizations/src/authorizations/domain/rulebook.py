"""Every rules file of authorizations, read once by the composition root (``bootstrap.load_rulebook``) and handed to
the use cases: a test hands over its own. ``docs/rules.md`` lists the files and what each decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from authorizations.domain.credentialing import SupervisionPolicy
from authorizations.domain.determination import DeterminationRules
from authorizations.domain.kpi import CoverageKpiRules
from authorizations.domain.renewals import RenewalRules
from authorizations.domain.review_routes import ReviewRoutes
from authorizations.domain.unit_ledger import LedgerRules

#: The files a visit's determination depends on: their versions are stamped on it.
DETERMINATION_FILES = ("prior_authorization_requirements.yaml", "supervision_policies.yaml", "cancellation.yaml")


@dataclass(frozen=True)
class Rulebook:
    ledger: LedgerRules  # prior_authorization_requirements.yaml, cancellation.yaml
    supervision_defaults: tuple[SupervisionPolicy, ...]  # supervision_policies.yaml: the payers' defaults
    renewal: RenewalRules  # renewal.yaml
    review_routes: ReviewRoutes  # utilization_review.yaml
    coverage: CoverageKpiRules  # coverage_kpi.yaml
    determinations: DeterminationRules  # determinations.yaml
    versions: Mapping[str, str]  # file name -> its version

    @property
    def determination_version(self) -> str:
        """``rules_version`` of visit-authorization-determined: the versions of the files its answer comes from."""
        return ",".join(f"{name.removesuffix('.yaml')}@{self.versions.get(name, '?')}" for name in DETERMINATION_FILES)
