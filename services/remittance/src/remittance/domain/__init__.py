"""Pure domain of the remittance service (no I/O, no frameworks).

* ``era_reader``: ``iter_remittance(source, strict=False)`` streams an 835 as header / claim payments /
  summary per ST, with line, claim and transaction balancing; ``read_remittances(source)`` gathers it.
* ``model``: the records it yields (``RemittanceHeader``, ``ClaimPayment``, ``ServiceLine``,
  ``RemittanceSummary``, ``BalanceIssue``...) and ``Remittance835Error``.
* ``era_json``: ``to_json_dict(remittances)`` for ``rcm x12 read FILE``.
* ``era_writer``: ``write_835(...)``, a small writer for fixtures and sandbox ERAs.
* ``posting``: ``RemittancePosting`` (journal entries: payments, crossover to the next payer and its
  settlement, reversals of a whole posting) and ``Ledger``; coordination rules in ``rules/posting.yaml``.
* ``denials``: ``DenialRules``, ``DenialClassifier``, ``DenialRouter``, ``DenialPatternDetector``,
  ``DenialPatternWatch``, ``UnderpaymentCheck``; rules data in ``rules/denials.yaml`` and ``rules/posting.yaml``.
"""
