"""`island-transfer GENOME... --envs ID... --out DIR`: a rule-transfer matrix with baselines.

Every genome is scored in every environment on the same held-out lifetimes as
K random rules, its own rule with learning off and with plasticity off, and each
constant action; the matrix of margins over
the best baseline is written as `transfer.json`, `transfer.md`, `transfer.png`
(heatmap), `curves.png` (each cell's within-lifetime curves) and a self-contained
`transfer.html`.

`island-transfer --redraw DIR` draws a matrix's tables, figures and page again from its
`transfer.json`, without scoring anything (after the drawing code changed).
"""

from __future__ import annotations

import base64
import html
import json
import sys
import time
from pathlib import Path

from envs import UnknownEnvironmentError
from genome.codec import GenomeDecodeError
from island.cli.parser import Parser
from island.lab.genome_file import GenomeFile
from island.lab.rule_study import TransferError
from island.lab.transfer import TransferCell, read_cells, score_cell
from island.lab.transfer_figures import heatmap, learning_curves
from island.record import RecordError


def table(cells: list[TransferCell]) -> str:
    """Markdown: one line per cell, the genome's mean beside every baseline's."""
    lines = ["| genome | env | held-out env | evolved | best baseline | margin | "
             "beats all (2 SE; comparisons) |",
             "|---|---|---|---|---|---|---|"]
    for c in cells:
        e, b = c.evolved, c.best_baseline
        lines.append(f"| {c.genome} | {c.env} | {'yes' if c.held_out_env else 'no'} | "
                     f"{e.mean:.1f} ± {e.stderr:.1f} | {b.name}: {b.mean:.1f} ± {b.stderr:.1f} | "
                     f"{c.margin:+.1f} | {'yes' if c.beats_baselines else 'no'} "
                     f"({c.verdict.comparisons}) |")
    return "\n".join(lines)


