"""Read an 837P (005010X222A1) back into JSON-able dicts (``rcm x12 read FILE``, round-trip tests).

``read_837p(text) -> dict``: ``{"interchange": {...}, "groups": [{"transactions": [{"billing_provider": {...},
"claims": [...]}]}]}``. Amounts stay strings exactly as sent. Malformed X12 raises
``rcm_shared.x12.X12SyntaxError``; a file that is not an 837 raises it too.
"""

from __future__ import annotations

from typing import Any

from rcm_shared.x12 import Segment, X12SyntaxError, detect_delimiters, iter_segments


def _person_from_nm1(elements: list[str]) -> dict[str, Any]:
    def get(i: int) -> str:
        return elements[i] if i < len(elements) else ""

    return {"last_name": get(3), "first_name": get(4), "middle_name": get(5), "id": get(9)}


def _number(seg: Segment, index: int, text: str | None = None) -> int:
    """An N0 element (LX01 line number, SV107 pointer) as an int, or the syntax error that says where."""
    raw = seg.get(index) if text is None else text
    if not raw.isdigit() or not raw.isascii() or len(raw) > 6:
        raise X12SyntaxError("expected a whole number", segment_number=seg.number, segment_id=seg.id, element=index)
    return int(raw)


def read_837p(text: str) -> dict[str, Any]:
    component = detect_delimiters(text).component
    result: dict[str, Any] = {"interchange": {}, "groups": []}
    group: dict[str, Any] | None = None
    tx: dict[str, Any] | None = None
    subscriber: dict[str, Any] = {}
    patient: dict[str, Any] | None = None
    payer: dict[str, Any] = {}
    claim: dict[str, Any] | None = None
    line: dict[str, Any] | None = None
    other: dict[str, Any] | None = None
    line_adj: dict[str, Any] | None = None
    target: dict[str, Any] | None = None  # who N3/N4/DMG belong to
    for seg in iter_segments(text):
        sid = seg.id
        e = seg.elements
        g = seg.get
        if sid == "ISA":
            result["interchange"] = {"sender_id": g(6).strip(), "receiver_id": g(8).strip(),
                                     "date": g(9), "time": g(10), "control_number": g(13), "usage": g(15)}
        elif sid == "GS":
            group = {"control_number": g(6), "version": g(8), "transactions": []}
            result["groups"].append(group)
        elif sid == "ST":
            if g(1) != "837":
                raise X12SyntaxError("not an 837 transaction", segment_number=seg.number, segment_id="ST", element=1)
            tx = {"control_number": g(2), "version": g(3), "billing_provider": {}, "claims": []}
            if group is None:
                raise X12SyntaxError("ST outside a functional group", segment_number=seg.number, segment_id="ST")
            group["transactions"].append(tx)
            claim = line = other = None
        elif tx is None:
            continue
        elif sid == "BHT":
            tx["reference"] = g(3)
        elif sid == "HL":
            level = g(3)
            claim = line = other = line_adj = None
            if level == "22":
                subscriber, patient = {}, None
                target = subscriber
            elif level == "23":
                patient = {}
                target = patient
        elif sid == "SBR":
            if claim is not None:
                other = {"responsibility": g(1), "relationship": g(2), "group_number": g(3),
                         "claim_filing_indicator": g(9), "claim_adjustments": [], "paid": None}
                claim["other_payer"] = other
            else:
                subscriber.update({"responsibility": g(1), "relationship": g(2), "group_number": g(3),
                                   "claim_filing_indicator": g(9)})
        elif sid == "PAT" and patient is not None:
            patient["relationship"] = g(1)
        elif sid == "NM1":
            entity = g(1)
            if entity == "41":
                tx["submitter"] = {"name": g(3), "id": g(9)}
            elif entity == "40":
                tx["receiver"] = {"name": g(3), "id": g(9)}
            elif entity == "85":
                tx["billing_provider"] = {"name": g(3), "npi": g(9)}
                target = tx["billing_provider"]
            elif entity == "IL":
                person = _person_from_nm1(e)
                if other is not None:
                    other["subscriber"] = person
                    target = person
                else:
                    subscriber.update(person)
                    target = subscriber
            elif entity == "PR":
                ref = {"name": g(3), "payer_id": g(9)}
                if other is not None:
                    other["payer"] = ref
                else:
                    payer = ref
                target = ref
            elif entity == "QC" and patient is not None:
                patient.update(_person_from_nm1(e))
                target = patient
            elif entity in ("82", "DQ") and claim is not None:
                key = "rendering" if entity == "82" else "supervising"
                claim[key] = {"last_name": g(3), "first_name": g(4), "npi": g(9)}
                target = claim[key]
        elif sid == "PRV" and target is not None:
            target["taxonomy"] = g(3)
        elif sid == "N3" and target is not None:
            target["address"] = {"line1": g(1), "line2": g(2)}
        elif sid == "N4" and target is not None:
            target.setdefault("address", {}).update({"city": g(1), "state": g(2), "postal_code": g(3)})
        elif sid == "DMG" and target is not None:
            target["birth_date"] = g(2)
            target["gender"] = g(3)
        elif sid == "REF":
            qualifier = g(1)
            if qualifier == "EI":
                tx["billing_provider"]["ein"] = g(2)
            elif claim is not None and qualifier == "G1":
                claim["prior_authorization"] = g(2)
            elif claim is not None and qualifier == "F8":
                claim["payer_claim_number"] = g(2)
        elif sid == "CLM":
            pos, _, freq = (g(5).split(component) + ["", "", ""])[:3]
            claim = {
                "patient_control_number": g(1), "total_charge": g(2), "place_of_service": pos,
                "frequency_code": freq, "subscriber": dict(subscriber), "patient": dict(patient) if patient else None,
                "payer": dict(payer), "diagnoses": [], "lines": [], "prior_authorization": None,
                "payer_claim_number": None, "rendering": None, "supervising": None, "other_payer": None,
            }
            tx["claims"].append(claim)
            line = other = line_adj = None
            target = None
        elif claim is None:
            continue
        elif sid == "HI":
            for composite in e[1:]:
                parts = composite.split(component)
                if len(parts) > 1:
                    claim["diagnoses"].append(parts[1])
        elif sid == "CAS":
            adjustments = [
                {"group": g(1), "reason": e[i], "amount": e[i + 1], "quantity": e[i + 2] if i + 2 < len(e) else ""}
                for i in range(2, len(e), 3)
                if e[i]
            ]
            if line_adj is not None:
                line_adj["adjustments"].extend(adjustments)
            elif other is not None:
                other["claim_adjustments"].extend(adjustments)
        elif sid == "AMT" and other is not None and g(1) == "D":
            other["paid"] = g(2)
        elif sid == "LX":
            line = {"line_number": _number(seg, 1)}
            claim["lines"].append(line)
            line_adj = None
        elif sid == "SV1" and line is not None:
            proc = g(1).split(component)
            line.update({
                "procedure_code": proc[1] if len(proc) > 1 else "", "modifiers": [m for m in proc[2:] if m],
                "charge": g(2), "units": g(4), "place_of_service": g(5) or None,
                "diagnosis_pointers": [_number(seg, 7, p) for p in g(7).split(component) if p],
            })
        elif sid == "SVD" and line is not None:
            proc = g(3).split(component)
            line_adj = {"payer_id": g(1), "paid": g(2), "procedure_code": proc[1] if len(proc) > 1 else "",
                        "modifiers": [m for m in proc[2:] if m], "units": g(5), "adjustments": []}
            line["adjudication"] = line_adj
        elif sid == "DTP":
            if g(1) == "472" and line is not None:
                line["date_of_service"] = g(3)
            elif g(1) == "573":
                if line_adj is not None:
                    line_adj["adjudicated_on"] = g(3)
                elif other is not None:
                    other["adjudicated_on"] = g(3)
    return result


def iter_837p_claims(text: str) -> list[dict[str, Any]]:
    """Every claim of the interchange, flattened across groups and transactions."""
    doc = read_837p(text)
    return [c for grp in doc["groups"] for t in grp["transactions"] for c in t["claims"]]
