"""Collections follow-up: take the dunning step due on each account (rules/dunning.yaml), and the collections
queue (every account owing money: its last step, the next one and when, or why none is taken).

A step is taken once; an account that owes nothing again starts over. A collections hold opens a work item for a
person (send to an agency, arrange a plan, write off). Statements themselves are printed elsewhere (statements
read the steps taken)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from rcm_shared.clock import Clock
from rcm_shared.db.types import from_cents
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.orm import accounts, open_items, pending_insurance
from patient_billing.adapters.payments_orm import balance_disputes, collection_steps, payment_plans
from patient_billing.domain.collections import AccountStanding, Decision, DunningRules, decide
from patient_billing.domain.exceptions import AccountNotFound
from patient_billing.domain.payment_commands import DisputeBalance
from patient_billing.domain.plans import PlanState
from patient_billing.service_layer import card_payments
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork, UnitsOfWork

COLLECTIONS_QUEUE = "collections-hold"


async def standings(session: AsyncSession, practice_id: str | None) -> list[tuple[str, AccountStanding]]:
    """(practice, standing) of every account with a balance, or with steps taken (to start them over)."""
    owing = select(accounts.c.practice_id, accounts.c.account_id, accounts.c.balance_cents)
    stepped = select(collection_steps.c.account_id).distinct()
    query = owing.where((accounts.c.balance_cents > 0) | accounts.c.account_id.in_(stepped))
    if practice_id is not None:
        query = query.where(accounts.c.practice_id == practice_id)
    rows = (await session.execute(query.order_by(accounts.c.account_id))).all()
    ids = [r.account_id for r in rows]
    if not ids:
        return []
    items: dict[str, list[Any]] = {}
    for item in (await session.execute(select(open_items.c.account_id, open_items.c.patient_id,
                                              open_items.c.service_date, open_items.c.open_cents).where(
            open_items.c.account_id.in_(ids)))).all():
        items.setdefault(item.account_id, []).append(item)
    held_keys: dict[str, set[tuple[str, date]]] = {}
    for p in (await session.execute(select(pending_insurance).where(pending_insurance.c.account_id.in_(ids)))).all():
        held_keys.setdefault(p.account_id, set()).add((p.patient_id, p.service_date))
    disputed = set((await session.execute(select(balance_disputes.c.account_id).where(
        balance_disputes.c.account_id.in_(ids), balance_disputes.c.resolved_on.is_(None)))).scalars())
    on_plan = set((await session.execute(select(payment_plans.c.account_id).where(
        payment_plans.c.account_id.in_(ids), payment_plans.c.state == PlanState.ACTIVE.value))).scalars())
    steps: dict[str, list[str]] = {}
    for s in (await session.execute(select(collection_steps.c.account_id, collection_steps.c.step).where(
            collection_steps.c.account_id.in_(ids)).order_by(collection_steps.c.rank))).all():
        steps.setdefault(s.account_id, []).append(s.step)
    out = []
    for row in rows:
        held = held_keys.get(row.account_id, set())
        billed = [i for i in items.get(row.account_id, []) if (i.patient_id, i.service_date) not in held]
        held_amount = sum(i.open_cents for i in items.get(row.account_id, []) if (i.patient_id, i.service_date) in held)
        out.append((row.practice_id, AccountStanding(
            row.account_id, max(0, row.balance_cents - held_amount),
            min((i.service_date for i in billed), default=None), row.account_id in disputed,
            row.account_id in on_plan, tuple(steps.get(row.account_id, ())))))
    return out


async def run_collections(uows: UnitsOfWork, rules: DunningRules, clock: Clock, practice_id: str | None = None
                          ) -> list[Decision]:
    """Take each account's step due today (one per account per run). Returns the steps taken."""
    today = clock.today()
    taken: list[Decision] = []
    async with uows() as uow:
        found = await standings(uow.session, practice_id)
        policy = rules.in_force(today)
        ranks = {s.step: n for n, s in enumerate(policy.steps)}
        for practice, standing in found:
            if standing.amount_due <= 0 and not standing.oldest_due_on and standing.steps_taken:
                await uow.payments.clear_steps(practice, standing.account_id)  # paid off: starts over
                continue
            decision = decide(standing, today, rules)
            if decision.step is None:
                continue
            await uow.payments.take_step(practice, standing.account_id, decision.step, ranks[decision.step], today,
                                         standing.amount_due, policy.policy_id)
            if decision.step == "collections_hold":
                await card_payments.raise_work_item(
                    uow, COLLECTIONS_QUEUE, "account", standing.account_id, practice, clock.now(),
                    amount=standing.amount_due, category="collections_hold",
                    summary=f"collections hold: {decision.days_past_due} days past due")
            taken.append(decision)
    return taken


async def queue(session: AsyncSession, practice_id: str, rules: DunningRules, today: date) -> list[dict[str, Any]]:
    """The collections queue: accounts owing money, oldest first, each with its last step, the next one, or why
    none is taken (disputed, pending insurance, on a plan, below the minimum)."""
    found = await standings(session, practice_id)
    last_taken = {r.account_id: (r.step, r.taken_on) for r in (await session.execute(
        select(collection_steps.c.account_id, collection_steps.c.step, collection_steps.c.taken_on).where(
            collection_steps.c.practice_id == practice_id).order_by(collection_steps.c.rank))).all()}
    items = []
    for _, standing in found:
        if standing.amount_due <= 0 and standing.oldest_due_on is None and not standing.disputed:
            continue
        decision = decide(standing, today, rules)
        step, on = last_taken.get(standing.account_id, (None, None))
        items.append({"account_id": standing.account_id, "amount_due": from_cents(standing.amount_due),
                      "days_past_due": decision.days_past_due, "last_step": step, "last_step_on": on,
                      "step_due_now": decision.step, "excluded": decision.excluded,
                      "next_step": decision.next_step, "next_step_at_days": decision.next_step_on})
    return sorted(items, key=lambda i: (-i["days_past_due"], i["account_id"]))


async def dispute(uow: PatientBillingUnitOfWork, command: DisputeBalance, today: date) -> None:
    if await uow.accounts.get(command.practice_id, command.account_id) is None:
        raise AccountNotFound("no account with this id", field="account_id")
    await uow.payments.set_dispute(command.practice_id, command.account_id, today, command.reason, command.open)


def summary(decisions: Sequence[Decision]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in decisions:
        assert d.step is not None
        counts[d.step] = counts.get(d.step, 0) + 1
    return counts