def page(cells: list[TransferCell], png: Path, curves_png: Path) -> str:
    image = base64.b64encode(png.read_bytes()).decode()
    curves = base64.b64encode(curves_png.read_bytes()).decode()
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in [
            c.genome, c.env, "yes" if c.held_out_env else "no",
            f"{c.evolved.mean:.1f} ± {c.evolved.stderr:.1f}",
            f"{c.best_baseline.name}: {c.best_baseline.mean:.1f}", f"{c.margin:+.1f}",
            "yes" if c.beats_baselines else "no"]) + "</tr>" for c in cells)
    return ("<!doctype html><meta charset=utf-8><title>Rule transfer</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "td,th{padding:.2em .6em;border-bottom:1px solid #ddd}</style>"
            "<h1>Rule transfer</h1><p>Each cell: the genome's held-out mean minus the best of "
            "its baselines (random rules, learning off, plasticity off, constant actions) on "
            "the same seeds; it beats them when it beats every one by more than 2 standard "
            "errors of the difference.</p>"
            f"<img alt='transfer matrix' src='data:image/png;base64,{image}'>"
            "<h2>Within-lifetime learning</h2><p>Mean held-out return by episode: the genome "
            "(thick), the best of its random rules (dashed) and plasticity off (dotted).</p>"
            f"<img alt='learning curves' src='data:image/png;base64,{curves}'>"
            "<table><tr><th>genome<th>env<th>held-out env<th>evolved<th>best baseline"
            f"<th>margin<th>beats (2 SE)</tr>{rows}</table>")


class Unscorable(Exception):
    """A genome that cannot be read, or cannot be scored in one of the environments."""


def read_all(genomes: list[Path], envs: list[str]) -> list[GenomeFile]:
    """Every genome read once and checked in every environment before anything is scored
    (a bad pair must not stop a run after hours); Unscorable names the first bad one."""
    saved = []
    for path in genomes:
        try:
            genome = GenomeFile.read(path)
        except OSError as exc:
            raise Unscorable(f"cannot read {path}: {exc}") from exc
        except (GenomeDecodeError, RecordError) as exc:
            raise Unscorable(f"{path}: {exc}") from exc
        for env_id in envs:
            try:
                genome.scored_in(env_id)
            except (UnknownEnvironmentError, TransferError) as exc:
                raise Unscorable(f"{path}: {exc}") from exc
        saved.append(genome)
    return saved


def write_matrix(cells: list[TransferCell], out: Path, figures: bool) -> None:
    """transfer.json and transfer.md; with `figures`, the heatmap, curves and page too."""
    (out / "transfer.json").write_text(json.dumps([c.to_dict() for c in cells], indent=2))
    (out / "transfer.md").write_text(table(cells) + "\n")
    if figures:
        heatmap(cells, out / "transfer.png")
        learning_curves(cells, out / "curves.png")
        (out / "transfer.html").write_text(page(cells, out / "transfer.png", out / "curves.png"))


def redraw(out: Path) -> int:
    """Rewrite everything but transfer.json from it (see module docstring)."""
    try:
        cells = read_cells(out / "transfer.json")
    except (OSError, RecordError) as exc:
        print(f"island-transfer: --redraw: cannot read {out / 'transfer.json'}: {exc}",
              file=sys.stderr)
        return 2
    write_matrix(cells, out, figures=True)
    print(f"island-transfer: redrew {out / 'transfer.html'} from transfer.json")
    return 0


def _parser() -> Parser:
    parser = Parser(prog="island-transfer", description=__doc__.split("\n")[0])
    parser.add_argument("genomes", nargs="*", type=Path, metavar="GENOME",
                        help="genome files, e.g. RUN_DIR/best.msgpack")
    parser.add_argument("--envs", nargs="+", metavar="ID",
                        help="environments every genome is scored in")
    parser.add_argument("--out", type=Path, help="directory for the matrix")
    parser.add_argument("--redraw", type=Path, metavar="DIR",
                        help="draw DIR's matrix again from its transfer.json; nothing else")
    parser.add_argument("--episodes", type=int, default=100, help="held-out lifetimes per cell")
    parser.add_argument("--compare", type=int, default=5, metavar="K",
                        help="random rules each genome is compared with (default 5)")
    parser.add_argument("--lifetime", type=int, default=0,
                        help="episodes per lifetime (default: each genome's own)")
    parser.add_argument("--held-out-start", type=int, default=0, metavar="N",
                        help="use held-out seeds from 2^31 + N up (default 0): a fresh sample")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: one per core; 0: in this process)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.redraw is not None:
        if args.genomes or args.envs or args.out:
            parser.error("--redraw takes no genomes, --envs or --out")
        return redraw(args.redraw)
    if not args.genomes or not args.envs or args.out is None:
        parser.error("GENOME..., --envs and --out are required (or --redraw DIR)")
    for flag, value, least in (("--episodes", args.episodes, 2), ("--compare", args.compare, 0),
                               ("--held-out-start", args.held_out_start, 0)):
        if value < least:
            print(f"island-transfer: {flag}: must be at least {least}", file=sys.stderr)
            return 2
    try:
        saved = read_all(args.genomes, args.envs)
    except Unscorable as exc:
        print(f"island-transfer: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    cells: list[TransferCell] = []
    pairs = [(path, genome, env_id) for path, genome in zip(args.genomes, saved, strict=True)
             for env_id in args.envs]
    for n, (path, genome, env_id) in enumerate(pairs, 1):
        began = time.monotonic()
        cell = score_cell(genome, path.name, env_id, args.episodes, args.compare, args.workers,
                          args.lifetime, args.held_out_start)
        cells.append(cell)
        print(f"island-transfer: {n}/{len(pairs)} {path.name} in {env_id}: "
              f"{cell.evolved.mean:.1f} against {cell.best_baseline.mean:.1f} "
              f"({time.monotonic() - began:.0f} s)", file=sys.stderr, flush=True)
        write_matrix(cells, args.out, figures=n == len(pairs))  # a cut-off run keeps its cells
    print(table(cells))
    print(f"island-transfer: wrote {args.out / 'transfer.html'} and transfer.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
