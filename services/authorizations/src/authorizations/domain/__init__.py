"""Authorizations domain: the rules, pure Python, no I/O.

* ``model``: ``Authorization``; ``AuthorizationRequest`` (what we ask a payer); ``PriorAuthorizationRequest``, the
  aggregate of one request and its review's life.
* ``ledger``: ``AuthorizationLedger`` (which visit consumes which unit, whatever the order events arrive in) and
  ``UnitLedger``, the aggregate over the (patient, payer) groups a change touches; the payers' requirements.
* ``credentialing``: ``CredentialingRegistry`` (enrollments, supervision, supervisor billing by payer policy).
* ``determination``: a visit's answer (authorization + credentialing) and ``VisitDetermination``.
* ``review`` / ``review_routes``: what a payer's answer means; which channel carries a payer's requests.
* ``renewals``, ``cancellation``, ``kpi``: renewal tasks and forecasts, what a cancellation leaves, the coverage KPI.
* ``commands``, ``events``, ``exceptions``, ``rulebook``.

Rules files in ``rules/`` (YAML, each with ``version`` and ``decides``) are read by ``bootstrap.load_rulebook``.
"""
