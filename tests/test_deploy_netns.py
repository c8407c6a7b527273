"""Five island nodes on five network-namespace "hosts": a partition and a recovery.

Each host is a Linux network namespace with its own address on a private bridge
(deploy/netns/netns-hosts.sh), so nodes talk over real TCP between distinct IPs,
and a host can be cut off the network while its process keeps running. Needs root
(or CAP_NET_ADMIN and CAP_SYS_ADMIN); skipped otherwise. Every wait has a deadline,
nothing asserts on timing, and every process and namespace is removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from island.record import (
    AnyEvent,
    GenerationRecord,
    StatusReply,
    Stopped,
    of_kind,
    read_events,
    read_generations,
)

ROOT = Path(__file__).resolve().parent.parent
NETNS = ROOT / "deploy" / "netns" / "netns-hosts.sh"
PEERS = ROOT / "deploy" / "netns" / "peers.sh"
ISLAND_NODE = Path(sys.executable).parent / "island-node"
PORT = 5555  # every host has its own IP, so one fixed port cannot collide
HOSTS = 5
PHASE_DEADLINE = 180.0  # seconds any one expectation may take before the test fails

pytestmark = pytest.mark.timeout(1200)


def _namespaces_permitted() -> str | None:
    """Why network namespaces cannot be used here, or None if they can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    probe = f"isl-probe-{secrets.token_hex(4)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` not permitted: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    link = f"ip{secrets.token_hex(4)}"
    bridge = subprocess.run(["ip", "link", "add", link, "type", "bridge"], capture_output=True,
                            text=True)
    if bridge.returncode != 0:
        return f"cannot create a bridge: {bridge.stderr.strip()}"
    subprocess.run(["ip", "link", "del", link], capture_output=True)
    return None


_why_not = _namespaces_permitted()
if _why_not:
    pytest.skip(_why_not, allow_module_level=True)


@dataclass
class Hosts:
    """A set of namespace hosts made by netns-hosts.sh, addressed by index 1..n."""

    env: dict[str, str]
    subnet: str

    def script(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(NETNS), *args], env=self.env, capture_output=True, text=True,
                              check=check, timeout=120)

    def ip(self, i: int) -> str:
        return f"{self.subnet}.{i}"

    def cut(self, i: int) -> None:
        self.script("cut", f"h{i}")

    def restore(self, i: int) -> None:
        self.script("restore", f"h{i}")

    def exec_argv(self, i: int, *argv: str) -> list[str]:
        return [str(NETNS), "exec", f"h{i}", *argv]


@contextlib.contextmanager
def _namespace_hosts(prefix: str, count: int, second_octet: int) -> Iterator[Hosts]:
    """`count` namespace hosts on a /24 of 10.SECOND_OCTET nothing on this machine routes yet,
    taken down at the end whatever happened."""
    env = dict(os.environ, NETNS_PREFIX=prefix)
    made = None
    for _ in range(20):  # pick a /24 nothing on this machine routes yet
        subnet = f"10.{second_octet}.{20 + secrets.randbelow(230)}"
        env["NETNS_SUBNET"] = subnet
        made = subprocess.run([str(NETNS), "up", str(count)], env=env, capture_output=True,
                              text=True, timeout=120)
        if made.returncode == 0 or "already routed" not in made.stderr:
            break
    assert made is not None and made.returncode == 0, made.stderr if made else "no attempt"
    try:
        yield Hosts(env=env, subnet=subnet)
    finally:
        subprocess.run([str(NETNS), "down"], env=env, capture_output=True, timeout=120)


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    # unique per run: concurrent runs never clash
    with _namespace_hosts(f"it{secrets.token_hex(3)}", HOSTS, 77) as made:
        yield made


@dataclass
class NodeProcess:
    index: int
    run_dir: Path
    process: subprocess.Popen

    def log(self) -> list[GenerationRecord]:
        return read_generations(self.run_dir / "log.jsonl")  # a line being written is skipped

    def events(self) -> list[AnyEvent]:
        return read_events(self.run_dir / "events.jsonl")

    def last(self, field: str, default=0):
        """Field `field` of the last generation logged (`default` before one, or unset)."""
        lines = self.log()
        value = getattr(lines[-1], field) if lines else None
        return default if value is None else value


