"""Paired: the genome a `--stand-on-confirmed` run stood behind against its last champion.

With `stand_on_confirmed` a run is scored on the genome with the highest confirmed bound
(the `kept` events); the champion it would have been scored on otherwise is still in its
checkpoint. This writes that champion as RUN/champion.msgpack (the run's best.msgpack with
the champion's vector), scores it on the same 100 held-out lifetimes with `island-eval`
(gymnasium), and tabulates both, so one run measures both choices on the same search.

    .venv/bin/python benchmarks/kept_vs_champion.py runs/tune/keep-3913 runs/tune/keeplift-3913 \\
        --out runs/tune/kept_vs_champion.md
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import msgspec
from time_to_solve import BIN

from genome.codec import decode_genome, encode_genome
from island.lab.rule_study import EvalReport
from island.record import Confirmation, HeldOut, Kept, of_kind, read_events
from island.state import load_latest


def write_champion(run: Path) -> Path:
    """RUN/champion.msgpack: the checkpoint's champion with best.msgpack's settings."""
    state, problems = load_latest(run)
    if state is None or state.champion is None or state.champion.x is None:
        raise SystemExit(f"kept_vs_champion: {run} has no checkpointed champion "
                         f"({'; '.join(problems) or 'no checkpoint'})")
    champion = state.champion
    spec, _, meta = decode_genome((run / "best.msgpack").read_bytes())
    meta = {**meta, "fitness": champion.score, "generation": champion.generation,
            "chosen_by": "validation"}
    path = run / "champion.msgpack"
    path.write_bytes(encode_genome(spec, champion.x, meta))
    return path


def held_out(genome: Path, episodes: int, workers: int) -> tuple[float, float]:
    """Mean and std of `genome` on `episodes` held-out lifetimes (island-eval, gymnasium)."""
    out = subprocess.run([str(BIN / "island-eval"), str(genome), "--episodes", str(episodes),
                          "--workers", str(workers), "--json"],
                         check=True, capture_output=True, text=True).stdout
    row = msgspec.json.decode(out, type=EvalReport).rows[0]
    return row.mean, row.std


def row(run: Path, episodes: int, workers: int) -> str:
    """One Markdown row: what the run stood behind and what its last champion scores."""
    events = read_events(run / "events.jsonl")
    kept, held = of_kind(events, Kept), of_kind(events, HeldOut)
    last_confirmation = of_kind(events, Confirmation)[-1:] or [None]
    best = kept[-1] if kept else None
    mean, std = held_out(write_champion(run), episodes, workers)
    stood = held[-1] if held else None
    on_kept = stood is not None and stood.confirmed_mean is not None
    last = last_confirmation[0]
    return " | ".join([
        f"| {run.name}",
        f"{best.mean:.1f}, {best.bound:.1f} ({best.lifetimes}), gen {best.generation}"
        if best else "-",
        f"{last.round_score:.1f} / {last.mean:.1f} ({last.lifetimes}), gen {last.generation}"
        if last else "-",
        "kept" if on_kept else "champion",
        f"{stood.held_out_mean:.1f} ± {stood.held_out_std:.1f}" if stood else "-",
        f"{mean:.1f} ± {std:.1f} |"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run directories")
    parser.add_argument("--episodes", type=int, default=100, help="held-out lifetimes")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    lines = ["| run | kept: confirmation mean, bound (lifetimes), generation "
             "| last confirmation: round / mean (lifetimes), generation "
             "| scored | run's held-out mean ± std | last champion's held-out mean ± std |",
             "|---|---|---|---|---|---|"]
    lines += [row(run, args.episodes, args.workers) for run in args.runs]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
