"""A denial appealed to an outcome on PostgreSQL and the broker: the level and its deadline from the payer's rules,
the letter (read back from the PDF), the deadline queue (due, late), filing, the payer's decision through the
appeal's work item, the overturn's payment posted through the normal 835 path and tied to the appeal, the next
level after an upheld one, and the success rate by payer and category."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from pypdf import PdfReader
from rcm_shared.clock import FixedClock
from rcm_shared.testing.fixtures import auth, running, settings_for
from remittance.bootstrap import build_app
from remittance.config import RemittanceSettings

from .test_work_queues import act, balanced, copies_stored, copy, denied, era, items, paid, post

pytestmark = pytest.mark.integration


async def appeal(client: Any, denial_id: str, status: int = 201, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/v1/denials/{denial_id}/appeals", headers=auth(), json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def appeal_item(client: Any, appeal_id: str) -> dict[str, Any]:
    found = [i for i in await items(client, queue="appeals", state=["open", "waiting_on_payer"])
             if i["subject_id"] == appeal_id]
    assert len(found) == 1
    return found[0]


async def test_a_denial_is_appealed_with_a_letter_and_its_overturn_posted(broker, databases) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(datetime.now(UTC))
    app = build_app(settings_for(RemittanceSettings, databases.create("rem"), broker), clock=clock)
    async with running(app) as client:
        await copies_stored(client, broker, copy("c-doc", "PCN-DOC", "400"), copy("c-auth", "PCN-AUTH", "180"))
        await post(client, era("TRACE0011", denied("PCN-DOC", "400", "50"), denied("PCN-AUTH", "180", "197")))
        denials = {d["claim_id"]: d for d in (await client.get("/v1/denials", headers=auth())).json()["items"]}
        doc, auth_denial = denials["c-doc"], denials["c-auth"]
        today = date.today()

        first = await appeal(client, doc["denial_id"], statement="Records show moderate impairment; 90837 fits.",
                             attachments=["progress note 2026-10-15", "treatment plan"])
        assert first["level"] == "first_level" and first["status"] == "prepared"
        assert date.fromisoformat(first["due_on"]) - today == timedelta(days=90)  # the sandbox payer's rule
        assert first["deadline"] == "open"
        # the denial is worked to `appealed`, linked to the appeal; its senior and liaison items closed
        worked = (await client.get("/v1/denials", headers=auth(), params={"status": "resolved"})).json()["items"]
        assert [(d["resolution_code"], d["resolution_reference"]) for d in worked] == [("appealed", first["appeal_id"])]
        assert {i["queue"] for i in await items(client)} == {"billing", "appeals"}
        await appeal(client, doc["denial_id"], 409)  # one appeal of a denial at a time

        letter = await client.get(first["letter"], headers=auth())
        assert letter.status_code == 200 and letter.headers["content-type"] == "application/pdf"
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(letter.content)).pages)
        for expected in ("First-level appeal", "medical-necessity", "PCN-DOC", "50", "400.00",
                         "Records show moderate impairment", "progress note 2026-10-15", "treatment plan",
                         "current treatment plan", first["due_on"]):
            assert expected in text, expected

        # the deadline clock: nothing filed 80 days on is due; 100 days on it is late
        clock.advance(timedelta(days=80))
        assert [a["appeal_id"] for a in (await client.get("/v1/appeals", headers=auth(),
                                                          params={"deadline": "due"})).json()["items"]] == \
            [first["appeal_id"]]
        clock.advance(timedelta(days=20))
        assert [a["appeal_id"] for a in (await client.get("/v1/appeals", headers=auth(),
                                                          params={"deadline": "late"})).json()["items"]] == \
            [first["appeal_id"]]
        clock.set(datetime.now(UTC))

        item = await appeal_item(client, first["appeal_id"])
        assert item["due_on"] == first["due_on"] and item["amount"] == "400.00"
        await act(client, item, 409, action="resolve", resolution_code="overturned")  # not filed yet
        filed = await client.post(f"/v1/appeals/{first['appeal_id']}/filing", headers=auth(), json={})
        assert filed.status_code == 200 and filed.json()["deadline"] == "filed", filed.text
        item = await appeal_item(client, first["appeal_id"])
        assert item["state"] == "waiting_on_payer"
        await act(client, item, action="resolve", resolution_code="overturned", reference="PAYER-DEC-1")

        # the payer pays after the overturn: through the normal 835 path, tied to the appeal
        await post(client, era("TRACE0012", paid("PCN-DOC", "400")))
        won = (await client.get("/v1/appeals", headers=auth(), params={"status": "overturned"})).json()["items"]
        assert won[0]["recovered_amount"] == "400.00" and won[0]["recovered_posting_id"]
        await balanced(client)

        # upheld at the first level: the next level, its deadline counted from that decision
        second_denial = await appeal(client, auth_denial["denial_id"])
        await client.post(f"/v1/appeals/{second_denial['appeal_id']}/filing", headers=auth(), json={})
        await act(client, await appeal_item(client, second_denial["appeal_id"]), action="resolve",
                  resolution_code="upheld")
        second = await appeal(client, auth_denial["denial_id"])
        assert second["level"] == "second_level"
        assert date.fromisoformat(second["due_on"]) - today == timedelta(days=60)

        report = (await client.get("/v1/reports/appeals", headers=auth())).json()
        rates = {(r["payer_id"], r["category"]): (r["decided"], r["overturned"], D(r["success_rate"]))
                 for r in report["by_payer_and_category"]}
        assert rates == {("1999999999", "documentation_medical_necessity"): (1, 1, D("1")),
                         ("1999999999", "authorization_exhausted_or_missing"): (1, 0, D("0"))}
        assert report["pending"] == 1 and report["recovered"] == "400.00"
