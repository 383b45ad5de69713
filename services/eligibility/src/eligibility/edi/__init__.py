"""Wire formats of eligibility: the X12 270 inquiry (``x12_270``: written for payers, read by the sandbox payer)
and the 271 answer (``x12_271``: read into ``PayerAnswer`` values; what they mean is ``domain.coverage``)."""
