"""Where the time to drop a crashed member goes, read from a soak's run directory (issue 41).

`gossip_soak.py` gives the first and last holder's verdict per kill; this splits it
into the protocol's steps, so the bound can be named: from the kill to the first
holder's suspicion (its probe turn), from that suspicion to the first verdict (the
suspicion timeout), and from the first verdict to the last holder's (how the death
reached the others). Holders the nemesis paused around the kill are told apart:
a holder stopped for 10 of the 15 s cannot meet the goal. With `--slowest N`, the N
kills whose last holder took longest, each holder's suspicion and verdict (reason
s: own timer, c: a peer's verdict its own pings agreed with; P: paused).

    .venv/bin/python benchmarks/gossip_soak_kills.py runs/soak-100 --slowest 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gossip.events import PeerChanged  # noqa: E402
from island.record import json_lines, of_kind, read_events  # noqa: E402

WINDOW_S = 60.0  # events about a killed member this long after the kill belong to it
PAUSED_BEFORE_S = 12.0  # a pause this long before the kill still covers it (pause 10 s)
PAUSED_AFTER_S = 30.0  # and a pause up to the next nemesis round may catch a slow holder


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"median {statistics.median(ordered):.1f} s, p90 "
            f"{ordered[int(0.9 * len(ordered))]:.1f} s, max {ordered[-1]:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="the soak's --out directory")
    parser.add_argument("--slowest", type=int, default=0)
    args = parser.parse_args()
    addresses = json.loads((args.run / "addresses.json").read_text())
    timeline = [data for _, data in json_lines(args.run / "timeline.jsonl")]
    members = [p for p in args.run.glob("m*.jsonl")]
    events = {int(p.stem[1:]): of_kind(read_events(p), PeerChanged) for p in members}
    kills = [(e["index"], e["t"]) for e in timeline if e["action"] == "kill"]
    pauses = [(e["index"], e["t"]) for e in timeline if e["action"] == "pause"]
    rows = []
    for subject, killed in kills:
        paused = {i for i, t in pauses if killed - PAUSED_BEFORE_S <= t <= killed + PAUSED_AFTER_S}
        holders: dict[int, list[tuple[float, str, str]]] = {}
        for observer, evs in events.items():
            for e in evs:
                if e.peer == addresses[subject] and killed <= e.time <= killed + WINDOW_S:
                    holders.setdefault(observer, []).append(
                        (e.time - killed, e.event.removeprefix("peer_"), (e.reason or "")[:1]))
        deaths = [(t, o) for o, evs in holders.items() for t, kind, why in evs
                  if kind == "dead" and why in ("s", "c")]
        suspicions = [t for evs in holders.values() for t, kind, _ in evs if kind == "suspect"]
        if not deaths or not suspicions:
            continue
        running = [t for t, o in deaths if o not in paused]
        rows.append({"subject": subject, "killed": killed, "paused": paused, "holders": holders,
                     "suspected": min(suspicions), "first": min(deaths)[0],
                     "last": max(deaths)[0], "last_running": max(running) if running else None})
    print(f"{len(rows)} of {len(kills)} kills seen dropped")
    print("kill -> first holder's suspicion:", spread([r["suspected"] for r in rows]))
    print("first suspicion -> first verdict:", spread([r["first"] - r["suspected"] for r in rows]))
    print("first verdict -> last holder not paused:",
          spread([r["last_running"] - r["first"] for r in rows if r["last_running"]]))
    print("kill -> last holder not paused:",
          spread([r["last_running"] for r in rows if r["last_running"]]),
          f"({sum(r['last_running'] <= 15.0 for r in rows if r['last_running'])} within 15 s)")
    print("kill -> last holder:", spread([r["last"] for r in rows]),
          f"({sum(r['last'] <= 15.0 for r in rows)} within 15 s)")
    for r in sorted(rows, key=lambda r: r["last"])[len(rows) - args.slowest:]:
        print(f"m{r['subject']}: last holder {r['last']:.1f} s")
        for o, evs in sorted(r["holders"].items(), key=lambda kv: kv[1][-1][0]):
            told = " ".join(f"{t:.1f} {kind}{'/' + why if why else ''}" for t, kind, why in evs)
            print(f"   m{o}{' (P)' if o in r['paused'] else ''}: {told}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
