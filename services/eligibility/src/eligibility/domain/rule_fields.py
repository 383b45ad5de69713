"""Reading eligibility's rules files (JSON under domain/rules): typed fields, each error naming the file's
subject and the field, so a bad deployment override fails at start-up with a sentence an operator can act on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class RuleFields:
    data: Mapping[str, object]
    subject: str  # "payer limits", "freshness policy", "nightly batch"

    def _fail(self, key: str, wanted: str) -> ValueError:
        return ValueError(f"{self.subject}: {key} must be {wanted}")

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self._fail(key, f"an integer of at least {minimum}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def day(self, key: str) -> date | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "an ISO date")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self._fail(key, "an ISO date") from None

    def minutes(self, key: str, default: Sequence[int]) -> tuple[int, ...]:
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(
                isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in value):
            raise self._fail(key, "a list of positive integers")
        return tuple(value)


def entries(data: Mapping[str, object], key: str, subject: str) -> list[Mapping[str, object]]:
    """The list of objects under ``key`` (policies, limits, schedules)."""
    raw = data.get(key)
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError(f"{subject}: {key} must be a list")
    if not all(isinstance(item, Mapping) for item in raw):
        raise ValueError(f"{subject}: each entry of {key} must be an object")
    return list(raw)
