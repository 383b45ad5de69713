"""Roles and service clients as data (rules/roles.yaml, rules/clients.yaml): who may be granted which scopes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

PRACTICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
EVERY_PRACTICE = "*"


class PolicyError(ValueError):
    """A rules file that does not say what it must."""


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    scopes: frozenset[str]
    practices: Literal["one", "many"]
    npi_required: bool


@dataclass(frozen=True)
class Client:
    client_id: str
    description: str
    scopes: frozenset[str]
    practices: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    scopes: dict[str, str]
    reserved: dict[str, str]
    roles: dict[str, Role]
    clients: dict[str, Client]

    @property
    def known_scopes(self) -> frozenset[str]:
        return frozenset(self.scopes) | frozenset(self.reserved)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: must be a mapping")
    return value


def _scopes(value: Any, known: frozenset[str], where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise PolicyError(f"{where}.scopes: must be a list of scopes")
    unknown = set(value) - known
    if unknown:
        raise PolicyError(f"{where}.scopes: unknown scopes {sorted(unknown)}")
    return frozenset(value)


def load_policy(roles_file: Path, clients_file: Path) -> Policy:
    roles_doc = _mapping(yaml.safe_load(roles_file.read_text()), str(roles_file))
    scopes = {str(k): str(v) for k, v in _mapping(roles_doc.get("scopes"), "scopes").items()}
    reserved = {str(k): str(v) for k, v in _mapping(roles_doc.get("reserved", {}), "reserved").items()}
    known = frozenset(scopes) | frozenset(reserved)
    roles: dict[str, Role] = {}
    for name, spec in _mapping(roles_doc.get("roles"), "roles").items():
        spec = _mapping(spec, f"roles.{name}")
        practices = spec.get("practices", "one")
        if practices not in ("one", "many"):
            raise PolicyError(f"roles.{name}.practices: one or many")
        roles[name] = Role(name, str(spec.get("description", "")), _scopes(spec.get("scopes"), known, f"roles.{name}"),
                           practices, spec.get("npi") == "required")
    clients_doc = _mapping(yaml.safe_load(clients_file.read_text()), str(clients_file))
    clients: dict[str, Client] = {}
    for client_id, spec in _mapping(clients_doc.get("clients"), "clients").items():
        spec = _mapping(spec, f"clients.{client_id}")
        practices = spec.get("practices")
        if (not isinstance(practices, list) or not practices
                or not all(p == EVERY_PRACTICE or PRACTICE_ID.fullmatch(str(p)) for p in practices)):
            raise PolicyError(f"clients.{client_id}.practices: a list of practice ids, or [\"*\"]")
        clients[client_id] = Client(client_id, str(spec.get("description", "")),
                                    _scopes(spec.get("scopes"), known, f"clients.{client_id}"),
                                    tuple(str(p) for p in practices))
    return Policy(scopes, reserved, roles, clients)
