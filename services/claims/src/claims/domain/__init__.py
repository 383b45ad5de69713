"""Claims domain: pure Python (no I/O, no frameworks). What the adapters and handlers call:

Rules (data shipped in ``claims/domain/rules/``: ``coding.yaml``, ``payers.yaml``, ``fees.yaml``; an adapter
reads them, e.g. ``resources.files("claims.domain").joinpath("rules/coding.yaml").read_text()``):
* ``rulebook.Rulebook.from_yaml(coding, payers, fees)`` (or ``from_documents(dicts)``); queried by date:
  ``coding_ruleset(day)``, ``payer_terms(payer_id, day)``, ``fee(payer_id, day, code, modifiers)``,
  ``self_pay_rate(day, code)``.

Charge capture and claims:
* ``coding.ChargeCoder(rulebook).code(model.CompletedVisit) -> CodingResult`` (lines with rule ids, POS,
  findings such as PSYCHOTHERAPY_UNDER_MINIMUM; ``result.billable``).
* ``coding.draft_claim(result, visit, claim_id=, patient_control_number=, payer=, billing_provider=,
  subscriber=, patient=None, prior_authorization=None, other_payer=None) -> model.Claim``.
* ``model.Claim``: the aggregate (``record_scrub``, ``mark_submitted``, ``accept``, ``reject``,
  ``record_adjudication``, ``correct`` -> replacement, ``appeal``, ``void`` -> void claim, ``close``;
  ``pull_events()``); illegal moves raise ``exceptions.IllegalClaimTransition``.
* ``scrubbing.ClaimScrubber(rulebook).scrub(claim, scrubbing.ScrubFacts(...)) -> tuple[Finding, ...]``;
  ``scrubbing.claim_fingerprint(claim)``, ``scrubbing.npi_is_valid(npi)``.

X12:
* ``x12_837.iter_837p(claims, InterchangeHeader) -> Iterator[str]`` (streaming), ``iter_837p_bytes``,
  ``write_837p``, ``split_by_payer``, ``Interchange837P(header)`` (``add(page) -> str``, ``close() -> str``:
  claims a page at a time); ``x12_837_reader.read_837p(text) -> dict``.
* ``acknowledgments.read_999``, ``acknowledgments.read_277ca``, ``acknowledgments.build_999_for`` (text or
  its pieces).
* ``claim_status.build_276([StatusInquiry.from_claim(claim, trace)], header)``, ``claim_status.read_277``.
"""
