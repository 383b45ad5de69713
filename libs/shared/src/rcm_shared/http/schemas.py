"""Request/response base models: unknown fields refused, money as two-decimal Decimal."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[Decimal, Field(max_digits=12, decimal_places=2, examples=["125.00"])]
PositiveMoney = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2, examples=["125.00"])]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel):
    items: list[Any]
    next_cursor: str | None = None
