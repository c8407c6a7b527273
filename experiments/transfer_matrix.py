"""Founding question 2: do rules transfer from a training set of environments to others?

The rule evolved on several environments (experiments/multi_env_training.py) is
scored by `island-transfer` in every training environment and in environments none
was trained on; the rules evolved on one each (issue 11,
`examples/genomes/<env>.<family>.rules.msgpack`, where one ships) in the latter. Each
cell is scored against 5 random rules and the same rule with plasticity off, on the
same 100 held-out lifetimes (seeds from 2^31 + `--held-out-start`, REPORT_OFFSET
unless told: a block used for nothing else, so no choice was made on it), every
genome with lifetimes of LIFETIME episodes (`--held-out-lifetime`). The node options of
a rule with memory (`--hidden`, `--lifetime`, `--popsize`, `--max-time`,
`--final-episodes`, `--simulator`) are passed on to the training node.

    .venv/bin/python experiments/transfer_matrix.py --out runs/universal
        [--family learned --training ENV ... --outside ENV ... --held-out-start N]
        [--envs-fitness min] [--no-singles]
        [--hidden WIDTHS --lifetime K --popsize P --max-time SECONDS --final-episodes N]
        [--simulator envpool] [--held-out-lifetime K]

Writes DIR/matrix/transfer.{md,json,png,html} and curves.png (the multi-environment
rule: heatmap of margins over the best baseline, within-lifetime curves), DIR/matrix/wins.md
(per environment: each kind of baseline, the verdict and the curve's rise; a win beats every
baseline by > 2 SE and rises by > 2 SE from its first episode to its last 5) and
DIR/singles/ (the one-environment rules outside their environments). Cached: a
re-run reads them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from cached import BIN, ROOT
from multi_env_training import add_training_flags, evolve

from island.lab.rule_study import HeldOutScore
from island.lab.transfer import TransferCell, read_cells

OUTSIDE = ["MountainCarContinuous-v0", "Pendulum-v1", "LunarLanderContinuous-v3"]
REPORT_OFFSET = 400_000
LIFETIME = 10


def single_env_genomes(training: list[str], family: str) -> list[Path]:
    """The shipped one-environment rules of the training environments (where one exists)."""
    paths = [ROOT / "examples" / "genomes" / f"{env}.{family}.rules.msgpack"
             for env in training]
    return [p for p in paths if p.exists()]


def transfer(args: argparse.Namespace, genomes: list[Path], envs: list[str],
             name: str) -> list[TransferCell]:
    """`island-transfer` of genomes x envs into DIR/<name>/ (cached there)."""
    out = args.out / name
    if not (out / "transfer.json").exists():
        subprocess.run([str(BIN / "island-transfer"), *map(str, genomes), "--envs", *envs,
                        "--episodes", str(args.episodes), "--compare", "5",
                        "--lifetime", str(args.held_out_lifetime),
                        "--held-out-start", str(args.held_out_start),
                        "--workers", str(args.workers), "--out", str(out)], check=True)
    return read_cells(out / "transfer.json")


def matrix(args: argparse.Namespace) -> list[TransferCell]:
    """The multi-environment rule in every environment (DIR/matrix), then the
    one-environment rules in the environments outside the training set (DIR/singles):
    their own environments were scored in issue 11."""
    multi = evolve(args)
    cells = transfer(args, [multi], [*args.training, *args.outside], "matrix")
    singles = [] if args.no_singles else single_env_genomes(args.training, args.family)
    return cells + (transfer(args, singles, args.outside, "singles") if singles else [])


def add_matrix_flags(parser: argparse.ArgumentParser) -> None:
    add_training_flags(parser)
    parser.add_argument("--outside", nargs="+", default=OUTSIDE, metavar="ENV",
                        help="environments no genome was trained on")
    parser.add_argument("--episodes", type=int, default=100, help="held-out lifetimes per cell")
    parser.add_argument("--held-out-lifetime", type=int, default=LIFETIME, metavar="K",
                        help="episodes per held-out lifetime (the training run's are "
                             "--lifetime's)")
    parser.add_argument("--held-out-start", type=int, default=REPORT_OFFSET, metavar="N",
                        help="held-out seeds from 2^31 + N (a block no choice was made on)")
    parser.add_argument("--no-singles", action="store_true",
                        help="score only the multi-environment rule (not the shipped "
                             "one-environment rules outside their environments)")


def lifetimes_of(row: HeldOutScore) -> int:
    """How many lifetimes a row averages, as scored; for a `transfer.json` written before rows
    recorded it, from its spreads: std is over lifetimes (ddof 0), stderr std (ddof 1) /
    sqrt(n), so n = (std / stderr)^2 + 1."""
    if row.lifetimes:
        return row.lifetimes
    return round((row.std / row.stderr) ** 2 + 1) if row.stderr > 0 else 1


def rise(row: HeldOutScore) -> tuple[float, float]:
    """The within-lifetime gain (mean of the last 5 episodes minus the first) and its size in
    standard errors (unpaired, from the per-episode spreads over the lifetimes): a win must
    come with a curve that rises, or it is not learning within the lifetime."""
    last = row.curve[-5:]
    gain = sum(last) / len(last) - row.curve[0]
    spread_last = float(np.mean(np.square(row.curve_std[-5:])))
    se = float(np.sqrt((row.curve_std[0] ** 2 + spread_last) / lifetimes_of(row)))
    return gain, (gain / se if se > 0 else float("inf") if gain > 0 else float("-inf"))


def _against(evolved: HeldOutScore, rows: list[HeldOutScore]) -> str:
    """The best of `rows` and the evolved rule's margin over the worst-beaten one, in SE."""
    if not rows:
        return "-"
    best = max(rows, key=lambda r: r.mean)
    z = min((evolved.mean - r.mean) / float(np.hypot(evolved.stderr, r.stderr)) for r in rows)
    return f"{best.mean:.1f} ({z:+.1f} SE)"


