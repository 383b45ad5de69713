"""Fake counterparties for ``make run`` and tests: the sandbox payer (``payer.py``: a 271 for each 270, from the
plan table in ``rules/sandbox_payer.yaml``) and its gateway (``gateway.py``: real time and batch mode)."""
