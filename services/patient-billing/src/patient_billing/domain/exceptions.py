"""Domain errors; messages name fields, never patient data."""

from __future__ import annotations


class PatientBillingError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidAmount(PatientBillingError):
    pass


class AccountNotFound(PatientBillingError):
    pass
