"""The client address: the peer, or behind trusted proxies the right-most untrusted hop."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.client_ip import TrustedProxies
from tests.strategies import IpAddress, addresses

PROXIES = TrustedProxies.parse("10.0.0.0/8, 192.0.2.1 ,2001:db8:ffff::/48")


def test_trusted_proxies_parse_addresses_and_cidrs() -> None:
    assert PROXIES.networks == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.1/32"),
        ipaddress.ip_network("2001:db8:ffff::/48"),
    )


@pytest.mark.parametrize("text", ["", " ", ",", " , ,"])
def test_empty_trusted_proxies_trust_nobody(text: str) -> None:
    proxies = TrustedProxies.parse(text)
    assert proxies.networks == ()
    assert proxies.client_address("10.0.0.1", ["203.0.113.9"]) == "10.0.0.1"


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("10.0.0.1, nonsense", "nonsense"),
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("10.0.0.1 10.0.0.2", "10.0.0.1 10.0.0.2"),
        ("proxy.internal", "proxy.internal"),
    ],
)
def test_bad_trusted_proxy_entry_is_refused(text: str, entry: str) -> None:
    with pytest.raises(ValueError, match="has an invalid entry") as caught:
        TrustedProxies.parse(text)
    assert repr(entry) in str(caught.value)


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # An untrusted peer is the client, whatever it claims to forward for.
        ("203.0.113.5", [], "203.0.113.5"),
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),
        ("203.0.113.5", ["198.51.100.1, 10.0.0.2"], "203.0.113.5"),
        ("2001:db8:1::1", ["2001:db8:2::1"], "2001:db8:1::1"),
        # A trusted peer: the right-most hop that is not itself trusted.
        ("10.0.0.1", [], "10.0.0.1"),
        ("10.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["198.51.100.1, 203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["198.51.100.1, 203.0.113.9, 10.0.0.5"], "203.0.113.9"),
        ("10.0.0.1", ["203.0.113.9,192.0.2.1,10.9.9.9"], "203.0.113.9"),
        # Every hop trusted: the left-most one.
        ("10.0.0.1", ["10.0.0.7, 10.0.0.5"], "10.0.0.7"),
        ("10.0.0.1", ["192.0.2.1"], "192.0.2.1"),
        # Several header values are one list, in order.
        ("10.0.0.1", ["198.51.100.1", "203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["203.0.113.9", "198.51.100.1"], "198.51.100.1"),
        ("10.0.0.1", ["198.51.100.1, 203.0.113.9", "10.0.0.5, 10.0.0.6"], "203.0.113.9"),
        ("10.0.0.1", ["203.0.113.9", "10.0.0.5"], "203.0.113.9"),
        # A malformed hop ends the walk: nothing left of it is believed.
        ("10.0.0.1", ["garbage"], "10.0.0.1"),
        ("10.0.0.1", ["203.0.113.9, garbage"], "10.0.0.1"),
        ("10.0.0.1", ["203.0.113.9, garbage, 10.0.0.5"], "10.0.0.5"),
        ("10.0.0.1", ["203.0.113.9", "garbage", "10.0.0.5"], "10.0.0.5"),
        ("10.0.0.1", ["203.0.113.9, 198.51.100.1:4711"], "10.0.0.1"),
        ("10.0.0.1", ["203.0.113.9, unknown"], "10.0.0.1"),
        # IPv6 proxies and clients; results are written canonically.
        ("2001:db8:ffff::1", ["2001:DB8:1:0::5"], "2001:db8:1::5"),
        ("2001:db8:ffff::1", ["203.0.113.9, 2001:db8:ffff::2"], "203.0.113.9"),
        ("10.0.0.1", ["2001:db8:1::5"], "2001:db8:1::5"),
        # IPv4-mapped peers and hops are IPv4.
        ("::ffff:10.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        ("::ffff:203.0.113.5", ["198.51.100.1"], "203.0.113.5"),
        ("10.0.0.1", ["198.51.100.1, ::ffff:203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["198.51.100.1, ::ffff:10.0.0.5"], "198.51.100.1"),
    ],
)
def test_client_address(peer: str, forwarded_for: list[str], expected: str) -> None:
    assert PROXIES.client_address(peer, forwarded_for) == expected


def test_no_peer_is_no_client_address() -> None:
    assert PROXIES.client_address(None, ["203.0.113.9"]) is None


@given(
    peer=addresses(),
    forged=st.lists(st.lists(addresses().map(str), min_size=1).map(", ".join), max_size=3),
)
@settings(max_examples=100)
def test_without_trusted_proxies_the_header_is_ignored(peer: IpAddress, forged: list[str]) -> None:
    assert TrustedProxies.none().client_address(str(peer), forged) == str(peer)


@given(
    left=st.lists(st.integers(0, 255).map(lambda n: f"203.0.113.{n}"), min_size=1, max_size=4),
    garbage=st.sampled_from(["", "garbage", "1.2.3", "203.0.113.1:80", "_hidden", "unknown"]),
    right=st.lists(st.integers(2, 255).map(lambda n: f"10.0.0.{n}"), max_size=4),
)
@settings(max_examples=200)
def test_no_address_left_of_a_malformed_hop_is_believed(
    left: list[str], garbage: str, right: list[str]
) -> None:
    header = ", ".join([*left, garbage, *right])
    client = PROXIES.client_address("10.0.0.1", [header])
    assert client not in left
    assert client == (right[0] if right else "10.0.0.1")


def test_trusted_proxy_written_as_ipv4_mapped_address_is_trusted() -> None:
    """Peers are canonicalised to IPv4, so a mapped entry must mean the same IPv4 proxy."""
    proxies = TrustedProxies.parse("::ffff:10.0.0.1")
    assert proxies.client_address("10.0.0.1", ["203.0.113.9"]) == "203.0.113.9"
    assert proxies.client_address("::ffff:10.0.0.1", ["203.0.113.9"]) == "203.0.113.9"


def test_a_forwarded_hop_with_a_zone_id_is_not_taken_as_the_client() -> None:
    proxies = TrustedProxies.parse("127.0.0.1")

    client = proxies.client_address("127.0.0.1", ["203.0.113.9, fe80::1%eth0"])

    assert client == "127.0.0.1"