def _wait_for(what: str, condition: Callable[[], bool], nodes: list[NodeProcess],
              deadline: float = PHASE_DEADLINE) -> None:
    """Poll `condition` until it holds; fail with the nodes' state if time runs out."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        for node in nodes:
            code = node.process.poll()
            if code is not None:
                pytest.fail(f"node h{node.index} exited with {code} while waiting for {what}:\n"
                            f"{_tail(node.run_dir.parent / f'h{node.index}.err')}")
        time.sleep(0.5)
    state = {f"h{n.index}": {k: n.last(k) for k in ("generation", "peers_alive", "migrants_in")}
             for n in nodes}
    pytest.fail(f"timed out after {deadline:.0f}s waiting for {what}; nodes: {state}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"


def _events_about(node: NodeProcess, kind: str, other: NodeProcess, ip: str) -> list[AnyEvent]:
    """`kind` events of `node` that name the other node (by address or node id)."""
    found = []
    for event in node.events():
        if event.event != kind:
            continue
        text = msgspec.json.encode(event).decode()
        if f"{ip}:{PORT}" in text or f'"h{other.index}"' in text:
            found.append(event)
    return found


def _status(hosts: Hosts, from_host: int, of_host: int) -> subprocess.CompletedProcess[str]:
    argv = hosts.exec_argv(from_host, str(ISLAND_NODE), "status",
                           f"tcp://{hosts.ip(of_host)}:{PORT}", "--timeout", "3")
    return subprocess.run(argv, env=hosts.env, capture_output=True, text=True, timeout=60)


def _start_node(hosts: Hosts, i: int, peers_file: Path, bind: str, advertise: str,
                tmp_path: Path) -> NodeProcess:
    """island-node on host i: CartPole, a small population, migration every generation."""
    run_dir = tmp_path / f"h{i}"
    argv = hosts.exec_argv(
        i, str(ISLAND_NODE), "--peers", str(peers_file), "--bind", bind,
        "--advertise", advertise, "--run-dir", str(run_dir), "--node-id", f"h{i}",
        "--env", "CartPole-v1", "--popsize", "8", "--episodes", "1", "--workers", "1",
        "--interval", "1", "--seed", str(i), "--max-time", "900", "--target", "none", "--quiet",
        # Short episodes and a brisk heartbeat: five nodes share the runner's cores, and
        # what is tested is the network, not how long CartPole episodes grow.
        "--max-steps", "50", "--heartbeat-interval", "0.5", "--dead-after", "3",
        "--dial-backoff-max", "5",
    )
    with open(tmp_path / f"h{i}.out", "wb") as out, open(tmp_path / f"h{i}.err", "wb") as err:
        process = subprocess.Popen(argv, env=hosts.env, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    return NodeProcess(i, run_dir, process)


def _kill_all(started: list[NodeProcess]) -> None:
    for node in started:
        if node.process.poll() is None:
            _signal_group(node.process, signal.SIGKILL)
        node.process.wait(timeout=30)


def _stop_all_with_sigterm(nodes: list[NodeProcess]) -> None:
    """SIGTERM, as systemd, Slurm and Kubernetes send: each node checkpoints, exits 0."""
    for node in nodes:
        node.process.send_signal(signal.SIGTERM)
    end = time.monotonic() + 120
    for node in nodes:
        try:
            code = node.process.wait(timeout=max(1.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail(f"h{node.index} did not exit within 120s of SIGTERM")
        assert code == 0, _tail(node.run_dir.parent / f"h{node.index}.err")
        assert of_kind(node.events(), Stopped)
        assert list(node.run_dir.glob("checkpoint*")), f"h{node.index} left no checkpoint"


@pytest.fixture
def nodes(hosts: Hosts, tmp_path: Path) -> Iterator[list[NodeProcess]]:
    peers_file = tmp_path / "peers.txt"
    subprocess.run([str(PEERS), "-p", str(PORT), "-o", str(peers_file)], env=hosts.env,
                   check=True, timeout=60)
    started: list[NodeProcess] = []
    try:
        for i in range(1, HOSTS + 1):
            address = f"tcp://{hosts.ip(i)}:{PORT}"
            started.append(_start_node(hosts, i, peers_file, address, address, tmp_path))
        yield started
    finally:
        _kill_all(started)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)  # the node and its evaluation workers


def test_partitioned_host_is_marked_dead_and_rejoins(hosts: Hosts, nodes: list[NodeProcess]):
    cut = nodes[-1]
    survivors = nodes[:-1]
    cut_ip = hosts.ip(cut.index)

    # 1. Elites flow between hosts over the bridge: every node hears from others.
    _wait_for("every node to see all peers and receive migrants",
              lambda: all(n.last("peers_alive") == HOSTS - 1 and n.last("migrants_in") > 0
                          and n.last("migrants_out") > 0 for n in nodes), nodes)
    for node in nodes:
        origins = {e.origin for e in node.events() if e.event.startswith("migrant_")}
        assert origins - {f"h{node.index}"}, f"h{node.index} got no migrant from another host"
    status = _status(hosts, 1, 2)
    assert status.returncode == 0, status.stderr
    assert msgspec.json.decode(status.stdout, type=StatusReply).node == "h2"

    # 2. Cut one host off: the others keep evolving and mark it dead.
    generation_at_cut = {n.index: n.last("generation") for n in survivors}
    log_lines_at_cut = {n.index: len(n.log()) for n in survivors}
    hosts.cut(cut.index)

    def survivors_noticed() -> bool:
        for n in survivors:
            after = n.log()[log_lines_at_cut[n.index]:]
            if not _events_about(n, "peer_dead", cut, cut_ip):
                return False
            if not any(line.peers_alive is not None and line.peers_alive < HOSTS - 1
                       for line in after):
                return False
            if n.last("generation") < generation_at_cut[n.index] + 3:
                return False
        return True

    _wait_for(f"the survivors to mark h{cut.index} dead and keep evolving", survivors_noticed,
              nodes)
    _wait_for(f"the cut-off h{cut.index} to find itself alone",
              lambda: cut.last("peers_alive", -1) == 0, nodes)
    unreachable = _status(hosts, 1, cut.index)
    assert unreachable.returncode != 0, "a cut-off host answered a status query"

    # 3. Restore it: it rejoins and receives migrants again.
    received_at_restore = cut.last("migrants_in")
    generation_at_restore = cut.last("generation")
    hosts.restore(cut.index)

    def rejoined() -> bool:
        return (all(_events_about(n, "peer_returned", cut, cut_ip)
                    and n.last("peers_alive") == HOSTS - 1 for n in survivors)
                and cut.last("peers_alive") == HOSTS - 1
                and cut.last("migrants_in") > received_at_restore)

    _wait_for(f"h{cut.index} to rejoin and receive migrants again", rejoined, nodes)
    assert cut.last("generation") > generation_at_restore
    assert _status(hosts, 1, cut.index).returncode == 0

    # 4. SIGTERM: every node checkpoints and exits 0.
    _stop_all_with_sigterm(nodes)


def test_nodes_find_each_other_by_host_name(hosts: Hosts, tmp_path: Path):
    """The compose / Kubernetes pattern: bind every interface, advertise a DNS name."""
    peers_file = tmp_path / "peers.txt"
    subprocess.run([str(PEERS), "-n", "-p", str(PORT), "-o", str(peers_file)], env=hosts.env,
                   check=True, timeout=60)
    prefix = hosts.env["NETNS_PREFIX"]
    assert f"tcp://{prefix}-h1:{PORT}" in peers_file.read_text()
    started: list[NodeProcess] = []
    try:
        for i in (1, 2, 3):  # the peers file also names h4 and h5, which run nothing
            started.append(_start_node(hosts, i, peers_file, f"tcp://0.0.0.0:{PORT}",
                                       f"tcp://{prefix}-h{i}:{PORT}", tmp_path))
        _wait_for("nodes named by host name to exchange migrants",
                  lambda: all(n.last("peers_alive") == 2 and n.last("migrants_in") > 0
                              for n in started), started)
        _stop_all_with_sigterm(started)
    finally:
        _kill_all(started)


@pytest.fixture
def three_hosts() -> Iterator[Hosts]:
    """Three namespace hosts that know each other by name only through their own /etc/hosts."""
    with _namespace_hosts(f"i41{secrets.token_hex(2)}", 3, 78) as made:
        yield made


def test_members_named_one_way_and_advertised_another_find_each_other(three_hosts: Hosts,
                                                                     tmp_path: Path):
    """h1 advertises its IP but the peers file names it; h2 advertises its name but the peers
    file gives its IP; h3 advertises its full name and the peers file uses its short alias.
    The names resolve only inside the namespaces (/etc/netns/NAME/hosts)."""
    hosts, prefix = three_hosts, three_hosts.env["NETNS_PREFIX"]
    peers_file = tmp_path / "peers.txt"
    peers_file.write_text(f"{prefix}-h1:{PORT}\n{hosts.ip(2)}:{PORT}\nh3:{PORT}\n")
    advertised = {1: f"tcp://{hosts.ip(1)}:{PORT}", 2: f"tcp://{prefix}-h2:{PORT}",
                  3: f"tcp://{prefix}-h3:{PORT}"}
    members = []
    try:
        for i in (1, 2, 3):
            argv = hosts.exec_argv(i, sys.executable, "-m", "gossip", "--node-id", f"h{i}",
                                   "--bind", f"tcp://0.0.0.0:{PORT}", "--advertise",
                                   advertised[i], "--peers", str(peers_file),
                                   "--heartbeat-interval", "0.5", "--dead-after", "2",
                                   "--max-time", "120")
            members.append(subprocess.Popen(argv, env=hosts.env, cwd=ROOT,
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL,
                                            start_new_session=True))
        ask = ("import json,sys; from gossip import query_status; "
               "print(json.dumps(query_status(sys.argv[1], timeout=2)['peers']))")
        views: dict[int, list[str]] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for i in (1, 2, 3):
                asked = subprocess.run(hosts.exec_argv(i, sys.executable, "-c", ask,
                                                       advertised[i]),
                                       env=hosts.env, cwd=ROOT, capture_output=True,
                                       text=True, timeout=30)
                views[i] = json.loads(asked.stdout) if asked.returncode == 0 else []
            if all(sorted(views[i]) == sorted(a for j, a in advertised.items() if j != i)
                   for i in (1, 2, 3)):
                break
            time.sleep(0.5)
        for i in (1, 2, 3):
            assert sorted(views[i]) == sorted(a for j, a in advertised.items() if j != i), views
    finally:
        for member in members:
            if member.poll() is None:
                _signal_group(member, signal.SIGKILL)
            member.wait(timeout=30)
