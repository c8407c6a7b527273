"""Generation rate and status answers of a node under connection exhaustion, against a control.

Two island nodes with a file limit of 1,024 run side by side on the same cores;
in alternating rounds the stranger of tests/rogue.py (`Exhaustion`: 1,200
stalled TCP + 200 idle ZeroMQ connections + 100 MB frames, from 127.0.0.2)
attacks the victim or rests. The figure is the victim's generations over the
control's in attack rounds, divided by the same ratio in rest rounds (so a
machine shared with other work cancels out), and the status requests answered.

    .venv/bin/python benchmarks/connection_exhaustion.py --rounds 4 --round-s 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import node_address  # noqa: E402
from tests.test_connection_exhaustion import attack, start_node  # noqa: E402
from tests.test_hostile_input import _generation  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--round-s", type=float, default=20.0)
    parser.add_argument("--out", default="runs/connection-exhaustion")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = int(time.time())
    victim_run, control_run = out / f"victim-{stamp}", out / f"control-{stamp}"
    victim, control = start_node(victim_run, "victim"), start_node(control_run, "control")
    rounds = []
    try:
        address = node_address(victim_run, victim)
        node_address(control_run, control)
        while min(_generation(victim_run), _generation(control_run)) < 1:
            time.sleep(0.5)
        for i in range(2 * args.rounds):
            attacked = i % 2 == 1
            v0, c0 = _generation(victim_run), _generation(control_run)
            answered, asked = attack(address, args.round_s, held=attacked)
            rounds.append({"attacked": attacked, "victim": _generation(victim_run) - v0,
                           "control": _generation(control_run) - c0, "answered": answered,
                           "asked": asked, "alive": victim.poll() is None})
            print(json.dumps(rounds[-1]), flush=True)
    finally:
        for node in (victim, control):
            node.terminate()
            node.wait(timeout=60)

    def ratio(attacked: bool) -> float:
        v = sum(r["victim"] for r in rounds if r["attacked"] == attacked)
        c = sum(r["control"] for r in rounds if r["attacked"] == attacked)
        return v / c if c else float("nan")

    attacked_rounds = [r for r in rounds if r["attacked"]]
    summary = {
        "generation_rate_vs_control": ratio(True) / ratio(False),
        "status_answered": sum(r["answered"] for r in attacked_rounds)
        / sum(r["asked"] for r in attacked_rounds),
        "victim_alive": all(r["alive"] for r in rounds),
        "rounds": rounds,
    }
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
