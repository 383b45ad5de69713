"""The two tables a service keeps for its work items, attached to the service's own MetaData (its migrations
create them, as with the outbox): the items, and the trail of every action taken on them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import JSON, Column, Date, Index, Integer, MetaData, String, Table, Text, text

from rcm_shared.db.platform_tables import AutoId
from rcm_shared.db.types import Cents, UtcDateTime


@dataclass(frozen=True)
class WorkItemTables:
    items: Table
    actions: Table


def add_work_item_tables(metadata: MetaData) -> WorkItemTables:
    items = Table(
        "work_items",
        metadata,
        Column("item_id", String(36), primary_key=True),
        Column("practice_id", String(64), nullable=False),
        Column("queue", String(60), nullable=False),
        Column("category", String(60), nullable=True),
        Column("subject_type", String(40), nullable=False),
        Column("subject_id", String(64), nullable=False),
        Column("payer_id", String(64), nullable=True),
        Column("clinician_npi", String(10), nullable=True),
        Column("program", String(60), nullable=True),
        Column("amount", Cents, nullable=True),
        Column("summary", String(200), nullable=True),
        Column("state", String(30), nullable=False),
        Column("priority", String(10), nullable=False),
        Column("priority_rank", Integer, nullable=False),
        Column("due_on", Date, nullable=True),
        Column("assignee", String(200), nullable=True),
        Column("opened_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("resolution_code", String(60), nullable=True),
        Column("resolved_at", UtcDateTime, nullable=True),
        Column("resolved_by", String(200), nullable=True),
        Column("occurrences", Integer, nullable=False),
        Column("version", Integer, nullable=False),
    )
    # One active item per subject and queue: a problem found again updates its item instead of piling up.
    Index("uq_work_items_active_subject", items.c.practice_id, items.c.queue, items.c.subject_type,
          items.c.subject_id, unique=True, postgresql_where=text("state <> 'resolved'"),
          sqlite_where=text("state <> 'resolved'"))
    Index("ix_work_items_queue", items.c.practice_id, items.c.queue, items.c.state, items.c.priority_rank)
    actions = Table(
        "work_item_actions",
        metadata,
        Column("id", AutoId, primary_key=True, autoincrement=True),
        Column("item_id", String(36), nullable=False),
        Column("practice_id", String(64), nullable=False),
        Column("at", UtcDateTime, nullable=False),
        Column("actor", String(200), nullable=False),
        Column("action", String(30), nullable=False),
        Column("from_state", String(30), nullable=True),
        Column("to_state", String(30), nullable=False),
        Column("note", Text, nullable=True),
        Column("detail", JSON, nullable=False),
    )
    Index("ix_work_item_actions_item", actions.c.item_id, actions.c.id)
    return WorkItemTables(items, actions)
