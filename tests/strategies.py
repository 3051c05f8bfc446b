"""Hypothesis strategies for the spaces the domain works over: addresses, ranges, secrets, grants.

The secret helpers here follow the contract's text, not ``tokens.secrets``: a test that
builds its expectations with the code under test would agree with any bug in it.
"""

from __future__ import annotations

import ipaddress
import string
import zlib
from collections.abc import Sequence

from hypothesis import assume
from hypothesis import strategies as st

from tokens.catalog import Catalog
from tokens.grants import GrantedAccess, GrantRequest
from tokens.ip_ranges import AddressRange
from tokens.secrets import SecretKind

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# --- secrets ------------------------------------------------------------------------------------

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
BODY_LENGTH = 40
CHECK_LENGTH = 6


def base62(value: int, width: int) -> str:
    """``value`` in ``width`` base62 digits, most significant first, left-padded with '0'."""
    digits = []
    for _ in range(width):
        value, remainder = divmod(value, 62)
        digits.append(BASE62[remainder])
    assert value == 0, "value does not fit"
    return "".join(reversed(digits))


def check_digits(text: str) -> str:
    """The contract's CHECK of ``PREFIX + BODY``: CRC32 in base62, most significant first.

    The one oracle of the check digits for every test: independent of tokens.secrets.
    """
    return base62(zlib.crc32(text.encode("ascii")), CHECK_LENGTH)


def with_check(prefix: str, body: str) -> str:
    return prefix + body + check_digits(prefix + body)


secret_kinds = st.sampled_from(SecretKind)
secret_bodies = st.text(alphabet=BASE62, min_size=BODY_LENGTH, max_size=BODY_LENGTH)


def secrets_of(kind: SecretKind) -> st.SearchStrategy[str]:
    """Well-formed secrets of one kind: a random base62 body and its correct check."""
    return secret_bodies.map(lambda body: with_check(kind.prefix, body))


@st.composite
def kinds_and_secrets(draw: st.DrawFn) -> tuple[SecretKind, str]:
    """A kind and a well-formed secret of that kind."""
    kind = draw(secret_kinds)
    return kind, draw(secrets_of(kind))


# --- IP addresses, ranges, networks -------------------------------------------------------------


def _native(address: IpAddress) -> bool:
    """False for IPv4-mapped IPv6 addresses, which the domain treats as IPv4."""
    return not (isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None)


# Drawn as integers, which Hypothesis pushes to the ends (zero, all ones) and shrinks well;
# several times cheaper than ``st.ip_addresses``.
ipv4_addresses = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
# IPv6 addresses that are IPv6 to the domain (not IPv4-mapped). Low values are drawn often
# too: ``::``, ``::1`` and the neighbours of the mapped block ``::ffff:0:0/96`` live there.
ipv6_addresses = (
    st.one_of(st.integers(0, 2**128 - 1), st.integers(0, 2**49))
    .map(ipaddress.IPv6Address)
    .filter(_native)
)
ip_versions = st.sampled_from([4, 6])


def addresses(version: int | None = None) -> st.SearchStrategy[IpAddress]:
    if version == 4:
        return ipv4_addresses
    if version == 6:
        return ipv6_addresses
    return st.one_of(ipv4_addresses, ipv6_addresses)


def ipv4_mapped(address: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    """``::ffff:a.b.c.d``: the form dual-stack sockets report IPv4 peers in."""
    return ipaddress.IPv6Address((0xFFFF << 32) | int(address))


@st.composite
def address_pairs(draw: st.DrawFn, version: int | None = None) -> tuple[IpAddress, IpAddress]:
    """Two addresses of one family, lower first (they may be equal)."""
    family = version if version is not None else draw(ip_versions)
    first, second = draw(addresses(family)), draw(addresses(family))
    # Equal ends (a single address) are a common case; make them likely, not one in 2**128.
    if draw(st.booleans()) and draw(st.booleans()):
        second = first
    low, high = sorted((first, second), key=int)
    return low, high


@st.composite
def ip_ranges(draw: st.DrawFn, version: int | None = None) -> AddressRange:
    """An ``AddressRange`` with ``start <= end`` of one family, built directly (not parsed)."""
    low, high = draw(address_pairs(version))
    label = draw(st.sampled_from([None, "office", "VPN gateway"]))
    return AddressRange(start=low, end=high, label=label)


@st.composite
def networks(draw: st.DrawFn, version: int | None = None) -> IpNetwork:
    """A CIDR network whose first and last addresses are of its own family (not IPv4-mapped)."""
    family = version if version is not None else draw(ip_versions)
    address = draw(addresses(family))
    prefix = draw(st.integers(0, 32 if family == 4 else 128))
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    assume(_native(network.network_address) and _native(network.broadcast_address))
    return network


@st.composite
def probes(draw: st.DrawFn, ranges: Sequence[AddressRange]) -> IpAddress:
    """An address worth asking about: anywhere, or at or just beside the end of a range."""
    if not ranges or draw(st.booleans()):
        return draw(addresses())
    chosen = draw(st.sampled_from(ranges))
    end = draw(st.sampled_from([chosen.start, chosen.end]))
    top = 2**32 - 1 if end.version == 4 else 2**128 - 1
    value = min(max(int(end) + draw(st.integers(-1, 1)), 0), top)
    return ipaddress.IPv4Address(value) if end.version == 4 else ipaddress.IPv6Address(value)


# --- grants -------------------------------------------------------------------------------------


def targets(catalog: Catalog) -> st.SearchStrategy[tuple[str, str | None]]:
    """An (area, folder) pair the catalog holds; folder ``None`` is the area itself."""
    return st.sampled_from(
        [
            (area.key, folder)
            for area in catalog.areas
            for folder in (None, *(f.key for f in area.folders))
        ]
    )


def grants(catalog: Catalog) -> st.SearchStrategy[GrantedAccess]:
    """A grant on a target the catalog holds, with any of the eight combinations of flags."""
    return st.tuples(targets(catalog), st.booleans(), st.booleans(), st.booleans()).map(
        lambda t: GrantedAccess(area=t[0][0], folder=t[0][1], read=t[1], write=t[2], delete=t[3])
    )


def grant_lists(catalog: Catalog, *, max_size: int = 6) -> st.SearchStrategy[list[GrantedAccess]]:
    """Grants with distinct targets, as ``grants.resolve`` produces them."""
    return st.lists(grants(catalog), max_size=max_size, unique_by=lambda g: g.target)


def grant_requests(catalog: Catalog) -> st.SearchStrategy[GrantRequest]:
    return grants(catalog).map(
        lambda g: GrantRequest(
            area=g.area, folder=g.folder, read=g.read, write=g.write, delete=g.delete
        )
    )
