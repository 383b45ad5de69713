"""Business rules are data: YAML files with a version and effective dates, read one way in every service.

A service keeps its rules files in ``<service>/domain/rules/*.yaml`` and reads them in its composition root
(``bootstrap.py``) with :func:`load_rules`, turning each into the typed object its domain uses; use cases get
those objects passed in, so a test hands over its own. A deployment can replace any file by dropping one of
the same name in the directory named by ``RCM_RULES_DIR`` (the override is recorded in ``RulesFile.origin``).

Every rules file starts with::

    version: "2026-12-02.1"     # stamped on what the rules decide (claim lines, denials, ...)
    decides: one line saying what this file decides (docs/rules.md lists them all)

and dated entries carry ``effective_from`` (and optionally ``effective_to``, inclusive).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

RULES_DIR_ENV = "RCM_RULES_DIR"


class RulesError(ValueError):
    """A rules file that cannot be used: names the file and the field, so the fix is quick."""

    def __init__(self, file: str, where: str, problem: str) -> None:
        super().__init__(f"{file}: {where}: {problem}")
        self.file = file
        self.where = where


@dataclass(frozen=True)
class RulesFile:
    name: str
    version: str
    decides: str
    data: Mapping[str, Any]
    origin: str

    def section(self, key: str) -> Any:
        if key not in self.data:
            raise RulesError(self.name, key, "is required")
        return self.data[key]


def load_rules(package: str, name: str, *, override_dir: Path | str | None = None) -> RulesFile:
    """Read ``<package>/rules/<name>`` (or the deployment's override of it)."""
    override = override_dir if override_dir is not None else os.environ.get(RULES_DIR_ENV)
    if override:
        candidate = Path(override) / name
        if candidate.is_file():
            return parse_rules(name, candidate.read_text(encoding="utf-8"), origin=str(candidate))
    text = resources.files(package).joinpath("rules").joinpath(name).read_text(encoding="utf-8")
    return parse_rules(name, text, origin=f"{package}/rules/{name}")


def parse_rules(name: str, text: str, *, origin: str = "<text>") -> RulesFile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        raise RulesError(name, where, "is not valid YAML") from None
    if not isinstance(data, dict):
        raise RulesError(name, "document", "must be a mapping")
    version = data.get("version")
    if not isinstance(version, str | int | float) or not str(version).strip():
        raise RulesError(name, "version", "is required (stamped on what these rules decide)")
    decides = data.get("decides")
    if not isinstance(decides, str) or not decides.strip():
        raise RulesError(name, "decides", "is required (one line: what this file decides)")
    return RulesFile(name, str(version), decides.strip(), data, origin)


T = TypeVar("T", bound=Mapping[str, Any])


def effective_on(entries: Iterable[T], day: date, *, file: str = "rules", where: str = "entries") -> list[T]:
    """The entries in force on ``day``: ``effective_from <= day <= effective_to`` (an open end when absent)."""
    found: list[T] = []
    for index, entry in enumerate(entries):
        start, end = effective_span(entry, file=file, where=f"{where}[{index}]")
        if start <= day and (end is None or day <= end):
            found.append(entry)
    return found


def effective_span(entry: Mapping[str, Any], *, file: str = "rules", where: str = "entry") -> tuple[date, date | None]:
    start = _as_date(entry.get("effective_from"), file, f"{where}.effective_from", required=True)
    end = _as_date(entry.get("effective_to"), file, f"{where}.effective_to", required=False)
    assert start is not None
    if end is not None and end < start:
        raise RulesError(file, f"{where}.effective_to", "is before effective_from")
    return start, end


def _as_date(value: Any, file: str, where: str, *, required: bool) -> date | None:
    if value is None:
        if required:
            raise RulesError(file, where, "is required")
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RulesError(file, where, "must be a date (YYYY-MM-DD)") from None
