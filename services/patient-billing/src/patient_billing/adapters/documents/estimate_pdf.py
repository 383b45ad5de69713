"""A Good Faith Estimate as a PDF, with what 45 CFR 149.610(c) asks of it: the patient, the provider with NPI and
TIN, each expected service with its code and expected charge, the diagnosis where known, the period it covers, and
the notices on the right to dispute."""

from __future__ import annotations

from patient_billing.adapters.documents import kernel as k
from patient_billing.domain.estimates import EstimateDocument
from patient_billing.domain.statements import dollars


def render_estimate(e: EstimateDocument) -> bytes:
    p = e.practice
    flow: list[object] = [
        k.boxed([[k.para(p.name, "title"), k.lines([*p.address_lines, p.phone])],
                 [k.para("GOOD FAITH ESTIMATE", "title"),
                  k.grid([["Date issued", e.issued_on.strftime("%B %-d, %Y")],
                          ["Estimate", f"{e.estimate_id.split('-')[0].upper()} (version {e.version})"],
                          ["Covers", f"{e.covers_from.strftime('%m/%d/%Y')} to {e.covers_to.strftime('%m/%d/%Y')}"],
                          ["Total estimated", dollars(e.plan.total)]], [0.18, 0.26], header=False, right=(1,))]],
                [0.55, 0.45]),
        k.spacer(8),
        k.para("You have the right to receive a Good Faith Estimate explaining how much your medical care will "
               "cost.", "h2"),
        k.para("Under the law, health care providers need to give patients who don't have insurance or who are not "
               "using insurance an estimate of the bill for medical items and services."),
        k.para("Patient", "h2"),
        k.grid([["Name", "Date of birth", "Address"],
                [e.patient_name, e.patient_date_of_birth.strftime("%m/%d/%Y") if e.patient_date_of_birth else "",
                 ", ".join(e.patient_address)]], [0.3, 0.15, 0.55]),
        k.para("Provider", "h2"),
        k.grid([["Provider", "Credential", "NPI", "Tax ID (TIN)", "Address"],
                [p.name, "", p.npi, p.tax_id, ", ".join(p.address_lines)],
                *[[c.name, c.credential, npi, c.tax_id or p.tax_id, ", ".join(c.address_lines or p.address_lines)]
                  for npi, c in sorted(e.clinicians.items())]], [0.25, 0.1, 0.13, 0.13, 0.39]),
        k.para("Diagnosis", "h2"),
        k.para(", ".join(e.plan.diagnoses) if e.plan.diagnoses else "Not yet known."),
    ]
    if e.plan.reason:
        flow.append(k.para(f"Reason for care: {e.plan.reason}"))
    flow.append(k.para("Expected services and charges", "h2"))
    rows: list[list[object]] = [["Service", "Code", "Provider NPI", "Quantity", "Expected charge each",
                                 "Expected total"]]
    for s in e.plan.services:
        rows.append([s.description, " ".join([s.procedure_code, *s.modifiers]), s.provider_npi, str(s.quantity),
                     dollars(s.unit_charge), dollars(s.charge)])
    rows.append(["Total estimated charges", "", "", "", "", dollars(e.plan.total)])
    flow.append(k.grid(rows, [0.34, 0.12, 0.14, 0.1, 0.15, 0.15], right=(3, 4, 5), total_row=True))
    when = (f"First service expected on {e.first_service_date.strftime('%B %-d, %Y')}. "
            if e.first_service_date else "")
    flow.append(k.para(f"{when}This estimate covers services from {e.covers_from.strftime('%B %-d, %Y')} to "
                       f"{e.covers_to.strftime('%B %-d, %Y')} (at most 12 months); a new estimate is given after "
                       "that, or sooner if the plan of care changes.", "small"))
    if e.replaces_estimate_id:
        flow.append(k.para(f"This estimate replaces estimate {e.replaces_estimate_id.split('-')[0].upper()}.",
                           "small"))
    flow.append(k.para("Disclaimer and your right to dispute", "h2"))
    for notice in e.notices:
        flow.append(k.para(notice, "small"))
        flow.append(k.spacer(3))
    return k.render(flow, title=f"Good Faith Estimate {e.issued_on.isoformat()}", author=p.name,
                    subject="Good Faith Estimate (45 CFR 149.610)", footer=f"Good Faith Estimate {e.estimate_id} "
                    f"v{e.version}")
