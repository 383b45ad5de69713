"""Remittance against real PostgreSQL and the real broker: an ERA posts once, balances, raises denials."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from rcm_shared.contracts import ClaimLineV1, ClaimSubmittedV1, envelope_for, topics
from rcm_shared.testing.fixtures import auth, running, settings_for
from rcm_shared.testing.kafka import eventually, publish_envelopes, read_topic
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings

pytestmark = pytest.mark.integration
# what remittance handed to patient-billing, the one owner of patient A/R
TRANSFERRED = "patient_responsibility_transferred"

ERA = """ISA*00*          *00*          *ZZ*SBXHP          *ZZ*RCMPLATFORM    *261101*1200*^*00501*000000101*0*T*:~
GS*HP*SBXHP*RCMPLATFORM*20261101*1200*101*X*005010X221A1~
ST*835*0001~
BPR*I*112*C*ACH*CCP*01*999999999*DA*123456789*1512345678**01*999988880*DA*98765*20261101~
TRN*1*TRACE{trace}*1999999999~
N1*PR*SANDBOX HEALTH PLAN*XV*SBXHP~
N3*100 PAYER WAY~
N4*HARTFORD*CT*06101~
PER*BL*PROVIDER SERVICES*TE*8005551212~
N1*PE*RIVERSIDE COUNSELING*XX*1245319599~
LX*1~
CLP*PCN-PAID*1*180*112*28*12*PAYERCLM1*11*1~
NM1*QC*1*SAMPLE*ALEX~
SVC*HC:90837*180*112**1~
DTM*472*20261015~
CAS*CO*45*40~
CAS*PR*3*28~
AMT*B6*140~
CLP*PCN-DENIED*1*150*0*0*12*PAYERCLM2*11*1~
NM1*QC*1*SAMPLE*JORDAN~
SVC*HC:90834*150*0**1~
DTM*472*20261016~
CAS*CO*197*150~
SE*{count}*0001~
GE*1*101~
IEA*1*000000101~
"""


def era(trace: str) -> bytes:
    text = ERA.replace("{trace}", trace)
    segments = text.split("~\n")
    st = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    return text.replace("{count}", str(se - st + 1)).encode()


def submitted(claim_id: str, pcn: str, code: str, charge: str, contracted: str | None = None) -> ClaimSubmittedV1:
    return ClaimSubmittedV1(
        claim_id=claim_id, visit_id=f"v-{claim_id}", practice_id="practice-a", patient_id=f"pt-{claim_id}",
        payer_id="SBXHP", patient_control_number=pcn, frequency_code="1", total_charge=Decimal(charge),
        date_of_service=date(2026, 10, 15), rendering_npi="1234567893", batch_id="b-1",
        interchange_control_number="000000001",
        lines=[ClaimLineV1(line_number=1, procedure_code=code, units=1, charge=Decimal(charge),
                           contracted_rate=Decimal(contracted) if contracted else None)])


CONTRACTS = """version: "test"
decides: the test's contract with SBXHP
contracts:
  - payer_id: SBXHP
    effective_from: 2026-01-01
    rates: {"90837": "150.00"}
