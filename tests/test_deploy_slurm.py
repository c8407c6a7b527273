"""The Slurm batch script, run outside Slurm with stand-ins for `scontrol` and `srun`.

The stand-ins do what Slurm does for the script: `scontrol show hostnames` expands
the node list, and `srun` starts one task per slot with SLURM_PROCID, SLURM_LOCALID,
SLURM_NODEID and SLURMD_NODENAME set, forwarding SIGTERM the way `scancel` reaches
a job's tasks. Everything else (peers file, per-task addresses, run directories,
the island-node command line) is the real script.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from island.record import GenerationRecord, Stopped, of_kind, read_events, read_generations

ROOT = Path(__file__).resolve().parent.parent
SBATCH = ROOT / "deploy" / "slurm" / "island.sbatch"
ISLAND_NODE = Path(sys.executable).parent / "island-node"

FAKE_SCONTROL = """\
#!/usr/bin/env python3
import os, sys
assert sys.argv[1:3] == ["show", "hostnames"], sys.argv
print("\\n".join(os.environ["FAKE_HOSTS"].split(",")))
"""

FAKE_SRUN = """\
#!/usr/bin/env python3
# srun stand-in: one process per task slot, Slurm's task variables, SIGTERM forwarded.
import os, re, signal, subprocess, sys
args = sys.argv[1:]
output = None
while args and args[0].startswith("-"):
    opt = args.pop(0)
    if opt.startswith("--output="):
        output = opt.split("=", 1)[1]
hosts = os.environ["FAKE_HOSTS"].split(",")
counts = []
for item in os.environ["SLURM_TASKS_PER_NODE"].split(","):
    m = re.fullmatch(r"(\\d+)\\(x(\\d+)\\)", item)
    counts += [int(m[1])] * int(m[2]) if m else [int(item)]
children, rank = [], 0
for node_id, (host, count) in enumerate(zip(hosts, counts, strict=True)):
    for local_id in range(count):
        env = dict(os.environ, SLURM_PROCID=str(rank), SLURM_LOCALID=str(local_id),
                   SLURM_NODEID=str(node_id), SLURMD_NODENAME=host)
        out = open(output.replace("%t", str(rank)), "wb") if output else None
        children.append(subprocess.Popen(args, env=env, stdout=out, stderr=out))
        rank += 1
def forward(signum, _frame):
    for child in children:
        if child.poll() is None:
            child.send_signal(signum)
signal.signal(signal.SIGTERM, forward)
sys.exit(max(child.wait() for child in children))
"""

# island-node stand-in for the logic test: records its command line and exits.
RECORDING_NODE = """\
#!/usr/bin/env python3
import json, os, sys
with open(os.environ["RECORD_FILE"], "a") as fh:
    fh.write(json.dumps({"rank": os.environ["SLURM_PROCID"], "argv": sys.argv[1:]}) + "\\n")
