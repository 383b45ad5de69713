"""Fake counterparties for ``make run`` and tests: the sandbox clearinghouse (``clearinghouse.py``: a drop folder
that answers every 837P with a 999 and every 276 with a 277, as a clearinghouse and a payer would)."""
