"""Who is on a document: the practice's letterhead (name, address, NPI, tax ID, time zone, statement day), its
clinicians (credential, license, NPI), and its patients and guarantors (name, date of birth, mailing address, email).
PHI: the routes that call these are audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from patient_billing.adapters.documents.repository import DocumentsRepository
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork


@dataclass(frozen=True)
class PracticeProfile:
    practice_id: str
    name: str
    address_lines: tuple[str, ...]
    phone: str
    npi: str
    tax_id: str
    time_zone: str | None = None
    statement_day: int | None = None


@dataclass(frozen=True)
class ClinicianRecord:
    practice_id: str
    npi: str
    name: str
    credential: str
    license_number: str
    license_state: str


@dataclass(frozen=True)
class PersonRecord:
    practice_id: str
    person_id: str
    name: str
    date_of_birth: date | None
    address_lines: tuple[str, ...]
    email: str | None


async def put_practice(uow: PatientBillingUnitOfWork, profile: PracticeProfile, *, at: datetime) -> None:
    await DocumentsRepository(uow.session).put_practice(
        profile.practice_id, name=profile.name, address_lines=list(profile.address_lines), phone=profile.phone,
        npi=profile.npi, tax_id=profile.tax_id, time_zone=profile.time_zone, statement_day=profile.statement_day,
        updated_at=at)


async def put_clinician(uow: PatientBillingUnitOfWork, record: ClinicianRecord, *, at: datetime) -> None:
    await DocumentsRepository(uow.session).put_clinician(
        record.practice_id, record.npi, name=record.name, credential=record.credential,
        license_number=record.license_number, license_state=record.license_state, updated_at=at)


async def put_person(uow: PatientBillingUnitOfWork, record: PersonRecord, *, at: datetime) -> None:
    await DocumentsRepository(uow.session).put_person(
        record.practice_id, record.person_id, name=record.name, date_of_birth=record.date_of_birth,
        address_lines=list(record.address_lines), email=record.email, updated_at=at)