"""


def _install(bin_dir: Path, name: str, text: str) -> Path:
    path = bin_dir / name
    path.write_text(textwrap.dedent(text))
    path.chmod(0o755)
    return path


def _job_env(tmp_path: Path, hosts: list[str], tasks_per_node: str, **extra: str) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    _install(bin_dir, "scontrol", FAKE_SCONTROL)
    _install(bin_dir, "srun", FAKE_SRUN)
    ntasks = sum(int(c) for c in _expand(tasks_per_node))
    return dict(
        os.environ,
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        FAKE_HOSTS=",".join(hosts),
        SLURM_JOB_ID="4242",
        SLURM_JOB_NODELIST="fake[1-9]",
        SLURM_TASKS_PER_NODE=tasks_per_node,
        SLURM_NTASKS=str(ntasks),
        SLURM_CPUS_PER_TASK="1",
        RUN_ROOT=str(tmp_path / "shared"),
        **extra,
    )


def _expand(tasks_per_node: str) -> list[str]:
    out: list[str] = []
    for item in tasks_per_node.split(","):
        if "(x" in item:
            count, repeat = item.rstrip(")").split("(x")
            out += [count] * int(repeat)
        else:
            out.append(item)
    return out


def test_peers_file_and_task_command_lines_follow_the_allocation(tmp_path: Path):
    record = tmp_path / "record.jsonl"
    node = _install(tmp_path, "island-node", RECORDING_NODE)
    env = _job_env(tmp_path, ["cn01", "cn02", "cn03"], "2(x2),1", ISLAND_NODE=str(node),
                   RECORD_FILE=str(record), ISLAND_PORT="6000", ISLAND_HOST_SUFFIX="-ib",
                   ISLAND_ARGS="--env CartPole-v1 --popsize 8")
    result = subprocess.run(["bash", str(SBATCH)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr

    run_dir = tmp_path / "shared" / "island-4242"
    peers = [ln for ln in (run_dir / "peers.txt").read_text().splitlines()
             if ln and not ln.startswith("#")]
    assert peers == ["cn01-ib:6000", "cn01-ib:6001", "cn02-ib:6000", "cn02-ib:6001",
                     "cn03-ib:6000"]

    calls = {c["rank"]: c["argv"] for c in map(json.loads, record.read_text().splitlines())}
    assert sorted(calls) == ["0", "1", "2", "3", "4"]
    advertised = []
    for rank, argv in calls.items():
        flags = dict(zip(argv[::2], argv[1::2], strict=False))
        assert flags["--peers"] == str(run_dir / "peers.txt")
        assert flags["--run-dir"] == str(run_dir / f"node-{int(rank):03d}")
        assert flags["--node-id"] == f"node-{int(rank):03d}"
        assert flags["--env"] == "CartPole-v1" and flags["--popsize"] == "8"
        assert flags["--bind"].startswith("tcp://0.0.0.0:")
        advertised.append(flags["--advertise"].removeprefix("tcp://"))
    # Every task advertises exactly the line the others have for it.
    assert sorted(advertised) == sorted(peers)


def _free_port_run(length: int) -> int:
    """A first port of `length` consecutive ports free on loopback right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + length > 65535:
            continue
        holders = []
        try:
            for port in range(base, base + length):
                s = socket.socket()
                holders.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in holders:
                s.close()
    raise RuntimeError("no run of free ports")


def _last_log_line(run_dir: Path) -> GenerationRecord | None:
    """The last complete line of a log (a torn last line is skipped); None before one."""
    records = read_generations(run_dir / "log.jsonl")
    return records[-1] if records else None


@pytest.mark.timeout(600)
def test_job_runs_three_nodes_that_exchange_migrants_and_stop_on_sigterm(tmp_path: Path):
    port = _free_port_run(3)
    env = _job_env(tmp_path, ["127.0.0.1"], "3", ISLAND_NODE=str(ISLAND_NODE),
                   ISLAND_PORT=str(port), ISLAND_BIND_HOST="127.0.0.1",
                   ISLAND_ARGS="--env CartPole-v1 --popsize 8 --episodes 1 --interval 1 "
                               "--max-time 600 --target none --quiet")
    job = subprocess.Popen(["bash", str(SBATCH)], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, start_new_session=True)
    run_dir = tmp_path / "shared" / "island-4242"
    nodes = [run_dir / f"node-{rank:03d}" for rank in range(3)]
    try:
        end = time.monotonic() + 180
        while True:
            lines = [_last_log_line(n) for n in nodes]
            if all(ln is not None and (ln.migrants_in or 0) > 0 and ln.peers_alive == 2
                   for ln in lines):
                break
            if job.poll() is not None or time.monotonic() > end:
                outputs = {p.name: p.read_text()[-2000:] for p in run_dir.glob("task-*.out")}
                pytest.fail(f"nodes did not exchange migrants (job rc {job.poll()}): "
                            f"{lines}\n{shlex.join(job.args)}\n{outputs}")
            time.sleep(0.5)
        # --signal=TERM@120 before the time limit: the job step (srun) gets SIGTERM and
        # passes it to every task.
        srun = subprocess.run(["pgrep", "-s", str(job.pid), "-f", "bin/srun"],
                              capture_output=True, text=True)
        assert srun.stdout.split(), "srun is not running"
        for pid in srun.stdout.split():
            os.kill(int(pid), signal.SIGTERM)
        job.wait(timeout=120)
        for node in nodes:
            assert of_kind(read_events(node / "events.jsonl"), Stopped), node
            assert list(node.glob("checkpoint*")), node
        assert job.returncode == 0, job.stdout.read().decode() if job.stdout else ""
    finally:
        if job.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(job.pid, signal.SIGKILL)
            job.wait(timeout=30)
