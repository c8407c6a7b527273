"""The issue 41 attacks and host-name cases, measured with the tests' own scenarios.

Each figure comes from the function the test asserts on (tests/test_host_names.py,
tests/test_forged_claims.py), run `--repeats` times on real sockets on loopback;
prints one JSON document. The tests only catch "never" (a host name that never
connects, a crashed peer never dropped); the issue's timed goals are held here:
every spelling connects within 5 s, a crashed peer is dropped within 3 x dead_after
whatever a rogue says (`goals` in the output). The machine's CPU is shared:
timings are this machine's.

    nice .venv/bin/python benchmarks/gossip_attacks.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.rogue import config  # noqa: E402
from tests.test_forged_claims import (  # noqa: E402
    crashed_peer_dropped_after,
    injected_from_honest,
    live_under_forged_deaths,
    passive_view_flood,
)
from tests.test_host_names import (  # noqa: E402
    CASES,
    CONNECT_WITHIN_S,
    connect_seconds,
    ipv6_loopback,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.repeats
    hosts = {}
    for bind, advertise, named in CASES:
        if "::" in bind and not ipv6_loopback():
            continue
        times = [connect_seconds(bind, advertise, named) for _ in range(n)]
        hosts[f"{named} -> bind {bind}, advertise {advertise}"] = max(times)
    forged = [live_under_forged_deaths(20.0) for _ in range(n)]
    flood = [passive_view_flood() for _ in range(n)]
    fair = [(injected_from_honest(False), injected_from_honest(True)) for _ in range(n)]
    dropped = [crashed_peer_dropped_after(limit=10 * config().dead_after) for _ in range(n)]
    figures = {
        "goals": {
            "host_names_connect_within_s": CONNECT_WITHIN_S,
            "host_names_met": max(hosts.values()) <= CONNECT_WITHIN_S,
            "crashed_peer_dropped_within_s": 3 * config().dead_after,
            "crashed_peer_met": max(dropped) <= 3 * config().dead_after,
        },
        "host_names_worst_connect_s": hosts,
        "forged_death_live_share": min(f["live"] / f["samples"] for f in forged),
        "forged_death_samples": sum(f["samples"] for f in forged),
        "forged_incarnation_taken": any(f["incarnation_forged"] for f in forged),
        "crashed_peer_dropped_s": dropped,
        "dead_after_s": config().dead_after,
        "passive_worst_fake_share": max(f["worst_fake_share"] for f in flood),
        "passive_fakes_spread_to_honest": sum(f["spread_to_honest"] for f in flood),
        "fair_share_injections_per_generation": [
            {"without_flood": w, "under_flood": u} for w, u in fair],
    }
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
