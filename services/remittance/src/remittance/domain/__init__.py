"""Pure domain of the remittance service (no I/O, no frameworks).

The 835 codecs (reader, writer, JSON view) are in ``remittance.edi``.

* ``model``: the records the 835 reader yields (``RemittanceHeader``, ``ClaimPayment``, ``ServiceLine``,
  ``RemittanceSummary``, ``BalanceIssue``...) and ``Remittance835Error``.
* ``posting``: ``RemittancePosting`` (journal entries: payments, crossover to the next payer and its
  settlement, reversals of a whole posting) and ``Ledger``; coordination rules in ``rules/posting.yaml``.
* ``denials``: ``DenialRules``, ``DenialClassifier``, ``DenialRouter``, ``DenialPatternDetector``,
  ``DenialPatternWatch``, ``UnderpaymentCheck``; rules data in ``rules/denials.yaml`` and ``rules/posting.yaml``.
"""
