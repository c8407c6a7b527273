"""`island-eval GENOME --env ID --episodes N`: score a saved genome on held-out seeds.

A genome can be scored on an environment it was not evolved on when it is a
`rules` genome: its per-layer rule is grafted onto a network sized for the new
environment, whose initial weights are random each lifetime (rule transfer).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from envs import LIFETIME_FITNESS, Evaluator, UnknownEnvironmentError
from envs.recording import record_lifetimes
from envs.simulators import SIMULATORS, choose_simulator
from genome.codec import GenomeDecodeError
from island.cli.parser import Parser
from island.lab.genome_file import GenomeFile
from island.lab.rule_study import (
    TransferError,
    rule_table,
    score_against_baselines,
    score_held_out,
    verdict,
)


def _parser() -> Parser:
    parser = Parser(prog="island-eval", description=__doc__.split("\n")[0])
    parser.add_argument("genome", type=Path, help="a genome file, e.g. RUN_DIR/best.msgpack")
    parser.add_argument("--env", help="environment id (default: the one it was evolved on)")
    parser.add_argument("--episodes", type=int, default=100,
                        help="held-out lifetimes to average over (default 100)")
    parser.add_argument("--lifetime", type=int, default=0, metavar="K",
                        help="episodes per lifetime (default: the one it was evolved with)")
    parser.add_argument("--lifetime-fitness", choices=sorted(LIFETIME_FITNESS),
                        help="how a lifetime is scored (default: the one it was evolved with)")
    parser.add_argument("--held-out-start", type=int, default=0, metavar="N",
                        help="use held-out seeds from 2^31 + N up (default 0): a fresh sample")
    parser.add_argument("--simulator", default="gymnasium",
                        help="what steps the episodes: gymnasium (default, the judge, whatever "
                        "the genome was trained in) or envpool (faster)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: one per core; 0: in this process)")
    parser.add_argument("--rules", action="store_true",
                        help="print the genome's learning rule, layer by layer, before scoring")
    parser.add_argument("--compare", type=int, default=0, metavar="K",
                        help="also score, on the same seeds, K random rules, the rule with "
                        "learning off (decay, noise and perturbations kept), with plasticity "
                        "off, and each constant action, and say whether it beats them all by "
                        "more than 2 standard errors")
    parser.add_argument("--json", action="store_true",
                        help="print everything measured as one JSON object, nothing else")
    parser.add_argument("--record", type=Path, metavar="DIR",
                        help="also render the first held-out lifetimes (up to 3) to "
                        "DIR/held_out.gif, and .mp4 when imageio-ffmpeg is installed")
    return parser


def _check(args: argparse.Namespace) -> None:
    if args.simulator not in SIMULATORS:
        raise ValueError(f"--simulator: {args.simulator!r} is not one of {', '.join(SIMULATORS)}")
    for flag, value, least in (("--episodes", args.episodes, 1), ("--lifetime", args.lifetime, 0),
                               ("--held-out-start", args.held_out_start, 0),
                               ("--compare", args.compare, 0), ("--workers", args.workers or 0, 0)):
        if value < least:
            raise ValueError(f"{flag}: must be at least {least}, got {value}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _check(args)
        saved = GenomeFile.read(args.genome)
        spec, x, settings = saved.scored_in(args.env, args.lifetime_fitness, args.simulator)
        simulator = choose_simulator([settings.env_id], args.simulator)
    except (GenomeDecodeError, UnknownEnvironmentError, TransferError) as exc:
        print(f"island-eval: {args.genome}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"island-eval: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"island-eval: cannot read {args.genome}: {exc}", file=sys.stderr)
        return 2
    env_id, fitness = settings.env_id, settings.lifetime_fitness
    lifetime = args.lifetime or saved.lifetime
    if args.compare:
        scores = score_against_baselines(settings, x, args.compare, args.episodes, lifetime,
                                         args.held_out_start, args.workers)
    else:
        with Evaluator(settings, args.workers) as evaluator:
            scores = [score_held_out(evaluator, "evolved", x, args.episodes, lifetime,
                                     args.held_out_start)]
    judged = verdict(scores) if len(scores) > 1 and args.episodes > 1 else None
    recording = record_lifetimes(settings, x, args.record, min(args.episodes, 3), lifetime,
                                 args.held_out_start) if args.record else None
    if args.json:
        print(json.dumps({
            "genome": str(args.genome), "env": env_id, "kind": spec.kind.value,
            "rule_family": spec.rule_family, "layer_sizes": list(spec.layer_sizes),
            "lifetimes": args.episodes, "lifetime": lifetime, "lifetime_fitness": fitness,
            "held_out_seeds_from": 2**31 + args.held_out_start,
            "trained_on": saved.trained_on, "trained_in": saved.trained_in,
            "simulator": simulator,
            "rows": [s.to_dict() for s in scores],
            "verdict": judged.to_dict() if judged else None,
            "recording": recording.to_dict() if recording else None,
        }, indent=2))
        return 0
    print(f"{args.genome}  env {env_id}  kind {spec.kind.value}  family {spec.rule_family}  "
          f"lifetime {lifetime} ({fitness})  simulator {simulator} (trained in "
          f"{saved.trained_in})")
    if args.rules and spec.kind.has_rules:
        print(rule_table(spec, x))
    for s in scores:
        label = f"{s.name:<18} " if args.compare else ""
        print(f"{label}held-out lifetimes {args.episodes}  mean {s.mean:.2f}  std {s.std:.2f}  "
              f"min {s.min:.2f}  max {s.max:.2f}")
        if lifetime > 1:
            print(f"{'':<{len(label)}}learning curve: " + " ".join(f"{v:.0f}" for v in s.curve))
    if judged:
        print(judged.summary())
    if recording:
        print(recording.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
