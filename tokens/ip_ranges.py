"""IP addresses and the ranges a token may be used from: the one address parser of SAT.

Which address is the client's (the peer, or a hop of ``X-Forwarded-For`` behind
trusted proxies) is the transport's question: ``server.client_ip``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from tokens.errors import InvalidInput
from tokens.names import check_text, shown

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_LABEL_LENGTH = 100
MAX_RANGES = 100
# The longest textual IPv6 address (an IPv4-mapped one written out in full).
MAX_ADDRESS_LENGTH = 45

# Addresses written as canonical dotted quads (as ``ipaddress`` writes them, at most 15
# characters), parsed: nearly every validation's ``ip``, peer and forwarded hop. Nothing
# else is kept, so the memo never holds raw request text (padding, zone ids, junk);
# emptied when full.
_DOTTED_QUADS: dict[str, ipaddress.IPv4Address] = {}
MAX_REMEMBERED_ADDRESSES = 16_384
DOTTED_QUAD_LENGTH = len("255.255.255.255")


def parse_address(text: str, *, field: str) -> IpAddress:
    """An IPv4 or IPv6 address; IPv4-mapped IPv6 (``::ffff:10.1.2.3``) becomes IPv4."""
    known = _DOTTED_QUADS.get(text) if len(text) <= DOTTED_QUAD_LENGTH else None
    return known if known is not None else canonical(_plain(text, field=field))


def canonical(address: IpAddress) -> IpAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True, slots=True)
class AddressRange:
    """An inclusive range of addresses of one family, with an optional label."""

    start: IpAddress
    end: IpAddress
    label: str | None = None
    # The ends as integers, for ``in`` on every validation of a restricted token.
    _first: int = dataclasses.field(init=False, repr=False, compare=False)
    _last: int = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_first", int(self.start))
        object.__setattr__(self, "_last", int(self.end))

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return address.version == self.start.version and self._first <= int(address) <= self._last

    @classmethod
    def stored(cls, *, start: str, end: str, label: str | None) -> AddressRange:
        """A range as storage holds it: already checked, both ends written out."""
        return cls(
            start=canonical(ipaddress.ip_address(start)),
            end=canonical(ipaddress.ip_address(end)),
            label=label,
        )

    @classmethod
    def parse(cls, *, start: str, end: str | None, label: str | None, field: str) -> AddressRange:
        """Check a range as an admin typed it; ``start`` may be a CIDR when ``end`` is absent."""
        clean_label = label.strip() if label is not None else None
        if clean_label is not None:
            if len(clean_label) > MAX_LABEL_LENGTH:
                raise InvalidInput(
                    f"{field}.label", f"must be at most {MAX_LABEL_LENGTH} characters"
                )
            check_text(clean_label, field=f"{field}.label", controls=False)
        if "/" in start:
            if end is not None and end.strip():
                raise InvalidInput(f"{field}.to", "must be empty when from is a CIDR network")
            cidr = start.strip()
            # A prefix length adds at most 4 characters ("/128") to an address.
            if len(cidr) > MAX_ADDRESS_LENGTH + 4 or "%" in cidr:
                raise InvalidInput(f"{field}.from", f"is not a valid CIDR network: {shown(start)}")
            try:
                network = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise InvalidInput(
                    f"{field}.from", f"is not a valid CIDR network: {shown(start)}"
                ) from None
            first, last = network.network_address, network.broadcast_address
        else:
            first = _plain(start, field=f"{field}.from")
            last = first if end is None or not end.strip() else _plain(end, field=f"{field}.to")
        first, last = canonical(first), canonical(last)
        if first.version != last.version:
            raise InvalidInput(f"{field}.to", "must be of the same IP family as from")
        if int(last) < int(first):
            raise InvalidInput(f"{field}.to", "must not be lower than from")
        return cls(start=first, end=last, label=clean_label or None)

    def as_detail(self) -> dict[str, str | None]:
        """The range as the audit trail records it."""
        return {"label": self.label, "from": str(self.start), "to": str(self.end)}


@dataclass(frozen=True, slots=True)
class IpRangeRequest:
    """An IP range as an admin types it: ``start`` may be a CIDR when ``end`` is None."""

    start: str
    end: str | None = None
    label: str | None = None


def parse_ranges(
    requests: Sequence[IpRangeRequest], *, field: str = "ipRanges"
) -> list[AddressRange]:
    """Check a whole list of ranges as typed; refuse it on the first fault, named by index."""
    if len(requests) > MAX_RANGES:
        raise InvalidInput(field, f"must hold at most {MAX_RANGES} ranges")
    return [
        AddressRange.parse(start=r.start, end=r.end, label=r.label, field=f"{field}[{index}]")
        for index, r in enumerate(requests)
    ]


def _plain(text: str, *, field: str) -> IpAddress:
    """An address as typed: at most 45 characters once trimmed, without a zone id.

    A zone id (``fe80::1%eth0``) names an interface of the machine that wrote it; it
    means nothing here, and it is free text that would be stored and shown to admins.
    """
    address = _address_or_none(text)
    if address is None:
        raise InvalidInput(field, f"is not a valid IP address: {shown(text)}")
    return address


def _address_or_none(text: str) -> IpAddress | None:
    stripped = text.strip()
    if len(stripped) > MAX_ADDRESS_LENGTH or "%" in stripped:
        return None
    dotted = _dotted_quad(stripped)
    if dotted is not None:
        if stripped == text:  # written exactly as canonical: worth remembering
            if len(_DOTTED_QUADS) >= MAX_REMEMBERED_ADDRESSES:
                _DOTTED_QUADS.clear()
            _DOTTED_QUADS[text] = dotted
        return dotted
    try:
        return ipaddress.ip_address(stripped)
    except ValueError:
        return None


def _dotted_quad(text: str) -> ipaddress.IPv4Address | None:
    """``text`` as IPv4 when it is written exactly as ``ipaddress`` writes it, else None.

    The common case on every validation, read by the C library: ``ipaddress`` parses
    in Python, several microseconds an address. Any other spelling (leading zeros,
    IPv6, garbage) is left to ``ipaddress``, so the answers are those it gives.
    """
    try:
        packed = socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError, UnicodeEncodeError):
        return None
    if socket.inet_ntop(socket.AF_INET, packed) != text:
        return None
    return ipaddress.IPv4Address(packed)


def client_allowed(ranges: Sequence[AddressRange], address: str | None) -> bool:
    """Like ``allows`` for an address that may be missing or unparsable (then refused)."""
    if not ranges:
        return True
    parsed = address_or_none(address)
    return parsed is not None and allows(ranges, parsed)


def allows(ranges: Sequence[AddressRange], address: IpAddress) -> bool:
    """True when no ranges are set, or ``address`` lies in one of them."""
    if not ranges:
        return True
    address = canonical(address)
    for allowed in ranges:  # noqa: SIM110 (no generator: this runs for every validation)
        if address in allowed:
            return True
    return False


def address_or_none(text: str | None) -> IpAddress | None:
    """An address, or None for anything unusable (a zone id, over-long, not an address)."""
    if not text:
        return None
    known = _DOTTED_QUADS.get(text) if len(text) <= DOTTED_QUAD_LENGTH else None
    if known is not None:
        return known
    address = _address_or_none(text)
    return None if address is None else canonical(address)
