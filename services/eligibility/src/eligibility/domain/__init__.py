"""Eligibility's domain: rules only, pure Python, no I/O (no clock, no database, no network).

* ``benefits``: what we ask a payer (270) and what it answers (``PayerAnswer``), and the ``EligibilityResult``.
* ``coverage``: the coverage decision on an answer (status, next action, which AAA rejections may be retried).
* ``model``: the aggregates (coverage check, benefits and insurance on file, scheduled visit, session limit,
  re-check, work item, nightly batch run); ``commands``, ``events``, ``exceptions``.
* Rules, each with its file in ``rules/`` (read in ``bootstrap.py``, handed in as ``rulebook.EligibilityRules``):
  ``freshness`` (when stored benefits must be asked again), ``payer_limits`` (rates, batch caps, retries),
  ``nightly_batch`` (when the batch runs; who goes into it: ``plan_batch``), ``session_limits`` (counting visits
  against a yearly cap; the alert threshold), ``telehealth`` (MSG phrases), ``work_queue`` (which answers need a
  person).

Wire formats are in ``eligibility.edi``, the sandbox payer in ``eligibility.sandbox``.
"""