def wins(cells: list[TransferCell]) -> list[str]:
    """The environments where the genome beats every baseline and its curve rises."""
    return [c.env for c in cells if c.beats_baselines and rise(c.evolved)[1] > 2]


def wins_table(cells: list[TransferCell]) -> str:
    """Markdown, one line per environment: the genome, each kind of baseline (its best, and
    the genome's smallest margin over that kind in SE of the difference), the verdict, and
    the curve's rise."""
    lines = ["| env | trained on it | evolved ± SE | best of 5 random rules | learning off | "
             "plasticity off | best constant action | closest baseline: margin ± SE of "
             "the difference (margin in SE) | beats all (comparisons) | "
             "curve: first, last 5 (rise, in SE) | lifetimes | win |", "|---" * 12 + "|"]
    for c in cells:
        e = c.evolved
        kinds = {kind: [r for r in c.rows[1:] if r.name.startswith(kind)]
                 for kind in ("random", "learning off", "no plasticity", "constant")}
        closest = next(r for r in c.rows[1:] if r.name == c.verdict.closest)
        gain, z = rise(e)
        won = c.env in wins([c])
        lines.append(
            f"| {c.env} | {'no' if c.held_out_env else 'yes'} | {e.mean:.1f} ± {e.stderr:.1f} | "
            + " | ".join(_against(e, kinds[k]) for k in kinds)
            + f" | {closest.name}: {c.verdict.closest_margin:+.1f} ± "
              f"{float(np.hypot(e.stderr, closest.stderr)):.1f} ({c.verdict.closest_z:+.1f}) | "
              f"{'yes' if c.beats_baselines else 'no'} ({c.verdict.comparisons}) | "
              f"{e.curve[0]:.1f}, {sum(e.curve[-5:]) / 5:.1f} ({gain:+.1f}, {z:+.1f}) | "
              f"{lifetimes_of(e)} | {'**yes**' if won else 'no'} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_matrix_flags(parser)
    parser.add_argument("--tables-from", nargs="+", type=Path, metavar="JSON",
                        help="score nothing: write DIR/wins.md for the cells of these "
                             "transfer.json files (a matrix scored in several processes)")
    args = parser.parse_args()
    if args.tables_from:  # cells scored apart (island-transfer, one process per group)
        cells = [c for path in args.tables_from for c in read_cells(path)]
        args.out.mkdir(parents=True, exist_ok=True)
    else:
        cells = matrix(args)
        print((args.out / "matrix" / "transfer.md").read_text())
    genome = cells[0].genome
    own = [c for c in cells if c.genome == genome]
    table = wins_table(own)
    (args.out / ("wins.md" if args.tables_from else "matrix/wins.md")).write_text(table + "\n")
    print(table)
    outside = [c for c in own if c.held_out_env]
    won = wins(outside)
    beaten = [c.env for c in outside if c.beats_baselines]
    print(f"{genome} beats all baselines by > 2 SE in {len(beaten)} of {len(outside)} "
          f"environments outside its training set ({', '.join(beaten) or 'none'}); with a "
          f"curve that rises by > 2 SE: {len(won)} ({', '.join(won) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
