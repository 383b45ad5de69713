"""Eligibility domain: pure Python, no I/O. What the adapters call:

* ``x12_270.build_270(request, control, parties) -> str`` builds the 005010X279A1 inquiry;
  ``build_270_batch([build_270_transaction(request, st02, created, parties), ...], control, parties)`` a batch
  file (one ST per inquiry); ``x12_270.read_270(text)`` reads either (the sandbox payer's side).
* ``x12_271.read_271(text, phrases=None) -> list[EligibilityResult]``; ``result.to_dict()`` is JSON-able
  (for ``rcm x12 read``). Garbage raises ``rcm_shared.x12.X12SyntaxError`` only.
* ``sandbox_payer.SandboxPayer(SandboxPlanTable.from_dict(data)).answer(text_270, control) -> str`` (a 271).
* ``freshness.FreshnessRules.from_dict(data).policy_for(payer_id, day).decide(cached, visit_date, ...)``.
* ``session_limits.SessionLimitTracker`` counts sessions per benefit year and raises alerts.
* ``nightly_batch.NightlyBatchRules.from_dict(data).in_force(day)`` (when the nightly batch runs) and
  ``nightly_batch.plan_batch(visits, records, freshness, limits)`` (who goes into it).
* ``payer_limits.PayerLimitRules.from_dict(data).for_payer(payer_id, day)`` and ``payer_limits.pick_rechecks(...)``
  (rates and caps per payer); ``work_queue.attention_for(result)`` (which answers need a person).

Data shipped in ``eligibility/domain/rules/`` (read by adapters, parsed by the ``from_dict`` loaders):
``sandbox_payer.json``, ``freshness.json``, ``telehealth_phrases.json``, ``nightly_batch.json``,
``payer_limits.json``.
"""
