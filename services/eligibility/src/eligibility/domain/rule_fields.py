"""Reading eligibility's rules files (``domain/rules/*.yaml``, read by ``rcm_shared.rules.load_rules`` in
``bootstrap.py``): typed fields, each error a ``RulesError`` naming the file and the field
(``payer_limits.yaml: limits[1].realtime_per_minute: must be an integer of at least 1``), so a bad deployment
override fails at start-up with a sentence an operator can act on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from rcm_shared.rules import RulesError, RulesFile, effective_span


@dataclass(frozen=True, slots=True)
class RuleFields:
    """The fields of one entry of a rules file: ``where`` is its place (``policies[0]``)."""

    data: Mapping[str, object]
    file: str
    where: str

    def fail(self, key: str, wanted: str) -> RulesError:
        return RulesError(self.file, f"{self.where}.{key}", f"must be {wanted}")

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(key, f"an integer of at least {minimum}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, "a non-empty text")
        return value

    def codes(self, key: str, default: Sequence[str]) -> tuple[str, ...]:
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
            raise self.fail(key, "a list of codes (quoted, so 09 stays 09)")
        return tuple(value)

    def minutes(self, key: str, default: Sequence[int]) -> tuple[int, ...]:
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(
                isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in value):
            raise self.fail(key, "a list of positive integers")
        return tuple(value)

    def effective(self) -> tuple[date, date | None]:
        """``effective_from`` (required) and ``effective_to`` (inclusive, optional) of the entry."""
        return effective_span(self.data, file=self.file, where=self.where)


def entries(rules: RulesFile, key: str) -> list[RuleFields]:
    """The entries (objects) listed under ``key``: policies, limits, schedules."""
    raw = rules.section(key)
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise RulesError(rules.name, key, "must be a list")
    found: list[RuleFields] = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise RulesError(rules.name, f"{key}[{index}]", "must be an object")
        found.append(RuleFields(item, rules.name, f"{key}[{index}]"))
    return found
