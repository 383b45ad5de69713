"""Request/response base models and the field types every service's request schemas share.

Each type refuses, naming the field (problem+json 422 through ``errors.py``), what cannot be real or cannot be
filed: money as a float or an exponent, dates before 1900 or in 2999, procedure codes that are not codes,
X12 delimiters in what goes into an X12 element. The rules are ``rcm_shared.validation`` (pure), so a CSV
import applies the same ones.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from rcm_shared import validation as v

# Money: a decimal string ("125.00") or a whole JSON integer. Described as a string with a pattern, so clients
# (and schemathesis) send what is accepted.
Money = Annotated[Decimal, BeforeValidator(v.parse_money),
                  WithJsonSchema({"type": "string", "pattern": v.MONEY_PATTERN, "examples": ["125.00"]})]
NonNegativeMoney = Annotated[Decimal, BeforeValidator(v.parse_money), Field(ge=0),
                             WithJsonSchema({"type": "string", "pattern": v.UNSIGNED_MONEY_PATTERN,
                                             "examples": ["125.00"]})]
PositiveMoney = Annotated[Decimal, BeforeValidator(v.parse_money), Field(gt=0),
                          WithJsonSchema({"type": "string", "pattern": v.UNSIGNED_MONEY_PATTERN,
                                          "examples": ["125.00"]})]

# Dates: any date a person or payer could mean; a birth date not in the future; a date of service (or of an
# authorization window, a booking) not past the horizon of bookings.
PlausibleDate = Annotated[date, AfterValidator(v.check_plausible_date)]
BirthDate = Annotated[date, AfterValidator(v.check_birth_date)]
DateOfService = Annotated[date, AfterValidator(v.check_date_of_service)]

ProcedureCode = Annotated[str, Field(pattern=v.PROCEDURE_CODE_PATTERN, examples=["90837"],
                                     description="CPT (5 characters) or HCPCS level II (a letter and 4 digits)")]
DiagnosisCode = Annotated[str, Field(pattern=v.DIAGNOSIS_CODE_PATTERN, examples=["F41.1"],
                                     description="ICD-10-CM, with or without the dot")]
# Text that goes into an X12 element as it is (ids, member ids, payer ids): delimiters are refused, never
# dropped. Names may be cleaned by the writers instead; this type is for values that must arrive unaltered.
X12Text = Annotated[str, AfterValidator(v.check_x12_text)]
# Free text stored and shown, never filed: control characters refused (a NUL cannot even be stored).
PlainText = Annotated[str, AfterValidator(v.check_no_control_characters)]
MemberId = Annotated[X12Text, Field(min_length=2, max_length=80, examples=["SBX000001"],
                                    description="NM109 as the payer issued it (X12 delimiters are refused)")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel):
    items: list[Any]
    next_cursor: str | None = None
