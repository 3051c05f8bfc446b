"""IP ranges a token may be used from and client addresses (the proxy walk: tests/server)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import (
    IpAddress,
    address_pairs,
    addresses,
    ip_ranges,
    ip_versions,
    ipv4_addresses,
    ipv4_mapped,
    networks,
    probes,
)
from tokens.errors import InvalidInput
from tokens.ip_ranges import (
    AddressRange,
    address_or_none,
    allows,
    client_allowed,
    parse_address,
)

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address
FIELD = "ipRanges[0]"


def parse(start: str, end: str | None = None, label: str | None = None) -> AddressRange:
    return AddressRange.parse(start=start, end=end, label=label, field=FIELD)


def refusal(start: str, end: str | None = None, label: str | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse(start, end, label)
    return caught.value


def in_range(start: str, end: str | None = None) -> list[AddressRange]:
    return [parse(start, end)]


def oracle(ranges: Sequence[AddressRange], address: IpAddress) -> bool:
    """The contract by brute force: families and integer values, mapped IPv6 taken as IPv4."""
    if not ranges:
        return True
    if address.version == 6 and int(address) >> 32 == 0xFFFF:
        address = V4(int(address) & 0xFFFF_FFFF)
    return any(
        r.start.version == address.version and int(r.start) <= int(address) <= int(r.end)
        for r in ranges
    )


# --- AddressRange.parse ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["203.0.113.7", "2001:db8::7"])
@pytest.mark.parametrize("to", [None, "", "   "])
def test_single_address_is_a_range_of_one(text: str, to: str | None) -> None:
    parsed = parse(text, to)
    assert parsed.start == parsed.end == ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("start", "end"),
    [("10.0.0.1", "10.0.0.9"), ("2001:db8::1", "2001:db8::ffff"), (" 10.0.0.1 ", " 10.0.0.9")],
)
def test_from_and_to_give_an_inclusive_range(start: str, end: str) -> None:
    parsed = parse(start, end)
    assert (parsed.start, parsed.end) == (
        ipaddress.ip_address(start.strip()),
        ipaddress.ip_address(end.strip()),
    )


@given(address_pairs())
@settings(max_examples=200)
def test_parsed_range_keeps_both_ends(pair: tuple[IpAddress, IpAddress]) -> None:
    low, high = pair
    parsed = parse(str(low), str(high))
    assert (parsed.start, parsed.end) == (low, high)


@pytest.mark.parametrize(
    ("cidr", "first", "last"),
    [
        ("10.0.0.0/8", "10.0.0.0", "10.255.255.255"),
        ("192.168.1.0/24", "192.168.1.0", "192.168.1.255"),
        ("192.168.1.77/24", "192.168.1.0", "192.168.1.255"),  # host bits are dropped
        ("203.0.113.9/32", "203.0.113.9", "203.0.113.9"),
        ("0.0.0.0/0", "0.0.0.0", "255.255.255.255"),  # noqa: S104 (an address, not a bind)
        ("2001:db8:1:2::/64", "2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff"),
        ("2001:db8::1/128", "2001:db8::1", "2001:db8::1"),
        ("::ffff:10.0.0.0/104", "10.0.0.0", "10.255.255.255"),  # IPv4-mapped: taken as IPv4
    ],
)
@pytest.mark.parametrize("to", [None, ""])
def test_cidr_in_from_means_the_network_range(
    cidr: str, first: str, last: str, to: str | None
) -> None:
    parsed = parse(cidr, to)
    assert (parsed.start, parsed.end) == (ipaddress.ip_address(first), ipaddress.ip_address(last))


@given(networks())
@settings(max_examples=200)
def test_any_cidr_means_network_address_to_broadcast_address(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> None:
    parsed = parse(str(network))
    assert (parsed.start, parsed.end) == (network.network_address, network.broadcast_address)


def test_cidr_with_a_to_is_refused() -> None:
    error = refusal("10.0.0.0/8", "10.0.0.9")
    assert error.field == "ipRanges[0].to"
    assert error.message.startswith("ipRanges[0].to ")


@pytest.mark.parametrize(
    ("start", "end"),
    [("10.0.0.9", "10.0.0.1"), ("10.0.1.0", "10.0.0.255"), ("2001:db8::2", "2001:db8::1")],
)
def test_reversed_range_is_refused(start: str, end: str) -> None:
    assert refusal(start, end).field == "ipRanges[0].to"


@pytest.mark.parametrize(
    ("start", "end"),
    [("10.0.0.1", "2001:db8::1"), ("2001:db8::1", "10.0.0.1"), ("::1", "255.255.255.255")],
)
def test_mixed_families_are_refused(start: str, end: str) -> None:
    error = refusal(start, end)
    assert error.field == "ipRanges[0].to"
    assert "family" in error.message


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("10.0.0.256", None, "ipRanges[0].from"),
        ("not an address", None, "ipRanges[0].from"),
        ("", None, "ipRanges[0].from"),
        ("10.0.0", None, "ipRanges[0].from"),
        ("2001:db8:::1", None, "ipRanges[0].from"),
        ("10.0.0.0/33", None, "ipRanges[0].from"),
        ("2001:db8::/129", None, "ipRanges[0].from"),
        ("10.0.0.0/8/8", None, "ipRanges[0].from"),
        ("10.0.0.1", "10.0.0.999", "ipRanges[0].to"),
        ("10.0.0.1", "localhost", "ipRanges[0].to"),
        ("bad", "also bad", "ipRanges[0].from"),
    ],
)
def test_invalid_address_is_refused_naming_the_field(
    start: str, end: str | None, field: str
) -> None:
    assert refusal(start, end).field == field


def test_field_path_of_the_caller_is_kept() -> None:
    with pytest.raises(InvalidInput) as caught:
        AddressRange.parse(start="10.0.0.9", end="10.0.0.1", label=None, field="ipRanges[7]")
    assert caught.value.field == "ipRanges[7].to"


def test_label_of_at_most_100_characters_is_kept_trimmed() -> None:
    assert parse("10.0.0.1", label="  " + "x" * 100 + "  ").label == "x" * 100


def test_label_too_long_is_refused() -> None:
    assert refusal("10.0.0.1", label="x" * 101).field == "ipRanges[0].label"


@pytest.mark.parametrize("label", [None, "", "   "])
def test_blank_label_is_none(label: str | None) -> None:
    assert parse("10.0.0.1", label=label).label is None


@pytest.mark.parametrize(
    ("start", "end", "first", "last"),
    [
        ("::ffff:10.1.2.3", None, "10.1.2.3", "10.1.2.3"),
        ("::ffff:10.1.2.3", "::ffff:10.1.2.9", "10.1.2.3", "10.1.2.9"),
        ("::ffff:10.1.2.3", "10.1.2.9", "10.1.2.3", "10.1.2.9"),
        ("10.1.2.3", "::FFFF:0A01:0209", "10.1.2.3", "10.1.2.9"),
    ],
)
def test_ipv4_mapped_input_is_stored_as_ipv4(
    start: str, end: str | None, first: str, last: str
) -> None:
    parsed = parse(start, end)
    assert (parsed.start, parsed.end) == (V4(first), V4(last))
    assert parsed.start.version == parsed.end.version == 4


# --- allows -------------------------------------------------------------------------------------


@given(addresses() | ipv4_addresses.map(ipv4_mapped))
@settings(max_examples=100)
def test_no_ranges_allow_any_address(address: IpAddress) -> None:
    assert allows([], address)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.0.0.9", False),
        ("10.0.0.10", True),
        ("10.0.0.15", True),
        ("10.0.0.20", True),
        ("10.0.0.21", False),
    ],
)
def test_ipv4_range_includes_both_ends(address: str, expected: bool) -> None:
    assert allows(in_range("10.0.0.10", "10.0.0.20"), V4(address)) is expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("2001:db8::ff", False),
        ("2001:db8::100", True),
        ("2001:db8::1ff", True),
        ("2001:db8::200", True),
        ("2001:db8::201", False),
    ],
)
def test_ipv6_range_includes_both_ends(address: str, expected: bool) -> None:
    assert allows(in_range("2001:db8::100", "2001:db8::200"), V6(address)) is expected


def test_address_in_any_of_several_ranges_is_allowed() -> None:
    ranges = [parse("10.0.0.0/24"), parse("2001:db8::/64"), parse("192.168.0.5")]
    assert allows(ranges, V4("192.168.0.5"))
    assert allows(ranges, V6("2001:db8::abcd"))
    assert not allows(ranges, V4("192.168.0.6"))


@pytest.mark.parametrize("mapped", ["::ffff:10.1.2.3", "::ffff:a01:203", "0:0:0:0:0:ffff:10.1.2.3"])
def test_ipv4_mapped_address_matches_ipv4_range(mapped: str) -> None:
    assert allows(in_range("10.0.0.0/8"), V6(mapped))
    assert not allows(in_range("192.168.0.0/16"), V6(mapped))


@pytest.mark.parametrize(
    "address",
    [
        "::a01:203",  # the same 32-bit value as 10.1.2.3, but IPv6
        "::10.1.2.3",  # IPv4-compatible (deprecated) is not IPv4-mapped
        "64:ff9b::a01:203",  # NAT64 spelling of 10.1.2.3
        "2001:db8::1",
        "::",
    ],
)
def test_ipv6_address_never_matches_an_ipv4_range(address: str) -> None:
    assert not allows([parse("10.0.0.0/8"), parse("0.0.0.0/0")], V6(address))


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "0.0.0.0", "255.255.255.255"],  # noqa: S104 (an address, not a bind)
)
def test_ipv4_address_never_matches_an_ipv6_range(address: str) -> None:
    assert not allows([parse("::/0")], V4(address))


@st.composite
def ranges_and_probe(draw: st.DrawFn, version: int | None) -> tuple[list[AddressRange], IpAddress]:
    ranges = draw(st.lists(ip_ranges(version), max_size=4))
    probe = draw(probes(ranges))
    if isinstance(probe, V4) and draw(st.integers(0, 4)) == 0:
        probe = ipv4_mapped(probe)
    return ranges, probe


@pytest.mark.parametrize("version", [4, 6, None], ids=["ipv4", "ipv6", "mixed"])
@given(data=st.data())
@settings(max_examples=200)
def test_membership_matches_brute_force(version: int | None, data: st.DataObject) -> None:
    ranges, probe = data.draw(ranges_and_probe(version))
    assert allows(ranges, probe) is oracle(ranges, probe)


@given(version=ip_versions, data=st.data())
@settings(max_examples=200)
def test_ends_of_a_range_are_in_it_and_their_outer_neighbours_are_not(
    version: int, data: st.DataObject
) -> None:
    low, high = data.draw(address_pairs(version))
    ranges = [parse(str(low), str(high))]
    assert allows(ranges, low)
    assert allows(ranges, high)
    family = V4 if version == 4 else V6
    if int(low) > 0:
        assert not allows(ranges, family(int(low) - 1))
    if int(high) < 2 ** (32 if version == 4 else 128) - 1:
        assert not allows(ranges, family(int(high) + 1))


# --- client_allowed and parse_address -----------------------------------------------------------


@pytest.mark.parametrize(
    "address", [None, "", "   ", "garbage", "10.1.2.3:443", "10.1.2", "[::1]", "10.1.2.3/32"]
)
def test_missing_or_unparsable_client_address_is_refused_when_ranges_are_set(
    address: str | None,
) -> None:
    ranges = in_range("0.0.0.0/0") + in_range("::/0")
    assert client_allowed(ranges, "10.1.2.3")
    assert not client_allowed(ranges, address)


@pytest.mark.parametrize("address", [None, "garbage", "10.1.2.3"])
def test_any_client_address_is_allowed_when_no_ranges_are_set(address: str | None) -> None:
    assert client_allowed([], address)


@pytest.mark.parametrize(
    ("address", "expected"),
    [("10.1.2.3", True), (" ::ffff:10.1.2.3 ", True), ("10.2.0.0", False), ("::a01:203", False)],
)
def test_client_allowed_parses_the_address_text(address: str, expected: bool) -> None:
    assert client_allowed(in_range("10.1.0.0/16"), address) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.1.2.3", V4("10.1.2.3")),
        (" 10.1.2.3 ", V4("10.1.2.3")),
        ("::ffff:10.1.2.3", V4("10.1.2.3")),
        ("2001:DB8::1", V6("2001:db8::1")),
    ],
)
def test_parse_address_gives_the_canonical_address(text: str, expected: IpAddress) -> None:
    assert parse_address(text, field="ip") == expected


@pytest.mark.parametrize("text", ["", "garbage", "10.1.2.3:80", "10.0.0.0/8", "1.2.3.4.5"])
def test_parse_address_error_names_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_address(text, field="validateToken.ip")
    assert caught.value.field == "validateToken.ip"
    assert caught.value.message.startswith("validateToken.ip ")


def _as_ipaddress_reads(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    stripped = text.strip()
    if len(stripped) > 45 or "%" in stripped:
        return None
    try:
        address = ipaddress.ip_address(stripped)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


_octet = st.one_of(st.integers(0, 255).map(str), st.from_regex(r"0[0-9]{1,3}", fullmatch=True))


@settings(max_examples=500)
@given(
    st.one_of(
        st.builds(".".join, st.lists(_octet, min_size=3, max_size=5)),
        st.text(alphabet="0123456789.: abcdefx٣", max_size=20),
        st.ip_addresses().map(str),
    )
)
def test_the_fast_dotted_quad_reading_answers_as_ipaddress_does(text: str) -> None:
    """inet_pton reads the common spelling; every answer is still ipaddress's."""
    assert address_or_none(text) == _as_ipaddress_reads(text)
