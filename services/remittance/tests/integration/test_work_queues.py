"""Remittance's queues on the work-item kernel, worked through /v1/work-items on PostgreSQL and the broker: a
denial reaches every queue of the escalation model, two billers at once get one 409, an outcome needs its link
and closes the denial in every queue; a pattern opens one joint review listing its claims; unapplied cash and
an ERA exception are resolved with the books balanced; each opening and resolution is announced."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from rcm_shared.contracts import ClaimLineV1, ClaimSubmittedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings
from remittance.edi.era_writer import (
    DraftAdjustment,
    DraftClaim,
    DraftLine,
    DraftProviderAdjustment,
    DraftTransaction,
    write_835,
)

pytestmark = pytest.mark.integration

A = DraftAdjustment
HEADERS = {**auth(), "content-type": "application/edi-x12"}


def copy(claim_id: str, pcn: str, charge: str, npi: str = "1234567893") -> ClaimSubmittedV1:
    return ClaimSubmittedV1(
        claim_id=claim_id, visit_id=f"v-{claim_id}", practice_id="practice-a", patient_id=f"pt-{claim_id}",
        payer_id="SBXHP", patient_control_number=pcn, frequency_code="1", total_charge=D(charge),
        date_of_service=date(2026, 10, 15), rendering_npi=npi, batch_id="b-1", interchange_control_number="000000001",
        lines=[ClaimLineV1(line_number=1, procedure_code="90837", units=1, charge=D(charge))])


def denied(pcn: str, charge: str, carc: str) -> DraftClaim:
    return DraftClaim(pcn, "4", D(charge), D("0"), D("0"), payer_claim_number=f"P-{pcn}", lines=(
        DraftLine("90837", D(charge), D("0"), adjustments=(A("CO", carc, D(charge)),)),))


def paid(pcn: str, amount: str) -> DraftClaim:
    return DraftClaim(pcn, "1", D(amount), D(amount), D("0"), payer_claim_number=f"P-{pcn}",
                      lines=(DraftLine("90837", D(amount), D(amount)),))


def era(trace: str, *claims: DraftClaim) -> bytes:
    return write_835([[DraftTransaction(claims=claims, trace_number=trace, payer_name="SANDBOX HEALTH PLAN",
                                        payer_id="1999999999")]], interchange_control_number=int(trace[-4:])).encode()


async def post(client: Any, content: bytes, expect: str = "posted") -> None:
    response = await client.post("/v1/eras", content=content, headers=HEADERS)
    assert response.status_code == 202, response.text
    era_id = response.json()["era_id"]

    async def done() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/v1/eras/{era_id}", headers=auth())).json()
        return body if body["status"] != "received" else None

    assert (await eventually(done, what="the ERA processed"))["status"] == expect


async def copies_stored(client: Any, broker: Any, *claims: ClaimSubmittedV1) -> None:
    await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED, [
        envelope_for(c, source="claims", subject=c.claim_id, practice_id="practice-a") for c in claims])
    wanted = {c.claim_id for c in claims}

    async def stored() -> bool:
        found = (await client.get("/v1/claim-copies", headers=auth(),
                                  params=[("claim_id", c) for c in sorted(wanted)])).json()["items"]
        return {i["claim_id"] for i in found} == wanted

    await eventually(stored, what="claim copies")


async def items(client: Any, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/work-items", headers=auth(), params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


async def act(client: Any, item: dict[str, Any], status: int = 200, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/v1/work-items/{item['item_id']}/actions", headers=auth(), json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def balanced(client: Any) -> dict[str, str]:
    tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
    assert tb["balanced"] is True
    return {account: row["balance"] for account, row in tb["accounts"].items()}


async def test_denials_are_worked_to_an_outcome_in_every_queue_they_reach(  # type: ignore[no-untyped-def]
        broker, databases) -> None:
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        await copies_stored(client, broker, copy("c-doc", "PCN-DOC", "400"), copy("c-code", "PCN-CODE", "180",
                                                                                   npi="1457389012"))
        await post(client, era("TRACE0001", denied("PCN-DOC", "400", "50"), denied("PCN-CODE", "180", "16"),
                               paid("PCN-NOBODY", "90")))

        senior = await items(client, queue="senior")
        liaison = await items(client, queue="clinical_liaison")
        billing = await items(client, queue="billing")
        assert len(senior) == len(liaison) == len(billing) == 1
        assert senior[0]["subject_id"] == liaison[0]["subject_id"]  # one denial over 250 in both queues
        assert senior[0]["category"] == "documentation_medical_necessity" and senior[0]["amount"] == "400.00"
        assert senior[0]["priority"] == "high" and senior[0]["state"] == "open"
        # the filters a biller uses every day
        assert {i["queue"] for i in await items(client, min_amount="300", sort="amount")} == \
            {"senior", "clinical_liaison"}
        assert [i["subject_id"] for i in await items(client, clinician_npi="1457389012")] == \
            [billing[0]["subject_id"]]
        assert {i["queue"] for i in await items(client, payer_id="1999999999", category="coding")} == {"billing"}
        assert (await items(client, queue="unapplied_cash"))[0]["amount"] == "90.00"
        by_queue = (await client.get("/v1/denials", headers=auth(), params={"queue": "clinical_liaison"})).json()
        assert [d["denial_id"] for d in by_queue["items"]] == [senior[0]["subject_id"]]

        # two billers take the same item at once: one wins, the other is told to read it again
        item = senior[0]
        answers = await asyncio.gather(*(client.post(
            f"/v1/work-items/{item['item_id']}/actions", headers=auth(),
            json={"action": "assign", "assignee": who, "version": item["version"]}) for who in ("ana", "ben")))
        assert sorted(r.status_code for r in answers) == [200, 409]
        lost = next(r for r in answers if r.status_code == 409)
        assert lost.headers["content-type"].startswith("application/problem+json")
        winner = next(r for r in answers if r.status_code == 200).json()
        await act(client, winner, action="note", note="records requested from the clinician")
        parked = await act(client, winner, action="wait", waiting_on="clinician")
        assert parked["state"] == "waiting_on_clinician"

        # an outcome that must say what it links to, and a code the queue does not have
        missing = await act(client, parked, 422, action="resolve", resolution_code="written_off")
        assert missing["errors"][0]["field"] == "body.reference"
        await act(client, parked, 422, action="resolve", resolution_code="forgotten")
        done = await act(client, parked, action="resolve", resolution_code="appealed", reference="appeal-1")
        assert done["state"] == "resolved" and done["resolution_code"] == "appealed"
        assert [a["action"] for a in done["trail"]] == ["opened", "assigned", "noted", "waiting", "resolved"]
        await act(client, done, 409, action="resolve", resolution_code="appealed", reference="appeal-1")
        # the liaison's item for the same denial closed with it; the denial keeps its outcome and link
        assert await items(client, queue="clinical_liaison") == []
        worked = (await client.get("/v1/denials", headers=auth(), params={"status": "resolved"})).json()["items"]
        assert [(d["resolution_code"], d["resolution_reference"]) for d in worked] == [("appealed", "appeal-1")]

        # unapplied cash sent back to the payer: Dr unapplied_cash / Cr cash, the books balanced
        cash = (await items(client, queue="unapplied_cash"))[0]
        await act(client, cash, action="resolve", resolution_code="returned_to_payer", reference="REFUND-7")
        books = await balanced(client)
        assert books["unapplied_cash"] == "0.00" and books["cash"] == "-90.00"
        assert (await client.get("/v1/unapplied-cash", headers=auth())).json()["items"] == []

        counts = (await client.get("/v1/work-queues", headers=auth())).json()
        assert {(c["queue"], c["count"]) for c in counts} == {("billing", 1)}
        # a write-off names its reason code
        coding = billing[0]
        await act(client, coding, 422, action="resolve", resolution_code="written_off", reference="because")
        await act(client, coding, action="resolve", resolution_code="written_off", reference="CO-16")
        assert (await client.get("/v1/work-queues", headers=auth())).json() == []

        # announced through the outbox: 4 opened (senior, liaison, billing, unapplied), 4 resolved
        opened = [json.loads(r.value) for r in await read_topic(broker.bootstrap, topics.WORK_ITEM_OPENED, expect=4)]
        resolved = [json.loads(r.value) for r in await read_topic(broker.bootstrap, topics.WORK_ITEM_RESOLVED,
                                                                  expect=4)]
        mine = {i["item_id"] for i in senior + liaison + billing} | {cash["item_id"]}
        assert {e["data"]["item_id"] for e in opened} >= mine
        assert {(e["data"]["queue"], e["data"]["resolution_code"]) for e in resolved
                if e["data"]["item_id"] in mine} == {("senior", "appealed"), ("clinical_liaison", "appealed"),
                                                     ("unapplied_cash", "returned_to_payer"),
                                                     ("billing", "written_off")}


async def test_a_pattern_opens_one_joint_review_listing_its_claims(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        copies = [copy(f"c-{n}", f"PCN-{n}", "100") for n in range(12)]
        await copies_stored(client, broker, *copies)
        await post(client, era("TRACE0002", *(denied(f"PCN-{n}", "100", "16") for n in range(10))))
        assert await items(client, queue="billing_and_clinical_review") == []  # ten visits: not more than ten
        await post(client, era("TRACE0003", denied("PCN-10", "100", "16")))
        await post(client, era("TRACE0004", denied("PCN-11", "100", "16")))

        reviews = await items(client, queue="billing_and_clinical_review")
        assert sorted(i["subject_id"] for i in reviews) == ["category:coding", "payer:1999999999"]
        one = (await client.get(f"/v1/work-items/{reviews[0]['item_id']}", headers=auth())).json()
        assert one["occurrences"] == 2  # found again by the twelfth visit: the same item, brought up to date
        assert one["trail"][0]["detail"]["visit_count"] == 11
        assert one["trail"][-1]["detail"]["claim_ids"] == sorted(c.claim_id for c in copies)
        await act(client, one, action="resolve", resolution_code="prevention_in_place")


async def test_an_unbalanced_era_exception_is_resolved_and_posts_nothing(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        broken = era("TRACE0005", paid("PCN-X", "90")).replace(b"CLP*PCN-X*1*90*90", b"CLP*PCN-X*1*90*89")
        assert broken != era("TRACE0005", paid("PCN-X", "90"))
        await post(client, broken, expect="exception")
        exception = (await items(client, queue="era_exceptions"))[0]
        assert exception["category"] == "unbalanced"
        await act(client, exception, 422, action="resolve", resolution_code="refunded")
        await act(client, exception, 422, action="resolve", resolution_code="corrected_posting")
        await act(client, exception, action="resolve", resolution_code="returned_to_payer")
        queue = (await client.get("/v1/era-exceptions", headers=auth(), params={"status": "resolved"})).json()
        assert queue["items"][0]["detail"]["resolution"]["decision"] == "returned_to_payer"
        assert (await client.get("/v1/ledger/trial-balance", headers=auth())).json()["accounts"] == {}


async def test_unapplied_cash_is_applied_to_a_claim_by_hand_with_the_books_balanced(  # type: ignore[no-untyped-def]
        broker, databases) -> None:
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        await copies_stored(client, broker, copy("c-typo", "PCN-TYPO", "180"))
        # the payer echoed a truncated patient control number: the payment matches no claim
        await post(client, era("TRACE0021", paid("PCN-TYP", "180")))
        cash = (await items(client, queue="unapplied_cash"))[0]
        before = await balanced(client)
        assert before["unapplied_cash"] == "-180.00" and before["payer_ar"] == "180.00"

        unknown = await act(client, cash, 422, action="resolve", resolution_code="applied_to_claim",
                            reference="no-such-claim")
        assert unknown["errors"][0]["field"] == "body.reference"
        await act(client, cash, 422, action="resolve", resolution_code="applied_to_claim")
        done = await act(client, cash, action="resolve", resolution_code="applied_to_claim", reference="c-typo",
                         note="payer truncated the control number", version=cash["version"])
        assert done["trail"][-1]["detail"]["reference"] == "c-typo"

        after = await balanced(client)
        assert after["unapplied_cash"] == "0.00" and after["payer_ar"] == "0.00"
        assert after["undeposited_era"] == "180.00"
        assert (await client.get("/v1/unapplied-cash", headers=auth())).json()["items"] == []
        # a second application of the same money is refused: the item is resolved, nothing moves
        await act(client, done, 409, action="resolve", resolution_code="applied_to_claim", reference="c-typo")
        assert await balanced(client) == after
        posted = [json.loads(r.value)["data"] for r in await read_topic(
            broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, expect=1)]
        assert any(e["claim_id"] == "c-typo" and e["paid"] == "180.00" for e in posted)


async def test_plb_recoupments_are_tied_to_the_claims_their_reference_names(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        await copies_stored(client, broker, copy("c-1", "PCN-1", "180"), copy("c-2", "PCN-2", "180"),
                            copy("c-3", "PCN-3", "180"))
        await post(client, era("TRACE0031", paid("PCN-1", "180"), paid("PCN-2", "180")))
        # a later payment withholds two overpayments: one names our claim (its payer claim number), one nothing
        recoup = write_835([[DraftTransaction(
            claims=(paid("PCN-3", "180"),), trace_number="TRACE0032", payer_name="SANDBOX HEALTH PLAN",
            payer_id="1999999999", provider_adjustments=(DraftProviderAdjustment("WO", D("30"), "P-PCN-1"),
                                                         DraftProviderAdjustment("WO", D("20"), "ICN-UNKNOWN"),
                                                         DraftProviderAdjustment("CS", D("5"), "MISC")))]],
            interchange_control_number=32).encode()
        await post(client, recoup)
        rows = (await client.get("/v1/plb-recoupments", headers=auth())).json()["items"]
        by_reference = {r["reference"]: r for r in rows}
        assert set(by_reference) == {"P-PCN-1", "ICN-UNKNOWN"}  # CS names no claim: not a recoupment to tie
        assert (by_reference["P-PCN-1"]["claim_id"], by_reference["P-PCN-1"]["tied_by"]) == ("c-1", "system")
        assert by_reference["ICN-UNKNOWN"]["claim_id"] is None

        waiting = await items(client, queue="plb_recoupments")
        assert [(i["subject_id"], i["amount"], i["category"]) for i in waiting] == [
            (by_reference["ICN-UNKNOWN"]["plb_id"], "20.00", "WO")]
        await act(client, waiting[0], 422, action="resolve", resolution_code="tied_to_claim", reference="c-404")
        await act(client, waiting[0], action="resolve", resolution_code="tied_to_claim", reference="c-2")
        tied = (await client.get("/v1/plb-recoupments", headers=auth(), params={"tied": "true"})).json()["items"]
        assert {(r["reference"], r["claim_id"]) for r in tied} == {("P-PCN-1", "c-1"), ("ICN-UNKNOWN", "c-2")}
        books = await balanced(client)
        assert books["plb_recovery"] == "50.00"
