"""The client address of a request: the peer, or the right-most untrusted hop behind proxies.

The contract: the client IP is the peer address of the connection; ``X-Forwarded-For``
counts only when the peer is one of ``SAT_TRUSTED_PROXIES``, and then the right-most
address not itself trusted is the client. Addresses are read with the one parser of
``tokens.ip_ranges``, so an unusable hop (over-long, a zone id) is never the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from tokens.ip_ranges import (
    DOTTED_QUAD_LENGTH,
    MAX_REMEMBERED_ADDRESSES,
    IpAddress,
    IpNetwork,
    address_or_none,
    canonical,
)
from tokens.names import shown


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """Addresses or CIDRs, comma-separated (SAT_TRUSTED_PROXIES, SAT_METRICS_ALLOW).

    IPv4-mapped IPv6 networks are taken as IPv4, as peers are. ``ValueError`` names the
    entry at fault.
    """
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"has an invalid entry {shown(item)}") from None
        networks.append(_canonical_network(network))
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` we believe (``SAT_TRUSTED_PROXIES``)."""

    networks: tuple[IpNetwork, ...]
    # Whether a hop written as a canonical dotted quad is trusted (its address parsed,
    # ``tokens.ip_ranges``), for the walk over ``X-Forwarded-For``: behind a proxy, every
    # request walks the same few hops. Nothing else is kept; emptied when full.
    _trusted: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def none(cls) -> TrustedProxies:
        return cls(networks=())

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """Addresses or CIDRs, comma-separated; ``ValueError`` names the entry at fault."""
        return cls(networks=parse_networks(text))

    def trusts(self, address: IpAddress) -> bool:
        address = canonical(address)
        # ``in`` is False across versions: a network compares the versions first.
        return any(address in network for network in self.networks)

    def client_address(self, peer: str | None, forwarded_for: Iterable[str]) -> str | None:
        """The client address: the peer, or, behind trusted proxies, the right-most untrusted hop.

        ``forwarded_for`` holds each ``X-Forwarded-For`` header value in order. A
        malformed hop ends the walk at the last trusted hop seen, never past it.
        """
        peer_address = address_or_none(peer)
        if peer_address is None:
            return peer
        return str(self.client_behind(peer_address, forwarded_for))

    def client_behind(self, peer: IpAddress, forwarded_for: Iterable[str]) -> IpAddress:
        """``client_address`` for a peer already parsed (with ``address_or_none``)."""
        if not self.trusts(peer):
            return peer
        return self.client_behind_trusted(peer, forwarded_for)

    def client_behind_trusted(self, peer: IpAddress, forwarded_for: Iterable[str]) -> IpAddress:
        """``client_behind`` for a peer known to be trusted: the walk over the hops alone."""
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        client = peer
        for hop in reversed(hops):
            address = address_or_none(hop)
            if address is None:
                break
            client = address
            if not self._trusts_hop(hop, address):
                break
        return client

    def _trusts_hop(self, hop: str, address: IpAddress) -> bool:
        """``trusts(address)`` for a hop as written, remembered for canonical dotted quads."""
        short = len(hop) <= DOTTED_QUAD_LENGTH
        if short:
            known = self._trusted.get(hop)
            if known is not None:
                return known
        trusted = self.trusts(address)
        if short and address.version == 4 and str(address) == hop:
            if len(self._trusted) >= MAX_REMEMBERED_ADDRESSES:
                self._trusted.clear()
            self._trusted[hop] = trusted
        return trusted


def _canonical_network(network: IpNetwork) -> IpNetwork:
    """``::ffff:10.0.0.0/104`` is ``10.0.0.0/8``: peers are compared in their IPv4 form."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network
