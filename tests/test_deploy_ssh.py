"""deploy/ssh against real sshd servers, one per network-namespace host on this machine.

start.sh starts a node on every host of a hosts file, status.sh reports them,
collect.sh copies their run directories back, stop.sh stops them with SIGTERM.
Needs root, network namespaces and OpenSSH (sshd and ssh); skipped otherwise.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from island.record import GenerationRecord, read_generations

ROOT = Path(__file__).resolve().parent.parent
NETNS = ROOT / "deploy" / "netns" / "netns-hosts.sh"
SSH_DIR = ROOT / "deploy" / "ssh"
ISLAND_NODE = Path(sys.executable).parent / "island-node"
HOSTS = 3

pytestmark = pytest.mark.timeout(900)


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces and run sshd"
    for tool in ("ip", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/usr/sbin/sshd").exists():
        return "OpenSSH server (/usr/sbin/sshd) is not installed"
    probe = f"isl-probe-{secrets.token_hex(4)}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "`ip netns add` not permitted"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


_reason = _why_not()
if _reason:
    pytest.skip(_reason, allow_module_level=True)


@pytest.fixture
def ssh_hosts(tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    """HOSTS namespace hosts, each running sshd on its own address; yields (IPs, ssh env)."""
    env = dict(os.environ, NETNS_PREFIX=f"ss{secrets.token_hex(3)}")
    made = None
    for _ in range(20):
        env["NETNS_SUBNET"] = f"10.78.{20 + secrets.randbelow(230)}"
        made = subprocess.run([str(NETNS), "up", str(HOSTS)], env=env, capture_output=True,
                              text=True, timeout=120)
        if made.returncode == 0 or "already routed" not in made.stderr:
            break
    assert made is not None and made.returncode == 0, made.stderr if made else ""
    ips = [f"{env['NETNS_SUBNET']}.{i}" for i in range(1, HOSTS + 1)]
    keys = tmp_path / "keys"
    keys.mkdir()
    sshds: list[subprocess.Popen] = []
    try:
        for name in ("host", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            str(keys / name)], check=True, timeout=60)
        (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        for i, ip in enumerate(ips, start=1):
            config = keys / f"sshd-{i}.conf"
            config.write_text(
                f"ListenAddress {ip}:22\nHostKey {keys / 'host'}\nPidFile {keys}/sshd-{i}.pid\n"
                f"AuthorizedKeysFile {keys / 'authorized_keys'}\n"
                "PermitRootLogin prohibit-password\n"
                "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                "StrictModes no\nPrintMotd no\n"
            )
            with open(keys / f"sshd-{i}.log", "wb") as log:
                sshds.append(subprocess.Popen(
                    [str(NETNS), "exec", f"h{i}", "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                    env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
                ))
        ssh_env = dict(
            os.environ,
            ISLAND_SSH_OPTS=f"-F /dev/null -i {keys / 'client'} -o StrictHostKeyChecking=no "
                            "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
                            "-o ConnectTimeout=5",
        )
        end = time.monotonic() + 60
        for ip in ips:  # sshd is listening once a login works
            while subprocess.run(["ssh", *ssh_env["ISLAND_SSH_OPTS"].split(), f"root@{ip}",
                                  "true"], capture_output=True, timeout=30).returncode != 0:
                assert time.monotonic() < end, f"sshd on {ip} never answered"
                time.sleep(0.5)
        yield ips, ssh_env
    finally:
        for sshd in sshds:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(sshd.pid, signal.SIGKILL)
            sshd.wait(timeout=30)
        subprocess.run([str(NETNS), "down"], env=env, capture_output=True, timeout=120)


def _run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SSH_DIR / script), *args], env=env, capture_output=True,
                          text=True, timeout=300)


def _migrants_in(path: Path) -> int:
    """Migrants in, as the last complete line of a log says (a torn last line is skipped)."""
    records: list[GenerationRecord] = read_generations(path)
    return (records[-1].migrants_in or 0) if records else 0


def test_ssh_scripts_start_report_collect_and_stop_nodes(ssh_hosts, tmp_path: Path):
    ips, ssh_env = ssh_hosts
    hosts_file = tmp_path / "hosts.txt"
    # Two lines name only the ssh target (address defaults to it), one names both.
    hosts_file.write_text(f"# test hosts\nroot@{ips[0]}\nroot@{ips[1]}\n"
                          f"root@{ips[2]}   {ips[2]}:5555   # explicit address\n")
    remote_root = tmp_path / "remote"
    env = dict(ssh_env, RUN_NAME="t", ISLAND_REMOTE_ROOT=str(remote_root),
               ISLAND_NODE=str(ISLAND_NODE), STOP_TIMEOUT="120",
               ISLAND_ARGS="--env CartPole-v1 --popsize 8 --episodes 1 --workers 1 "
                           "--interval 1 --max-time 600 --target none --quiet")
    names = [f"{ip}-5555" for ip in ips]
    node_dirs = [remote_root / "t" / name for name in names]
    try:
        started = _run("start.sh", str(hosts_file), env=env)
        assert started.returncode == 0, started.stdout + started.stderr
        assert started.stdout.count("started pid") == HOSTS, started.stdout
        peers = (node_dirs[0] / "peers.txt").read_text()
        assert all(f"{ip}:5555" in peers for ip in ips)

        end = time.monotonic() + 180
        while not all(_migrants_in(d / "run" / "log.jsonl") > 0
                      for d in node_dirs):
            if time.monotonic() > end:
                logs = {d.name: (d / "node.out").read_text()[-1500:] for d in node_dirs}
                pytest.fail(f"nodes started over ssh did not exchange migrants: {logs}")
            time.sleep(0.5)

        again = _run("start.sh", str(hosts_file), env=env)
        assert again.returncode == 0 and again.stdout.count("already running") == HOSTS

        status = _run("status.sh", str(hosts_file), env=env)
        assert status.returncode == 0, status.stderr
        for name in names:
            line = next(ln for ln in status.stdout.splitlines() if ln.startswith(name + ":"))
            assert " running " in line and '"generation"' in line

        dest = tmp_path / "collected"
        collected = _run("collect.sh", str(hosts_file), str(dest), env=dict(env, ISLAND_COPY="tar"))
        assert collected.returncode == 0, collected.stderr
        for name in names:
            assert (dest / name / "run" / "log.jsonl").stat().st_size > 0

        stopped = _run("stop.sh", str(hosts_file), env=env)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert stopped.stdout.count(": stopped") == HOSTS, stopped.stdout
        for d in node_dirs:
            events = (d / "run" / "events.jsonl").read_text()
            assert '"event":"stopped"' in events.replace(" ", "")

        status = _run("status.sh", str(hosts_file), env=env)
        assert status.stdout.count(" stopped ") == HOSTS, status.stdout

        rsync = "rsync" if shutil.which("rsync") else "tar"  # rsync only updates what changed
        collected = _run("collect.sh", str(hosts_file), str(dest),
                         env=dict(env, ISLAND_COPY=rsync))
        assert collected.returncode == 0, collected.stderr
        for name in names:
            assert list((dest / name / "run").glob("checkpoint*")), name
            assert (dest / name / "run" / "events.jsonl").read_text() == \
                (remote_root / "t" / name / "run" / "events.jsonl").read_text()
    finally:
        for d in node_dirs:  # whatever stop.sh did not stop
            with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
                os.kill(int((d / "node.pid").read_text()), signal.SIGKILL)
