"""Refusals of the patient documents (messages name fields, never patient data); ``bootstrap`` maps each to
problem+json once."""

from __future__ import annotations

from patient_billing.domain.exceptions import PatientBillingError


class DocumentRefused(PatientBillingError):
    """The document cannot be made or changed this way (an estimate issued twice, a dispute out of its window)."""


class DocumentFactsMissing(PatientBillingError):
    """Something a document must show is not on file (the practice's letterhead, a clinician's license...)."""


class DocumentNotFound(PatientBillingError):
    pass


class LinkExpired(PatientBillingError):
    """A document link past its expiry (the patient signs in to the portal instead)."""
