"""Peer addresses: `host:port` or `tcp://host:port` (IPv6 in brackets) in one normal form.

Membership keys peers by address text, so one peer written two ways
(`Node-1:5555`, `tcp://node-1:5555`) must normalise to the same string.
"""

from __future__ import annotations

import ipaddress
import re

SCHEME = "tcp://"
MAX_ADDRESS_CHARS = 300
WILDCARD_HOSTS = frozenset({"*", "0.0.0.0", "::"})

# RFC 1123 labels; underscores allowed because container and compose names use them.
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


class AddressError(ValueError):
    """Text that is not a usable `tcp://host:port` address; the message is the reason."""


def parse_address(text: str, *, allow_port_zero: bool = False, allow_wildcard: bool = False) -> str:
    """Normalise `host:port` / `tcp://host:port` to `tcp://host:port`, or raise AddressError.

    Hostnames are lower-cased, IPv6 addresses compressed and bracketed. A bind
    address may use port 0 or `*` (a free port) and the wildcard hosts `*`,
    `0.0.0.0` and `[::]`; a peer address may not.
    """
    host, port = split_address(text, allow_port_zero=allow_port_zero, allow_wildcard=allow_wildcard)
    return join_address(host, port)


def split_address(
    text: str, *, allow_port_zero: bool = False, allow_wildcard: bool = False
) -> tuple[str, int]:
    """(host, port) of an address; an IPv6 host is returned without brackets."""
    if not isinstance(text, str):
        raise AddressError(f"address must be text, got {type(text).__name__}")
    if len(text) > MAX_ADDRESS_CHARS:
        raise AddressError(f"address longer than {MAX_ADDRESS_CHARS} characters")
    rest = text.strip()
    if "://" in rest:
        scheme, _, rest = rest.partition("://")
        if scheme.lower() != "tcp":
            raise AddressError(f"unsupported scheme {scheme!r}: only tcp:// is supported")
    if not rest:
        raise AddressError("empty address")
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise AddressError("IPv6 address has no closing bracket")
        host, after = rest[1:end], rest[end + 1 :]
        if not after.startswith(":"):
            raise AddressError("missing port after IPv6 address")
        port_text = after[1:]
        host = _ipv6(host, allow_wildcard)
    else:
        if rest.count(":") > 1:
            raise AddressError("IPv6 address must be in brackets, e.g. [::1]:5555")
        host, sep, port_text = rest.rpartition(":")
        if not sep:
            raise AddressError("missing port (expected host:port)")
        host = _host(host, allow_wildcard)
    return host, _port(port_text, allow_port_zero)


def join_address(host: str, port: int) -> str:
    """`tcp://host:port`, bracketing an IPv6 host."""
    return f"{SCHEME}[{host}]:{port}" if ":" in host else f"{SCHEME}{host}:{port}"


def is_ipv6(address: str) -> bool:
    """Whether a normalised address names an IPv6 host (ZeroMQ needs the IPV6 option)."""
    return address.startswith(SCHEME + "[")


def _port(text: str, allow_zero: bool) -> int:
    if allow_zero and text == "*":
        return 0
    if not text:
        raise AddressError("missing port")
    if not text.isdigit() or not text.isascii():
        raise AddressError(f"port {text!r} is not a number")
    port = int(text)
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise AddressError(f"port {port} out of range {low}..65535")
    return port


def _ipv6(text: str, allow_wildcard: bool) -> str:
    try:
        ip = ipaddress.IPv6Address(text)
    except ValueError:
        raise AddressError(f"bad IPv6 address {text!r}") from None
    if ip.is_unspecified and not allow_wildcard:
        raise AddressError("the wildcard address [::] is not a peer address")
    return ip.compressed


def _host(text: str, allow_wildcard: bool) -> str:
    if not text:
        raise AddressError("missing host")
    host = text.lower()
    if host in WILDCARD_HOSTS:
        if not allow_wildcard:
            raise AddressError(f"the wildcard address {text} is not a peer address")
        return host
    labels = host.split(".")
    if all(label.isdigit() for label in labels):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise AddressError(f"bad IPv4 address {text!r}") from None
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise AddressError(f"bad hostname {text!r}")
    return host
