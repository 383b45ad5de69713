"""Composition root of patient billing: the only place that wires anything. The database, the clock, the
unit-of-work factory, the consumer (the message map), the HTTP app and its one typed dependency; and the one
mapping of domain refusals to problem+json."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI
from rcm_shared.clock import Clock, SystemClock
from rcm_shared.contracts import topics
from rcm_shared.db.database import Database
from rcm_shared.messaging import EventConsumer, event_dispatcher
from rcm_shared.rules import RulesError, RulesFile, load_rules
from rcm_shared.service import ServiceRuntime, create_service_app
from rcm_shared.unit_of_work import TableOutbox, UnitOfWorkFactory
from rcm_shared.work_items.api import WorkQueue, work_items_router
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters import event_mapper
from patient_billing.adapters.documents.mailer import Mailer, SmtpMailer
from patient_billing.adapters.documents.payment_links import HostedPageLinks, PaymentLinks, ProcessorHostedLinks
from patient_billing.adapters.documents.rendering import StatementRenderer
from patient_billing.adapters.orm import metadata, platform
from patient_billing.adapters.payment_processor import StripeProcessor
from patient_billing.adapters.payments_orm import work_item_tables
from patient_billing.config import PatientBillingSettings
from patient_billing.domain.collections import DunningRules
from patient_billing.domain.document_errors import (
    DocumentFactsMissing,
    DocumentNotFound,
    DocumentRefused,
    LinkExpired,
)
from patient_billing.domain.estimates import CalendarRules, EstimateRules
from patient_billing.domain.exceptions import (
    AccountNotFound,
    AlreadyReversed,
    CardNotChargeable,
    ConsentRequired,
    EntryNotFound,
    FeeNotAllowed,
    InvalidAmount,
    InvalidGuarantor,
    NoFeeScheduled,
    NotRefundable,
    NotReversible,
    PaymentNotFound,
    PlanRefused,
    ProcessorRefused,
    ProcessorUnavailable,
    RefundExceedsPaid,
    RulesNotInForce,
)
from patient_billing.domain.plans import PlanRules
from patient_billing.domain.pricing import FeeRules, FinancialPolicyRules, PricingRules, SlidingScaleRules
from patient_billing.domain.statements import StatementRules
from patient_billing.domain.subscriptions import SubscriptionNotFound, SubscriptionRefused, SubscriptionRules
from patient_billing.entrypoints.api import router
from patient_billing.entrypoints.dependencies import PatientBillingServices, PaymentRules
from patient_billing.entrypoints.documents_api import router as documents_router
from patient_billing.entrypoints.fhir import routers as fhir_routers
from patient_billing.entrypoints.payments_api import router as payments_router
from patient_billing.entrypoints.subscriptions_api import router as subscriptions_router
from patient_billing.service_layer import card_payments, collections, plans, subscriptions
from patient_billing.service_layer.document_kit import DocumentKit, DocumentRules
from patient_billing.service_layer.handlers import message_map
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork, UnitsOfWork

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
RULES = "patient_billing.domain"

#: Every refusal of the domain as problem+json, once.
DOMAIN_ERRORS: Mapping[type[Exception], tuple[int, str]] = {
    InvalidAmount: (422, "invalid-amount"),
    RefundExceedsPaid: (422, "refund-exceeds-paid"),
    InvalidGuarantor: (422, "validation"),
    AccountNotFound: (404, "not-found"),
    EntryNotFound: (404, "not-found"),
    PaymentNotFound: (404, "not-found"),
    AlreadyReversed: (409, "already-reversed"),
    NotReversible: (409, "not-reversible"),
    NoFeeScheduled: (422, "no-fee-scheduled"),
    FeeNotAllowed: (422, "fee-not-allowed"),
    RulesNotInForce: (422, "rules-not-in-force"),
    ConsentRequired: (422, "consent-required"),
    NotRefundable: (409, "not-refundable"),
    ProcessorUnavailable: (503, "processor-unavailable"),
    ProcessorRefused: (422, "processor-refused"),
    CardNotChargeable: (422, "card-not-chargeable"),
    PlanRefused: (422, "plan-refused"),
    DocumentRefused: (422, "document-refused"),
    DocumentFactsMissing: (422, "document-facts-missing"),
    DocumentNotFound: (404, "not-found"),
    LinkExpired: (410, "link-expired"),
    SubscriptionRefused: (422, "subscription-refused"),
    SubscriptionNotFound: (404, "not-found"),
}

#: The work-item queues of patient billing and how a person may close their items.
WORK_QUEUES = {
    card_payments.DECLINED_QUEUE: WorkQueue(card_payments.DECLINED_QUEUE, frozenset(
        {"card_updated", "paid_another_way", "written_off", "no_action"})),
    card_payments.MISSED_QUEUE: WorkQueue(card_payments.MISSED_QUEUE, frozenset(
        {"paid", "plan_rearranged", "plan_cancelled", "no_action"})),
    collections.COLLECTIONS_QUEUE: WorkQueue(collections.COLLECTIONS_QUEUE, frozenset(
        {"sent_to_agency", "plan_arranged", "paid", "written_off", "no_action"})),
}


T = TypeVar("T")


def _typed(rules: RulesFile, parse: Callable[[Mapping[str, Any]], T]) -> T:
    """A rules file as its domain object; a problem in it names the file."""
    try:
        return parse(rules.data)
    except RulesError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise RulesError(rules.name, "document", str(exc)) from None


def load_pricing_rules(rules_dir: str | None = None) -> PricingRules:
    """Every rules file of patient billing (a deployment's own copies in ``rules_dir`` first)."""
    def read(name: str) -> RulesFile:
        return load_rules(RULES, name, override_dir=rules_dir)

    return PricingRules(fees=_typed(read("fee_schedules.yaml"), FeeRules.from_dict),
                        sliding_scale=_typed(read("sliding_scale.yaml"), SlidingScaleRules.from_dict),
                        financial_policy=_typed(read("financial_policy.yaml"), FinancialPolicyRules.from_dict))


def load_payment_rules(rules_dir: str | None = None) -> PaymentRules:
    return PaymentRules(
        plans=_typed(load_rules(RULES, "payment_plans.yaml", override_dir=rules_dir), PlanRules.from_dict),
        dunning=_typed(load_rules(RULES, "dunning.yaml", override_dir=rules_dir), DunningRules.from_dict),
        subscriptions=_typed(load_rules(RULES, "subscriptions.yaml", override_dir=rules_dir),
                             SubscriptionRules.from_dict))


def build_processor(settings: PatientBillingSettings) -> StripeProcessor:
    """The stripe client, pointed at the sandbox processor (RCM_PROCESSOR_API_BASE) or at Stripe (empty)."""
    return StripeProcessor(settings.processor_api_key.get_secret_value(),
                           settings.processor_webhook_secret.get_secret_value(),
                           api_base=settings.processor_api_base or None)



def load_document_rules(rules_dir: str | None = None) -> DocumentRules:
    """The rules of statements, Good Faith Estimates and the practices' business-day calendars."""
    def read(name: str) -> RulesFile:
        return load_rules(RULES, name, override_dir=rules_dir)

    statements, estimates, calendar = (read("statements.yaml"), read("good_faith_estimates.yaml"),
                                       read("practice_calendar.yaml"))
    return DocumentRules(
        statements=_typed(statements, lambda d: StatementRules.from_dict(d, statements.version)),
        estimates=_typed(estimates, lambda d: EstimateRules.from_dict(d, estimates.version)),
        calendar=_typed(calendar, lambda d: CalendarRules.from_dict(d, calendar.version)))


def build_document_kit(settings: PatientBillingSettings, clock: Clock, *, mailer: Mailer | None = None,
                       payment_links: PaymentLinks | None = None, processor: Any = None) -> DocumentKit:
    """Statements link to the card processor's hosted page (``processor``); without one, to
    ``{RCM_PAYMENT_PROCESSOR_URL}/pay/{link_id}``."""
    if mailer is None and settings.smtp_host:
        mailer = SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    links = payment_links or (ProcessorHostedLinks(processor) if processor is not None
                              else HostedPageLinks(settings.payment_processor_url))
    return DocumentKit(rules=load_document_rules(settings.rules_dir), clock=clock, payment_links=links, mailer=mailer,
                       portal_url=settings.portal_url, print_dir=settings.print_dir,
                       statement_batch=settings.statement_batch,
                       renderer=StatementRenderer(settings.document_render_workers))


def build_services(settings: PatientBillingSettings, clock: Clock, rules: PricingRules | None = None,
                   processor: Any = None, documents: DocumentKit | None = None) -> PatientBillingServices:
    db = Database(settings, metadata, platform)
    rules = rules or load_pricing_rules(settings.rules_dir)
    outbox = TableOutbox(db, event_mapper.SOURCE)

    def unit_of_work(db: Database | None, *, session: AsyncSession | None = None, causation: Any = None
                     ) -> PatientBillingUnitOfWork:
        return PatientBillingUnitOfWork(db, event_mapper.announcements, outbox, session=session, causation=causation)

    uows: UnitsOfWork = UnitOfWorkFactory(unit_of_work, db)
    processor = processor or build_processor(settings)
    return PatientBillingServices(settings, db, clock, uows, rules, processor, load_payment_rules(settings.rules_dir),
                                  documents or build_document_kit(settings, clock, processor=processor))


def build_runtime(services: PatientBillingServices) -> ServiceRuntime:
    settings, db = services.settings, services.db
    handler = event_dispatcher(message_map(services.uows, services.rules, services.clock, services.documents))
    consumers = [
        # patient responsibility from ERAs; completed visits (self-pay charges, insurance pending, corrections)
        EventConsumer(settings, db.sessions, platform, name="patient-accounts",
                      topics=[topics.PATIENT_RESPONSIBILITY_ASSESSED, topics.VISIT_COMPLETED], handler=handler),
        # the schedule (eligibility owns it): a no-show or late cancel is the written policy's fee
        EventConsumer(settings, db.sessions, platform, name="missed-appointment-fees",
                      topics=[topics.VISIT_SCHEDULED], handler=handler),
        # what the plan did with each claim (billed, paid, adjusted), for the patient's statement
        EventConsumer(settings, db.sessions, platform, name="statement-facts",
                      topics=[topics.CLAIM_PAYMENT_POSTED], handler=handler),
        # secure messages metered per patient for messaging subscriptions (subscriptions.py)
        EventConsumer(settings, db.sessions, platform, name="message-metering",
                      topics=[topics.MESSAGE_EXCHANGED], handler=handler),
    ]
    periodic = [
        ("card-payment-retries", settings.payment_retry_seconds, lambda: card_payments.retry_pending(
            services.uows, services.processor, services.clock, services.payment_rules.plans)),
        ("plan-installments", settings.installments_seconds, lambda: plans.run_installments(
            services.uows, services.processor, services.payment_rules.plans, services.clock)),
        ("collections", settings.collections_seconds, lambda: collections.run_collections(
            services.uows, services.payment_rules.dunning, services.clock)),
        ("subscription-periods", settings.subscription_close_seconds, lambda: subscriptions.close_period(
            services.uows, services.payment_rules.subscriptions, services.clock)),
    ]
    return PatientBillingRuntime(settings, db, MIGRATIONS, consumers=consumers, periodic=periodic,
                                 renderer=services.documents.renderer)


class PatientBillingRuntime(ServiceRuntime):
    """The kernel's runtime, also shutting the statement renderer's worker processes down when the service stops."""

    def __init__(self, *args: Any, renderer: StatementRenderer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.renderer = renderer

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            self.renderer.close()


def build_app(settings: PatientBillingSettings | None = None, clock: Clock | None = None,
              processor: Any = None, *, mailer: Mailer | None = None, payment_links: PaymentLinks | None = None
              ) -> FastAPI:
    settings = settings or PatientBillingSettings()
    clock = clock or SystemClock(settings.practice_time_zone)
    processor = processor or build_processor(settings)
    services = build_services(settings, clock, processor=processor, documents=build_document_kit(
        settings, clock, mailer=mailer, payment_links=payment_links, processor=processor))
    work_items = work_items_router(service="patient-billing", tables=work_item_tables, queues=WORK_QUEUES,
                                   read_scope="patient-billing:read", write_scope="patient-billing:write")
    app = create_service_app(
        settings, build_runtime(services), title="Patient billing",
        description="The patient ledger (double entry, integer cents): accounts per responsible party, self-pay "
                    "charges, patient responsibility from ERAs with its reasons, payments, refunds, adjustments, "
                    "reversals, aging and the trial balance. Patient billing owns patient A/R.",
        routers=[router, payments_router, documents_router, subscriptions_router, work_items, *fhir_routers],
        domain_errors=DOMAIN_ERRORS, clock=clock)
    app.state.services = services
    return app
