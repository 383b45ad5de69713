"""Settings of the patient-billing service (RCM_* environment). Business numbers live in rules files, not here."""

from __future__ import annotations

from pydantic import SecretStr
from rcm_shared.config import ServiceSettings


class PatientBillingSettings(ServiceSettings):
    service_name: str = "patient-billing"
    http_port: int = 8004
    database_url: str = "sqlite+aiosqlite:///var/patient-billing.db"
    # A folder of rules files replacing the packaged ones of the same name (RCM_RULES_DIR); unset: the packaged ones.
    rules_dir: str | None = None
    # The card processor, through the stripe client. RCM_PROCESSOR_API_BASE: the sandbox processor's URL (the
    # embedded platform's, on port 8011); empty: Stripe itself (then a real sk_ key and the endpoint's whsec_ secret).
    processor_api_base: str | None = "http://127.0.0.1:8011"
    processor_api_key: SecretStr = SecretStr("sk_test_sandbox")
    processor_webhook_secret: SecretStr = SecretStr("whsec_sandbox")
    # How often pending card payments (outage, a statement's autopay date) are asked again, and plan installments
    # and collections steps are looked at (seconds).
    payment_retry_seconds: float = 5.0
    installments_seconds: float = 300.0
    collections_seconds: float = 3600.0

    # Patient documents (statements, superbills, Good Faith Estimates)
    # The card processor's hosted payment page: a statement's link is {payment_processor_url}/pay/{link_id}.
    payment_processor_url: str = "http://127.0.0.1:8011"
    # Where a patient opens a document link (the portal): {portal_url}/documents/{token}.
    portal_url: str = "http://127.0.0.1:8004/portal"
    smtp_host: str | None = None  # unset: statements are not emailed (every one goes to the print file)
    smtp_port: int = 25
    mail_from: str = "statements@practice.invalid"
    print_dir: str = "var/print"  # one print-vendor file per statement run
    statement_batch: int = 100  # accounts stated per transaction in a statement run
    document_render_workers: int = 0  # processes laying statement PDFs out in parallel (0: the service's own)
    subscription_close_seconds: float = 3600.0  # how often last month's subscription periods are closed
