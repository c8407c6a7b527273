"""`island-eval GENOME --env ID --episodes N`: score a saved genome on held-out seeds.

A genome can be scored on an environment it was not evolved on when it is a
`rules` genome: its per-layer rule is grafted onto a network sized for the new
environment, whose initial weights are random each lifetime (rule transfer).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from envs import EvalSettings, Evaluator, UnknownEnvironmentError, env_info, held_out_returns
from genome.codec import GenomeDecodeError, decode_genome
from genome.layout import batch_rules, graft_rules, initial_vector, rule_slice
from genome.spec import GenomeKind, GenomeSpec


class TransferError(ValueError):
    """A genome that cannot act in the requested environment."""


def fit_to_env(spec: GenomeSpec, x: np.ndarray, env_id: str) -> tuple[GenomeSpec, np.ndarray]:
    """The genome itself if it fits `env_id`; a `rules` genome re-sized for it otherwise."""
    info = env_info(env_id)
    if spec.layer_sizes[0] == info.obs_dim and spec.layer_sizes[-1] == info.act_dim:
        return spec, x
    if spec.kind is not GenomeKind.RULES:
        raise TransferError(
            f"a {spec.kind.value!r} genome of layers {spec.layer_sizes} cannot act in {env_id} "
            f"(observations {info.obs_dim}, actions {info.act_dim}); only 'rules' genomes transfer"
        )
    target = GenomeSpec(spec.kind, (info.obs_dim, *spec.layer_sizes[1:-1], info.act_dim),
                        spec.rule_family)
    return target, graft_rules(target, initial_vector(target), spec, x)


def baselines(
    spec: GenomeSpec, x: np.ndarray, n_random: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """The genome and what it is compared with on the same seeds (rule transfer).

    `random rule k`: rule parameters drawn around the family's initial values
    (the spread CMA-ES starts from); `no plasticity`: learning rate and weight
    decay at their lower bounds, so the same initial weights act unchanged.
    """
    rows = {"evolved": x}
    if not spec.kind.has_rules:
        return rows
    rules = rule_slice(spec)
    initial_rule = initial_vector(spec)[rules]
    rng = np.random.default_rng(seed)
    for k in range(n_random):
        other = x.copy()
        other[rules] = initial_rule + 0.5 * rng.standard_normal(spec.n_rule_params)
        rows[f"random rule {k + 1}"] = other
    frozen = x.copy()
    per_layer = frozen[rules].reshape(spec.n_layers, spec.family.n_params)  # a view
    for name in ("eta", "decay"):
        k = spec.family.index(name)
        per_layer[:, k] = spec.family.params[k].low
    rows["no plasticity"] = frozen
    return rows


def rule_table(spec: GenomeSpec, x: np.ndarray) -> str:
    """The rule in natural units: one line per layer, one column per parameter."""
    names = spec.family.names
    lines = ["layer " + " ".join(f"{n:>11}" for n in names)]
    for layer, values in enumerate(batch_rules(spec, x)[0]):
        lines.append(f"{layer:>5} " + " ".join(f"{v:>11.4g}" for v in values))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="island-eval", description=__doc__.split("\n")[0])
    parser.add_argument("genome", type=Path, help="a genome file, e.g. RUN_DIR/best.msgpack")
    parser.add_argument("--env", help="environment id (default: the one it was evolved on)")
    parser.add_argument("--episodes", type=int, default=100,
                        help="held-out lifetimes to average over (default 100)")
    parser.add_argument("--workers", type=int, default=0, help="processes; 0: one per core")
    parser.add_argument("--rules", action="store_true",
                        help="print the genome's learning rule, layer by layer, before scoring")
    parser.add_argument("--compare", type=int, default=0, metavar="K",
                        help="also score K random rules and the rule with plasticity off, "
                        "on the same seeds, as a table")
    args = parser.parse_args(argv)
    try:
        spec, x, meta = decode_genome(args.genome.read_bytes())
        env_id = args.env or meta.get("env")
        if not env_id:
            raise TransferError("the genome file names no environment; pass --env")
        spec, x = fit_to_env(spec, x, env_id)
    except OSError as exc:
        print(f"island-eval: cannot read {args.genome}: {exc}", file=sys.stderr)
        return 2
    except (GenomeDecodeError, UnknownEnvironmentError, TransferError) as exc:
        print(f"island-eval: {args.genome}: {exc}", file=sys.stderr)
        return 2
    carry = bool(meta.get("carry_weights", False))
    settings = EvalSettings(env_id, spec, int(meta.get("max_steps") or 0) or None, carry,
                            float(meta.get("w_max", 5.0)))
    per = int(meta.get("episodes", 1)) if carry else 1
    candidates = baselines(spec, x, args.compare) if args.compare else {"evolved": x}
    print(f"{args.genome}  env {env_id}  kind {spec.kind.value}  family {spec.rule_family}")
    if args.rules and spec.kind.has_rules:
        print(rule_table(spec, x))
    with Evaluator(settings, args.workers or None) as evaluator:
        for name, genome in candidates.items():
            returns = held_out_returns(evaluator, genome, args.episodes, per)
            label = f"{name:<16} " if args.compare else ""
            print(f"{label}held-out lifetimes {args.episodes}  mean {returns.mean():.2f}  "
                  f"std {returns.std():.2f}  min {returns.min():.2f}  max {returns.max():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
