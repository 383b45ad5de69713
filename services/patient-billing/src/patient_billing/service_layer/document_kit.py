"""What the document use cases are handed by the composition root: their rules, their ports (payment links, mail),
the places they write to, and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from rcm_shared.clock import Clock

from patient_billing.adapters.documents.mailer import Mailer
from patient_billing.adapters.documents.payment_links import PaymentLinks
from patient_billing.adapters.documents.rendering import StatementRenderer
from patient_billing.domain.estimates import CalendarRules, EstimateRules
from patient_billing.domain.statements import StatementRules


@dataclass(frozen=True)
class DocumentRules:
    statements: StatementRules
    estimates: EstimateRules
    calendar: CalendarRules


@dataclass(frozen=True)
class DocumentKit:
    rules: DocumentRules
    clock: Clock
    payment_links: PaymentLinks
    mailer: Mailer | None  # None: no SMTP configured, every statement goes to the print file
    portal_url: str
    print_dir: str
    statement_batch: int = 100
    renderer: StatementRenderer = field(default_factory=lambda: StatementRenderer(0))

    def portal_link(self, token: str) -> str:
        return f"{self.portal_url.rstrip('/')}/documents/{token}"
