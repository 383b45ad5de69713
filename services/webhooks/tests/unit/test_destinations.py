"""Destinations: https URLs on public addresses; loopback, link-local, private and other internal ranges refused
unless the practice's configuration allows that network; plain http only where allowed."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from webhooks.domain.destinations import DestinationPolicy, check_addresses, internal, parse_destination
from webhooks.domain.exceptions import ForbiddenDestination, InvalidDestination

PUBLIC = DestinationPolicy()
INTERNAL_NETWORKS = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                     "100.64.0.0/10", "0.0.0.0/8", "::1/128", "fe80::/10", "fc00::/7"]


@given(st.sampled_from(INTERNAL_NETWORKS), st.integers(min_value=0))
def test_every_internal_address_is_refused(network: str, offset: int) -> None:
    net = ipaddress.ip_network(network)
    address = net[offset % net.num_addresses]
    destination = parse_destination("https://hooks.example/in", PUBLIC)
    with pytest.raises(ForbiddenDestination):
        check_addresses(destination, [address], PUBLIC)
    check_addresses(destination, [address], DestinationPolicy.of([network]))  # allowed by configuration


def test_a_name_with_one_internal_address_among_public_ones_is_refused() -> None:
    destination = parse_destination("https://hooks.example/in", PUBLIC)
    check_addresses(destination, [ipaddress.ip_address("93.184.216.34")], PUBLIC)
    with pytest.raises(ForbiddenDestination):
        check_addresses(destination, [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.1.2.3")],
                        PUBLIC)
    with pytest.raises(ForbiddenDestination):
        check_addresses(destination, [], PUBLIC)
    assert internal(ipaddress.ip_address("::ffff:127.0.0.1")), "IPv4-mapped loopback is loopback"


@pytest.mark.parametrize("url", ["ftp://hooks.example/", "hooks.example/in", "https://user:pw@hooks.example/",
                                 "https:///nohost", "https://hooks.example:99999/", "https://h.example/#frag",
                                 "https://" + "a" * 2000 + ".example/"])
def test_urls_that_are_not_plain_https_destinations_are_refused(url: str) -> None:
    with pytest.raises(InvalidDestination) as refused:
        parse_destination(url, PUBLIC)
    assert refused.value.field == "url"


def test_plain_http_only_where_the_practice_allows_it() -> None:
    with pytest.raises(InvalidDestination, match="https"):
        parse_destination("http://hooks.example/in", PUBLIC)
    destination = parse_destination("http://127.0.0.1:8080/in", DestinationPolicy.of([], allow_plain_http=True))
    assert (destination.host, destination.port, destination.secure) == ("127.0.0.1", 8080, False)
