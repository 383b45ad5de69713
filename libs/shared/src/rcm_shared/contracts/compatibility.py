"""Refuse a contract change that would break a consumer: ``python -m rcm_shared.contracts.compatibility``
(run by ``make lint``).

Every published (event type, schema version) is recorded in ``published.json`` beside this file: its payload's
JSON schema as it was when it shipped. A message of that version may sit in a topic for as long as the topic keeps
it, and consumers of any age read it; so against the record a current model may only *add* optional fields. Refused:
a field removed, retyped (a narrower or wider type, another enum), made required, or a new required field; a
recorded version missing from the registry. A change that needs any of these is a new version (``...V2``) beside the
old one, which stays. New versions are recorded with ``--record`` (``make contracts``) and committed with the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rcm_shared.contracts.registry import REGISTRY

PUBLISHED = Path(__file__).with_name("published.json")
_IGNORED = {"title", "description", "examples", "default"}


def current_schemas() -> dict[str, dict[str, Any]]:
    return {f"{event_type} v{version}": model.model_json_schema()
            for (event_type, version), model in sorted(REGISTRY.items())}


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _shape(schema: Any, defs: dict[str, Any]) -> Any:
    """A schema with references inlined and documentation dropped: what a reader depends on."""
    if isinstance(schema, dict):
        schema = _resolve(schema, defs)
        return {k: _shape(v, defs) for k, v in sorted(schema.items()) if k not in _IGNORED and k != "$defs"}
    if isinstance(schema, list):
        return [_shape(v, defs) for v in schema]
    return schema


def breaking_changes(old: dict[str, Any], new: dict[str, Any], where: str,
                     old_defs: dict[str, Any] | None = None, new_defs: dict[str, Any] | None = None) -> list[str]:
    old_defs = old_defs if old_defs is not None else old.get("$defs", {})
    new_defs = new_defs if new_defs is not None else new.get("$defs", {})
    old, new = _resolve(old, old_defs), _resolve(new, new_defs)
    if "properties" in old and "properties" in new:
        problems = []
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, old_field in old["properties"].items():
            if name not in new["properties"]:
                problems.append(f"{where}.{name}: removed")
                continue
            if name in new_required and name not in old_required:
                problems.append(f"{where}.{name}: was optional, now required")
            problems += breaking_changes(old_field, new["properties"][name], f"{where}.{name}", old_defs, new_defs)
        for name in new["properties"].keys() - old["properties"].keys():
            if name in new_required:
                problems.append(f"{where}.{name}: a new field must be optional (messages already published lack it)")
        return problems
    if old.get("type") == "array" == new.get("type") and "items" in old and "items" in new:
        rest_old = {k: v for k, v in old.items() if k != "items"}
        rest_new = {k: v for k, v in new.items() if k != "items"}
        if _shape(rest_old, old_defs) == _shape(rest_new, new_defs):
            return breaking_changes(old["items"], new["items"], f"{where}[]", old_defs, new_defs)
    if "anyOf" in old and "anyOf" in new and len(old["anyOf"]) == len(new["anyOf"]):  # T | None, member by member
        return [p for n, (a, b) in enumerate(zip(old["anyOf"], new["anyOf"], strict=True))
                for p in breaking_changes(a, b, where if n == 0 else f"{where}|{n}", old_defs, new_defs)]
    if _shape(old, old_defs) != _shape(new, new_defs):
        return [f"{where}: type changed from {json.dumps(_shape(old, old_defs))} to "
                f"{json.dumps(_shape(new, new_defs))}"]
    return []


def check(published: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(breaking changes, versions not yet recorded)."""
    problems = []
    for name, old in published.items():
        if name not in current:
            problems.append(f"{name}: published, but no longer in the registry (consumers may still read it)")
            continue
        problems += breaking_changes(old, current[name], name)
    return problems, sorted(current.keys() - published.keys())


def main(argv: list[str]) -> int:
    published = json.loads(PUBLISHED.read_text()) if PUBLISHED.exists() else {}
    current = current_schemas()
    problems, unrecorded = check(published, current)
    if problems:
        print("Contract changes that would break a consumer (publish a new version instead):")
        for problem in problems:
            print(f"  {problem}")
        return 1
    if "--record" in argv:
        merged = {**published, **{name: current[name] for name in unrecorded}}
        PUBLISHED.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(unrecorded)} new version(s): {', '.join(unrecorded) or '-'}")
        return 0
    if unrecorded:
        print("Contract versions not yet recorded as published (run `make contracts` and commit "
              f"libs/shared/src/rcm_shared/contracts/published.json): {', '.join(unrecorded)}")
        return 1
    print(f"contracts: {len(published)} published versions, none broken")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
