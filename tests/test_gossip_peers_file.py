"""peers.txt parsing: what a user writes, and the file:line message for each mistake."""

from __future__ import annotations

import pytest

from gossip.address import AddressError, parse_address
from gossip.peers_file import PeersFileError, parse_peers, read_peers_file

KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  # a Z85 public key from the ZeroMQ guide


def addresses(text: str, **kwargs) -> list[str]:
    return [e.address for e in parse_peers(text, **kwargs)]


def test_every_address_form_normalises_to_tcp_host_port():
    text = """
        node-1:5555
        tcp://Node-2.example.org:5556
        10.0.0.7:5557
        [::1]:5558
        tcp://[2001:DB8:0:0::1]:5559
        compose_service_1:5560
    """
    assert addresses(text) == [
        "tcp://node-1:5555",
        "tcp://node-2.example.org:5556",
        "tcp://10.0.0.7:5557",
        "tcp://[::1]:5558",
        "tcp://[2001:db8::1]:5559",
        "tcp://compose_service_1:5560",
    ]


def test_comments_blank_lines_and_trailing_comments_are_skipped():
    text = "# the lab machines\n\n   \nnode-1:5555   # rack 3\nnode-2:5555# no space\n"
    assert addresses(text) == ["tcp://node-1:5555", "tcp://node-2:5555"]


def test_own_address_and_duplicates_are_ignored():
    text = "node-1:5555\ntcp://node-2:5555\nNODE-1:5555\nnode-3:5555\n"
    got = addresses(text, own=["tcp://node-2:5555"])
    assert got == ["tcp://node-1:5555", "tcp://node-3:5555"]


def test_a_bind_wildcard_as_own_address_does_not_break_parsing():
    assert addresses("node-1:5555\n", own=["tcp://*:5555", "tcp://0.0.0.0:0"]) == [
        "tcp://node-1:5555"
    ]


def test_public_key_field_is_kept_and_may_be_quoted():
    entries = parse_peers(f'node-1:5555 {KEY}\nnode-2:5555 "{KEY}"  # secured\nnode-3:5555\n')
    assert [(e.address, e.public_key, e.line) for e in entries] == [
        ("tcp://node-1:5555", KEY, 1),
        ("tcp://node-2:5555", KEY, 2),
        ("tcp://node-3:5555", None, 3),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("node-1:99999", "port 99999 out of range"),
        ("node-1:0", "port 0 out of range"),
        ("node-1", "missing port"),
        ("node-1:", "missing port"),
        ("node-1:http", "not a number"),
        ("::1:5555", "IPv6 address must be in brackets"),
        ("[::1:5555", "no closing bracket"),
        ("[::1]5555", "missing port after IPv6"),
        ("[fe80::zz]:5555", "bad IPv6 address"),
        ("300.1.2.3:5555", "bad IPv4 address"),
        ("bad_host!:5555", "bad hostname"),
        ("-leading-dash:5555", "bad hostname"),
        ("udp://node-1:5555", "unsupported scheme"),
        ("0.0.0.0:5555", "wildcard"),
        ("[::]:5555", "wildcard"),
        ("node-1:5555 tooshortkey", "public key must be 40 Z85 characters"),
        ("node-1:5555 " + "~" * 40, "outside Z85"),
        (f"node-1:5555 {KEY} extra", "unexpected text"),
    ],
)
def test_each_malformed_line_names_file_line_and_reason(line: str, reason: str):
    text = f"# header\nnode-0:5555\n{line}\n"
    with pytest.raises(PeersFileError) as err:
        parse_peers(text, source="peers.txt")
    message = str(err.value)
    assert message.startswith("peers.txt:3: "), message
    assert reason in message


def test_same_address_with_two_keys_is_an_error():
    other = KEY[:-1] + "8"
    with pytest.raises(PeersFileError, match=r"peers.txt:2: .*different public key.*line 1"):
        parse_peers(f"node-1:5555 {KEY}\nnode-1:5555 {other}\n")


def test_reading_a_file_names_it_in_errors(tmp_path):
    path = tmp_path / "lab-peers.txt"
    path.write_text("node-1:5555\nnode-2:70000\n")
    with pytest.raises(PeersFileError) as err:
        read_peers_file(path)
    assert str(err.value) == f"{path}:2: port 70000 out of range 1..65535"


def test_missing_file_and_binary_garbage_are_reported(tmp_path):
    with pytest.raises(PeersFileError, match="cannot read"):
        read_peers_file(tmp_path / "absent.txt")
    path = tmp_path / "peers.txt"
    path.write_bytes(b"node-1:5555\n\xff\xfe\x00:1\n")
    with pytest.raises(PeersFileError, match=r"peers.txt:2: not UTF-8"):
        read_peers_file(path)


def test_good_file_round_trip(tmp_path):
    path = tmp_path / "peers.txt"
    path.write_text("a:1\n# c\nb:2 # d\n")
    assert [e.address for e in read_peers_file(path, own=["tcp://b:2"])] == ["tcp://a:1"]


def test_bind_addresses_accept_wildcards_and_free_ports_but_peers_do_not():
    assert parse_address("tcp://*:0", allow_port_zero=True, allow_wildcard=True) == "tcp://*:0"
    assert parse_address("tcp://127.0.0.1:*", allow_port_zero=True) == "tcp://127.0.0.1:0"
    assert parse_address("[::]:5555", allow_wildcard=True) == "tcp://[::]:5555"
    with pytest.raises(AddressError):
        parse_address("tcp://127.0.0.1:*")


def test_every_bad_line_is_reported_at_once():
    text = f"node-1:99999\nnode-2:5555\nnode-3\n# fine\nnode-4:5555 {KEY} extra\n"
    with pytest.raises(PeersFileError) as err:
        parse_peers(text, source="peers.txt")
    assert str(err.value).splitlines() == [
        "peers.txt:1: port 99999 out of range 1..65535",
        "peers.txt:3: missing port (expected host:port)",
        "peers.txt:5: unexpected text 'extra' (expected: address [public-key])",
    ]
