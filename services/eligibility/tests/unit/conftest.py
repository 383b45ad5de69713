"""Builders for eligibility's unit tests: rules files from data, the shipped rules, the sandbox plan table, and the
271 as the service reads it (parsed, then decided)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from eligibility.bootstrap import load_rulebook, sandbox_plan_table
from eligibility.domain.benefits import EligibilityResult
from eligibility.domain.coverage import assess_all
from eligibility.domain.rulebook import EligibilityRules
from eligibility.domain.telehealth import TelehealthPhrases
from eligibility.edi.x12_271 import read_271
from eligibility.sandbox.gateway import SandboxPayerGateway
from eligibility.sandbox.payer import SandboxPlanTable
from eligibility.service_layer.coverage_checks import PayerLink
from rcm_shared.rules import RulesFile
from rcm_shared.x12.envelope import InterchangeParties

from .fakes import FakeUnitOfWork


def rules_file(name: str, data: Mapping[str, Any]) -> RulesFile:
    """A rules file as ``load_rules`` gives it, from data (its version and what it decides do not matter here)."""
    return RulesFile(name, "test", "a test", data, f"<{name}>")


def shipped_rules() -> EligibilityRules:
    return load_rulebook()


def shipped_plan_table() -> SandboxPlanTable:
    return sandbox_plan_table()


def decided(text: str, phrases: TelehealthPhrases | None = None) -> list[EligibilityResult]:
    """What the service makes of a 271: the reader's answers with the coverage decision on each."""
    return assess_all(read_271(text, phrases))


PARTIES = InterchangeParties(sender_id="RCMPLATFORM", receiver_id="CLEARINGHOUSE")
NOW = datetime(2026, 12, 3, 1, 8, tzinfo=UTC)  # 20:08 on 2 December in New York, the practice's zone


def sandbox_payer() -> PayerLink:
    return PayerLink(SandboxPayerGateway(shipped_plan_table()), PARTIES)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()