"""


async def test_era_posts_once_balances_and_routes_denials(broker, databases, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The contract is remittance's own fact (rules/contracted_rates.yaml; here a deployment's copy in RCM_RULES_DIR):
    # the claim copies carry no rate.
    (tmp_path / "contracted_rates.yaml").write_text(CONTRACTS)
    settings = settings_for(RemittanceSettings, databases.create("rem"), broker).model_copy(
        update={"rules_dir": str(tmp_path)})
    app = build_app(settings)
    async with running(app) as client:
        claims = [submitted("c-paid", "PCN-PAID", "90837", "180"), submitted("c-denied", "PCN-DENIED", "90834", "150")]
        await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED, [
            envelope_for(c, source="claims", subject=c.claim_id, practice_id="practice-a") for c in claims])

        async def charges_booked() -> bool:
            tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
            return tb["accounts"].get("payer_ar", {}).get("debits") == "330.00"

        await eventually(charges_booked, what="claim copies and charges")
        headers = {**auth(), "content-type": "application/edi-x12"}
        first = await client.post("/v1/eras", content=era("0001"), headers=headers)
        assert first.status_code == 202, first.text
        again = await client.post("/v1/eras", content=era("0001"), headers=headers)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        era_id = first.json()["era_id"]

        async def posted() -> dict[str, object] | None:
            body = (await client.get(f"/v1/eras/{era_id}", headers=auth())).json()
            return body if body["status"] != "received" else None

        body = await eventually(posted, what="the ERA posted")
        assert body["status"] == "posted"
        assert body["summary"]["claims_posted"] == 2

        tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert tb["balanced"] is True
        assert tb["accounts"][TRANSFERRED]["balance"] == "28.00"
        # the copay is handed to patient-billing (the one owner of patient A/R), never a receivable here
        assert tb[TRANSFERRED] == "28.00" and "patient_ar" not in tb["accounts"]
        assert tb["accounts"]["undeposited_era"]["balance"] == "112.00"

        csv = "reference,amount,date\nTRACE0001,112.00,2026-11-03\nUNKNOWN-9,50.00,2026-11-03\n"
        rec = (await client.post("/v1/deposits", content=csv, headers={**auth(), "content-type": "text/csv"})).json()
        assert len(rec["matched"]) == 1 and rec["unmatched_payments"] == []
        assert [d["reference"] for d in rec["unmatched_deposits"]] == ["UNKNOWN-9"]
        tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert tb["accounts"]["cash"]["balance"] == "112.00"
        assert tb["accounts"]["undeposited_era"]["balance"] == "0.00"
        assert tb["accounts"]["payer_ar"]["balance"] == "0.00"

        report = (await client.get("/v1/reports/payments", headers=auth())).json()
        assert report["days_to_payment_by_payer"]["SBXHP"]["claims"] == 1
        short = (await client.get("/v1/underpayments", headers=auth())).json()["items"]
        assert [(u["claim_id"], u["expected"], u["allowed"], u["shortfall"]) for u in short] == [
            ("c-paid", "150.00", "140.00", "10.00")], "allowed 140 against the contracted 150 of rules/contracted_rates"

        denied = (await client.get("/v1/denials", headers=auth())).json()["items"]
        assert len(denied) == 1
        assert denied[0]["category"] == "authorization_exhausted_or_missing"
        assert denied[0]["claim_id"] == "c-denied"

        # Same payment in a different file (another trace would be a new payment; the same trace is not).
        resent = era("0001").replace(b"IEA*1*000000101", b"IEA*1*000000101").replace(b"*261101*1200*", b"*261102*1300*")
        dup = await client.post("/v1/eras", content=resent, headers=headers)
        assert dup.status_code == 202
        dup_id = dup.json()["era_id"]

        async def dup_done() -> dict[str, object] | None:
            b = (await client.get(f"/v1/eras/{dup_id}", headers=auth())).json()
            return b if b["status"] != "received" else None

        assert (await eventually(dup_done, what="duplicate ERA processed"))["status"] == "duplicate"
        tb_after = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert tb_after == tb, "a payment delivered twice posts nothing the second time"

        posted_events = await read_topic(broker.bootstrap, topics.CLAIM_PAYMENT_POSTED, expect=2)
        assert sorted(json.loads(r.value)["data"]["outcome"] for r in posted_events) == ["denied", "paid"]
        pr = await read_topic(broker.bootstrap, topics.PATIENT_RESPONSIBILITY_ASSESSED, expect=1)
        assert json.loads(pr[0].value)["data"]["copay"] == "28.00"
        raised = await read_topic(broker.bootstrap, topics.DENIAL_RAISED, expect=1)
        assert raised[0].key == b"c-denied"


async def test_unbalanced_era_goes_to_exceptions_and_posts_nothing(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        broken = era("0002").replace(b"CAS*CO*45*40", b"CAS*CO*45*39.99")
        r = await client.post("/v1/eras", content=broken, headers={**auth(), "content-type": "application/edi-x12"})
        assert r.status_code == 202

        async def exceptions() -> list[dict[str, object]] | None:
            return (await client.get("/v1/era-exceptions", headers=auth())).json()["items"] or None

        items = await eventually(exceptions, what="an ERA exception")
        assert items[0]["kind"] == "unbalanced"
        assert any(i["expected"] != i["actual"] for i in items[0]["detail"]["issues"])
        tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert tb["accounts"] == {}

        garbage = await client.post("/v1/eras", content=b"hello", headers={**auth(), "content-type": "text/plain"})
        assert garbage.status_code == 422


async def test_an_era_ahead_of_its_claim_copy_waits_as_unapplied_cash_then_posts(broker, databases) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker))
    async with running(app) as client:
        headers = {**auth(), "content-type": "application/edi-x12"}
        r = await client.post("/v1/eras", content=era("0003"), headers=headers)
        era_id = r.json()["era_id"]

        async def unapplied() -> list[dict[str, object]] | None:
            items = (await client.get("/v1/unapplied-cash", headers=auth())).json()["items"]
            return items if len(items) == 2 else None

        await eventually(unapplied, what="two unapplied payments")
        late = submitted("c-late", "PCN-PAID", "90837", "180")
        await publish_envelopes(broker.bootstrap, topics.CLAIM_SUBMITTED,
                                [envelope_for(late, source="claims", subject="c-late", practice_id="practice-a")])

        async def matched() -> dict[str, object] | None:
            body = (await client.get(f"/v1/eras/{era_id}", headers=auth())).json()
            return body if any(p["claim_id"] == "c-late" for p in body["postings"]) else None

        await eventually(matched, what="the late claim copy matched")
        assert len((await client.get("/v1/unapplied-cash", headers=auth())).json()["items"]) == 1
        tb = (await client.get("/v1/ledger/trial-balance", headers=auth())).json()
        assert tb["balanced"] is True
        assert tb["accounts"]["unapplied_cash"]["balance"] == "0.00"
        assert tb["accounts"][TRANSFERRED]["balance"] == "28.00"


async def test_eras_dropped_in_the_clearinghouse_mailbox_are_taken_once(broker, databases, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mailbox = tmp_path / "era-mailbox"
    (mailbox / "practice-a").mkdir(parents=True)
    for n in range(3):  # bulk: a folder of files
        (mailbox / "practice-a" / f"era-{n}.835").write_bytes(era(f"10{n}"))
    settings = settings_for(RemittanceSettings, databases.create("rem"), broker, era_pickup_dir=mailbox,
                            era_pickup_seconds=0.2)
    app = build_app(settings)
    async with running(app) as client:
        async def taken() -> list[dict[str, object]] | None:
            items = (await client.get("/v1/eras", headers=auth())).json()["items"]
            done = [i for i in items if i["status"] != "received"]
            return items if len(done) == 3 else None

        items = await eventually(taken, what="three ERAs picked up and processed")
        assert {i["received_via"] for i in items} == {"clearinghouse"}
        assert sorted(p.name for p in (mailbox / "practice-a" / "processed").iterdir()) == [
            "era-0.835", "era-1.835", "era-2.835"]
        assert not list((mailbox / "practice-a").glob("*.835"))
        other = (await client.get("/v1/eras", headers=auth("practice-b"))).json()["items"]
        assert other == []


async def test_eras_are_picked_up_from_the_clearinghouse_sftp_mailbox_leaving_claims_files(  # type: ignore[no-untyped-def]
        broker, databases, sftp_site, tmp_path) -> None:
    # One mailbox per submitter holds everything the clearinghouse returns: the 835s are remittance's, the
    # 999 is claims' and must stay for it. A refused removal brings the 835 again: intake knows the bytes.
    ack = era("999").replace(b"ST*835*", b"ST*999*")
    (sftp_site.outbound / "999_BATCH1.x12").write_bytes(ack)
    (sftp_site.outbound / "ERA_201.835").write_bytes(era("201"))
    (sftp_site.outbound / "ERA_202.835").write_bytes(era("202"))
    sftp_site.refuse_remove.add("ERA_202.835")
    settings = settings_for(
        RemittanceSettings, databases.create("rem"), broker, era_clearinghouse="sftp",
        era_clearinghouse_practice_id="practice-a", era_clearinghouse_sftp_host="127.0.0.1",
        era_clearinghouse_sftp_port=sftp_site.port, era_clearinghouse_sftp_username="rcm",
        era_clearinghouse_sftp_password="s3cret-pw", era_pickup_seconds=0.2,
        era_clearinghouse_sftp_known_hosts=str(sftp_site.known_hosts(tmp_path)))
    app = build_app(settings)
    async with running(app) as client:
        async def processed() -> list[dict[str, object]] | None:
            items = (await client.get("/v1/eras", headers=auth())).json()["items"]
            return items if len([i for i in items if i["status"] != "received"]) == 2 else None

        items = await eventually(processed, what="both ERAs picked up over SFTP and processed")
        assert {i["received_via"] for i in items} == {"clearinghouse"}
        assert sorted(p.name for p in sftp_site.outbound.iterdir()) == ["999_BATCH1.x12", "ERA_202.835"]
        sftp_site.refuse_remove.clear()

        async def removed() -> bool | None:
            return True if not (sftp_site.outbound / "ERA_202.835").exists() else None

        await eventually(removed, what="the second ERA removed once the server allows it")
        items = (await client.get("/v1/eras", headers=auth())).json()["items"]
        assert len(items) == 2, "the ERA that came again was recognised, not taken twice"
        assert (sftp_site.outbound / "999_BATCH1.x12").read_bytes() == ack
