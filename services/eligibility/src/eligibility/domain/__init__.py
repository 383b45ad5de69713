"""Eligibility domain: pure Python, no I/O. What the adapters call:

* ``x12_270.build_270(request, control, parties) -> str`` builds the 005010X279A1 inquiry;
  ``x12_270.read_270(text)`` reads one (the sandbox payer's side).
* ``x12_271.read_271(text, phrases=None) -> list[EligibilityResult]``; ``result.to_dict()`` is JSON-able
  (for ``rcm x12 read``). Garbage raises ``rcm_shared.x12.X12SyntaxError`` only.
* ``sandbox_payer.SandboxPayer(SandboxPlanTable.from_dict(data)).answer(text_270, control) -> str`` (a 271).
* ``freshness.FreshnessRules.from_dict(data).policy_for(payer_id, day).decide(cached, visit_date, ...)``.
* ``session_limits.SessionLimitTracker`` counts sessions per benefit year and raises alerts.

Data shipped in ``eligibility/domain/rules/`` (read by adapters, parsed by the ``from_dict`` loaders):
``sandbox_payer.json``, ``freshness.json``, ``telehealth_phrases.json``.
"""
