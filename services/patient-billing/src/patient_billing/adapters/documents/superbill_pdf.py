"""A superbill as a PDF: letterhead with NPI and tax ID, the rendering clinicians with credential, license and NPI,
the patient, each date of service with its codes, charges and payments, and a signature line. The ``cms1500``
variant lays the same facts out in the CMS-1500's order (box numbers named) for a plan that wants that shape."""

from __future__ import annotations

from patient_billing.adapters.documents import kernel as k
from patient_billing.domain.statements import dollars
from patient_billing.domain.superbills import Superbill, line_charges, pointers


def render_superbill(b: Superbill) -> bytes:
    p = b.practice
    cms = b.variant == "cms1500"
    flow: list[object] = [
        k.boxed([[k.para(p.name, "title"), k.lines([*p.address_lines, p.phone])],
                 [k.para("SUPERBILL" if not cms else "SUPERBILL (CMS-1500 layout)", "title"),
                  k.grid([["Date issued", b.issued_on.strftime("%B %-d, %Y")],
                          ["Billing provider NPI" + (" (33a)" if cms else ""), p.npi],
                          ["Tax ID (EIN)" + (" (25)" if cms else ""), _ein(p.tax_id)]],
                         [0.24, 0.2], header=False, right=(1,))]], [0.55, 0.45]),
        k.spacer(8),
        k.para("Patient" + (" (boxes 2, 3, 5)" if cms else ""), "h2"),
        k.grid([["Name", "Date of birth", "Address"],
                [b.patient_name, b.patient_date_of_birth.strftime("%m/%d/%Y") if b.patient_date_of_birth else "",
                 ", ".join(b.patient_address)]], [0.3, 0.15, 0.55]),
        k.para("Rendering clinician" + (" (boxes 24J, 31)" if cms else ""), "h2"),
        k.grid([["Name", "Credential", "License", "NPI"],
                *[[c.name, c.credential, b.license_numbers.get(npi, ""), npi]
                  for npi, c in sorted(b.clinicians.items())]], [0.35, 0.15, 0.3, 0.2]),
        k.para("Diagnoses (ICD-10-CM)" + (" (box 21)" if cms else ""), "h2"),
        k.grid([["Pointer", "ICD-10-CM code"], *[["ABCDEFGHIJKL"[i], d] for i, d in enumerate(b.diagnoses)]],
               [0.1, 0.3]),
        k.para("Services" + (" (box 24)" if cms else ""), "h2"),
    ]
    rows: list[list[object]] = [["Date of service", "CPT", "Modifiers", "Units", "POS", "Dx pointer", "Clinician NPI",
                                 "Charge", "Paid"]]
    diagnoses = list(b.diagnoses)
    for v in b.visits:
        charges = line_charges(v)
        for i, (s, charge) in enumerate(zip(v.coding.services, charges, strict=True)):
            rows.append([v.coding.date_of_service.strftime("%m/%d/%Y"), s.procedure_code, " ".join(s.modifiers),
                         str(s.units), v.coding.place_of_service or "", pointers(v.coding, diagnoses),
                         v.coding.rendering_npi, dollars(charge), dollars(v.paid) if i == 0 else ""])
    rows.append(["Total", "", "", "", "", "", "", dollars(b.total_charged), dollars(b.total_paid)])
    flow.append(k.grid(rows, [0.13, 0.09, 0.1, 0.07, 0.07, 0.1, 0.16, 0.14, 0.14], right=(3, 7, 8),
                       total_row=True))
    flow.append(k.spacer(4))
    flow.append(k.para(f"Balance after payments: {dollars(b.total_charged - b.total_paid)}. Payments shown are "
                       "what the patient paid this practice; submit this form to your health plan for any "
                       "out-of-network reimbursement.", "small"))
    flow.append(k.spacer(24))
    flow.append(k.keep(k.grid([["Signature of clinician or supplier" + (" (box 31)" if cms else ""), "Date"],
                               ["\n\n", ""]], [0.6, 0.25], shade_header=False),
                       k.para("I certify that the services listed above were medically necessary and were "
                              "personally rendered by me or under my direct supervision.", "small")))
    return k.render(flow, title=f"Superbill {b.issued_on.isoformat()}", author=p.name, subject="Superbill",
                    footer=f"Superbill {b.superbill_id}")


def _ein(tax_id: str) -> str:
    return f"{tax_id[:2]}-{tax_id[2:]}" if len(tax_id) == 9 else tax_id
