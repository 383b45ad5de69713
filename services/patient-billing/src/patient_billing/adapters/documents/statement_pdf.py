"""A statement as a PDF: what the guarantor owes, for whom, why, by when, and how to pay (link and QR code)."""

from __future__ import annotations

from patient_billing.adapters.documents import kernel as k
from patient_billing.domain.ledger import AGING_BUCKETS
from patient_billing.domain.statements import Statement, dollars

STATUS_WORDS = {"due": "Due", "pending_insurance": "Not due: insurance", "payment_plan": "Not due: plan",
                "gfe_dispute": "Not due: dispute"}
HOLD_WORDS = {"pending_insurance": "Waiting for your insurance", "payment_plan": "On your payment plan",
              "gfe_dispute": "Under a Good Faith Estimate dispute"}
ACTIVITY_WORDS = {"payment": "Payment received, thank you", "refund": "Refund sent", "adjustment": "Adjustment",
                  "write_off": "Balance written off", "reversal": "Correction", "transfer": "Moved between accounts"}


def render_statement(s: Statement) -> bytes:
    practice = s.practice
    head = k.boxed([
        [k.para(practice.name, "title"), k.lines([*practice.address_lines, practice.phone])],
        [k.para("STATEMENT", "title"), k.grid([
            ["Statement date", s.statement_date.strftime("%B %-d, %Y")],
            ["Account number", s.account_number],
            ["Amount due", dollars(s.amount_due)],
            ["Please pay by", s.due_date.strftime("%B %-d, %Y")]], [0.2, 0.22], header=False, right=(1,))],
    ], [0.55, 0.45])
    to = k.lines(["Statement for", s.guarantor.name, *s.guarantor.address_lines])
    held = sum(s.not_demanded.values())
    due_box = [k.para(f"Amount due: {dollars(s.amount_due)}", "big")]
    if s.amount_due:
        due_box.append(k.para(f"Please pay by {s.due_date.strftime('%B %-d, %Y')}."))
    elif s.credit_balance:
        due_box.append(k.para(f"Nothing is due. You have a credit of {dollars(s.credit_balance)}; we will refund "
                              "it or apply it to your next visit."))
    else:
        due_box.append(k.para("Nothing is due now."))
    for kind, amount in s.not_demanded.items():
        due_box.append(k.para(f"{HOLD_WORDS.get(kind, kind)}: {dollars(amount)} (shown, not due now)"))
    pay: list[object] = []
    if s.payment_url:
        pay = [k.boxed([
            [k.para("How to pay", "h2"),
             k.para("Pay online with a card at the address below, or scan the code with your phone's camera."),
             k.para(s.payment_url, "cell"),
             k.para(f"The payment link works until {s.links_expire_on.strftime('%B %-d, %Y')}. You can also call "
                    f"us{' at ' + practice.phone if practice.phone else ''} to pay by phone.", "small")],
            k.qr_code(s.payment_url)], [0.8, 0.2])]
    flow: list[object] = [head, k.spacer(10), k.boxed([to, k.panel(due_box, 0.5)], [0.48, 0.52]), k.spacer(8),
                          *pay]

    flow.append(k.para("Your visits and what you owe for each", "h2"))
    rows: list[list[object]] = [["Date of service, patient", "Service", "Billed", "Plan paid", "Adjusted",
                                 "Your share", "Still open", "Why", "Status"]]
    for ln in s.lines:
        rows.append([k.lines([ln.service_date.strftime("%m/%d/%Y"), ln.patient_name], "cell"), ln.description,
                     dollars(ln.charge),
                     dollars(ln.insurance_paid), dollars(ln.insurance_adjusted), dollars(ln.patient_share),
                     dollars(ln.open), ln.reason, STATUS_WORDS.get(ln.status, ln.status)])
    if len(rows) == 1:
        rows.append(["", "Nothing open on this account.", "", "", "", "", "", "", ""])
    flow.append(k.grid(rows, [0.13, 0.15, 0.08, 0.08, 0.09, 0.08, 0.08, 0.21, 0.1], right=(2, 3, 4, 5, 6)))
    if s.pending_visits:
        flow.append(k.para("Visits your insurance is still deciding (nothing to pay for these yet)", "h2"))
        flow.append(k.grid([["Date of service", "Patient"],
                            *[[d.strftime("%m/%d/%Y"), n] for d, n in s.pending_visits]], [0.2, 0.4]))
    if s.activity:
        flow.append(k.para(f"Payments, credits and adjustments since {s.period_start.strftime('%B %-d, %Y')}", "h2"))
        flow.append(k.grid([["Date", "What", "Amount"],
                            *[[m.on.strftime("%m/%d/%Y"), m.description or ACTIVITY_WORDS.get(m.kind, m.kind),
                               dollars(m.amount)] for m in s.activity]], [0.15, 0.6, 0.25], right=(2,)))
    names = [name for name, _, _ in AGING_BUCKETS]
    flow.append(k.para("How old your open balance is (days since the date of service)", "h2"))
    flow.append(k.grid([[*[f"{n} days" for n in names], "Credit", "Balance"],
                        [*[dollars(s.aging.get(n, 0)) for n in names], dollars(s.aging.get("credit", 0)),
                         dollars(s.balance)]], [0.13] * 5 + [0.12, 0.23], right=tuple(range(7))))
    summary = [["Account balance", dollars(s.balance)]]
    if held:
        summary.append(["Shown but not due now", dollars(-held)])
    summary.append(["Amount due", dollars(s.amount_due)])
    flow.append(k.spacer(6))
    flow.append(k.keep(k.grid(summary, [0.3, 0.2], header=False, right=(1,), total_row=True)))
    flow.append(k.spacer(8))
    flow.append(k.para("Questions about this statement? Call us"
                       f"{' at ' + practice.phone if practice.phone else ''}. You can also see this statement and "
                       f"your account online: {s.portal_url}", "small"))
    return k.render(flow, title=f"Statement {s.statement_date.isoformat()}", author=practice.name,
                    subject="Patient statement", footer=f"Statement {s.statement_id} · account {s.account_number}")
