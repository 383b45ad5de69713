"""What the routes reach through one typed dependency: the services the composition root built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from rcm_shared.clock import Clock
from rcm_shared.db.database import Database

from patient_billing.adapters.payment_processor import PaymentProcessor
from patient_billing.config import PatientBillingSettings
from patient_billing.domain.collections import DunningRules
from patient_billing.domain.plans import PlanRules
from patient_billing.domain.pricing import PricingRules
from patient_billing.domain.subscriptions import SubscriptionRules
from patient_billing.service_layer.document_kit import DocumentKit
from patient_billing.service_layer.unit_of_work import UnitsOfWork


@dataclass(frozen=True)
class PatientBillingServices:
    settings: PatientBillingSettings
    db: Database
    clock: Clock
    uows: UnitsOfWork
    rules: PricingRules
    processor: PaymentProcessor
    payment_rules: PaymentRules
    documents: DocumentKit  # statements, superbills, Good Faith Estimates: their rules and ports


@dataclass(frozen=True)
class PaymentRules:
    """The rules files of plans, collections and subscriptions (payment_plans.yaml, dunning.yaml,
    subscriptions.yaml)."""

    plans: PlanRules
    dunning: DunningRules
    subscriptions: SubscriptionRules


def _services(request: Request) -> PatientBillingServices:
    services = request.app.state.services
    assert isinstance(services, PatientBillingServices)
    return services


ServicesDep = Annotated[PatientBillingServices, Depends(_services)]
