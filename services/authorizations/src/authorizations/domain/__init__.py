"""Authorizations domain: pure Python, no I/O. What the adapters call:

* ``ledger.AuthorizationLedger(rules=PayerAuthorizationRules.from_dict(data))``: ``add_authorization(auth)``,
  ``apply(VisitCompleted | VisitCorrected | VisitVoided) -> list[LedgerChange]``, ``balance(number)``,
  ``allocation_of(visit_id)``, ``findings()`` (``MissingAuthorization``), ``status_of(number, today)``.
* ``renewals.forecast_exhaustion(ledger, number, scheduled, today)``,
  ``renewals.renewal_tasks(ledger, scheduled, today, RenewalRules.from_dict(data), reviews)``,
  ``renewals.ConcurrentReviewLog`` (record / decide concurrent-review submissions).
* ``kpi.uninterrupted_coverage(episodes, authorizations, visits_missing_authorization) -> CoverageKpi``,
  ``kpi.episodes_from_visits(visits, max_gap_days)``.
* ``x12_278.build_278(request, control, parties) -> str`` (005010X217 request), ``x12_278.read_278(text)``.
* ``sandbox_reviewer.SandboxReviewer(ReviewRules.from_dict(data)).review(text_278) -> ReviewDecision``.
* ``credentialing.CredentialingRegistry.from_dict(data).is_credentialed(npi, payer_id, plan, dos)``.

Data shipped in ``authorizations/domain/rules/`` (read by adapters, parsed by the ``from_dict`` loaders):
``payer_authorization_rules.json``, ``renewal.json``, ``sandbox_reviewer.json``.
"""
