"""peers.txt: the seed addresses a node starts from.

One peer per line, `host:port` or `tcp://host:port` (IPv6 in brackets), an
optional second field with the peer's CURVE public key (Z85, 40 characters)
for secured networks, `#` comments and blank lines. The node's own address and
repeated lines are skipped so one file can be shared by every machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from gossip.address import AddressError, parse_address

Z85_ALPHABET = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
)
CURVE_KEY_CHARS = 40
MAX_FILE_BYTES = 1024 * 1024


class PeersFileError(ValueError):
    """A peers file that cannot be used; the message reads `file:line: reason`, one line
    for each bad line of the file (a user fixes them all in one go, not one per start)."""


@dataclass(frozen=True)
class PeerEntry:
    """One seed peer: its normalised address and, on secured networks, its public key."""

    address: str
    public_key: str | None
    line: int


def read_peers_file(path: str | os.PathLike[str], own: Iterable[str] = ()) -> list[PeerEntry]:
    """Parse the peers file at `path`, skipping the addresses in `own`."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise PeersFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise PeersFileError(f"{name}: larger than {MAX_FILE_BYTES} bytes")
    return parse_peers(raw, source=name, own=own)


def parse_peers(
    content: str | bytes, source: str = "peers.txt", own: Iterable[str] = ()
) -> list[PeerEntry]:
    """Parse peers-file content; `source` names the file in error messages."""
    own_set = {_normalise_own(a) for a in own}
    lines = content.splitlines() if isinstance(content, bytes) else content.encode().splitlines()
    entries: dict[str, PeerEntry] = {}
    problems: list[str] = []
    for number, raw_line in enumerate(lines, start=1):
        try:
            entry = _parse_line(raw_line.decode("utf-8"), number)
        except UnicodeDecodeError:
            problems.append(f"{source}:{number}: not UTF-8 text")
            continue
        except ValueError as exc:
            problems.append(f"{source}:{number}: {exc}")
            continue
        if entry is None or entry.address in own_set:
            continue
        first = entries.get(entry.address)
        if first is None:
            entries[entry.address] = entry
        elif entry.public_key is not None and entry.public_key != first.public_key:
            problems.append(f"{source}:{number}: {entry.address} has a different public key "
                            f"than on line {first.line}")
    if problems:
        raise PeersFileError("\n".join(problems))
    return list(entries.values())


def _parse_line(text: str, number: int) -> PeerEntry | None:
    fields = _fields(text)
    if not fields:
        return None
    if len(fields) > 2:
        raise ValueError(f"unexpected text {fields[2]!r} (expected: address [public-key])")
    try:
        address = parse_address(fields[0])
    except AddressError as exc:
        raise ValueError(str(exc)) from None
    key = None
    if len(fields) == 2:
        key = fields[1]
        if len(key) >= 2 and key[0] == key[-1] == '"':
            key = key[1:-1]
        _check_curve_key(key)
    return PeerEntry(address, key, number)


def _fields(text: str) -> list[str]:
    """Whitespace-separated fields before the comment.

    `#` is a Z85 character, so within a key it is not a comment: a comment starts
    at a `#` in the address field or at a field that begins with `#` (a key that
    begins with `#` can be written in double quotes).
    """
    fields: list[str] = []
    for token in text.split():
        if token.startswith("#"):
            break
        if not fields and "#" in token:
            fields.append(token.split("#", 1)[0])
            break
        fields.append(token)
    return fields


def _check_curve_key(key: str) -> None:
    if len(key) != CURVE_KEY_CHARS:
        raise ValueError(
            f"public key must be {CURVE_KEY_CHARS} Z85 characters, got {len(key)} characters"
        )
    bad = sorted(set(key) - Z85_ALPHABET)
    if bad:
        raise ValueError(f"public key has characters outside Z85: {''.join(bad)!r}")


def _normalise_own(address: str) -> str:
    try:
        return parse_address(address)
    except AddressError:
        return address  # a bind address such as tcp://*:5555 never equals a peer line
