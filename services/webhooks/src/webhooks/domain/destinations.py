"""Where a webhook may go. A destination is an absolute http(s) URL without credentials; HTTPS unless the
practice's configuration allows plain http; and every address its host resolves to must be public, unless the
practice's configuration allows that network (the tests allow loopback). Checked when an endpoint is registered
and again before every attempt (a name can be re-pointed at an internal address after it was registered)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from webhooks.domain.exceptions import ForbiddenDestination, InvalidDestination

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class DestinationPolicy:
    """What a practice's configuration allows beyond public HTTPS destinations."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    allow_plain_http: bool = False

    @classmethod
    def of(cls, networks: Iterable[str] = (), *, allow_plain_http: bool = False) -> DestinationPolicy:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks), allow_plain_http)

    def allows(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks)


@dataclass(frozen=True)
class Destination:
    url: str
    scheme: str
    host: str
    port: int

    @property
    def secure(self) -> bool:
        return self.scheme == "https"


def parse_destination(url: str, policy: DestinationPolicy) -> Destination:
    """An endpoint URL, checked for shape (no name resolution here)."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidDestination("url", f"is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidDestination("url", "is not a valid URL") from None
    if parts.scheme not in ("https", "http"):
        raise InvalidDestination("url", "must be an https:// URL")
    if parts.scheme == "http" and not policy.allow_plain_http:
        raise InvalidDestination("url", "must be an https:// URL (plain http is not allowed for this practice)")
    if not parts.hostname:
        raise InvalidDestination("url", "has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidDestination("url", "must not carry credentials (the signature authenticates us)")
    if parts.fragment:
        raise InvalidDestination("url", "must not have a fragment")
    return Destination(url.strip(), parts.scheme, parts.hostname.lower(),
                       port or (443 if parts.scheme == "https" else 80))


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def internal(address: IPAddress) -> bool:
    """Loopback, link-local, private, shared, reserved, multicast or unspecified: not the public internet."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return internal(address.ipv4_mapped)
    return not address.is_global or address.is_multicast


def check_addresses(destination: Destination, addresses: Sequence[IPAddress], policy: DestinationPolicy) -> None:
    """Refuse a destination any of whose addresses is internal and not allowed by the practice's configuration."""
    if not addresses:
        raise ForbiddenDestination("url", "the host does not resolve")
    for address in addresses:
        if internal(address) and not policy.allows(address):
            raise ForbiddenDestination(
                "url", "resolves to a loopback, link-local or private address, which this practice does not allow")
