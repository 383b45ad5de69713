"""Fake counterparties of remittance for ``make run``, ``rcm demo`` and tests: the sandbox payer that answers
submitted claims with 835s."""
