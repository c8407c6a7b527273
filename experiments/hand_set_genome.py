"""A family's hand-set start as a genome file: the rule evolution starts from, with no evolution.

Scored beside an evolved rule on the same held-out seeds (`island-eval`), it says what
evolution added to the start it was given.

    .venv/bin/python experiments/hand_set_genome.py OUT --family recurrent-explore [--hidden 16]
        [--env CartPole-v1] [--lifetime 20] [--normalise-obs] [--set gain=-1 ...]

`--set NAME=VALUE` changes one rule parameter of every layer (natural units) from the
family's start: a hand-set variant, or a start for `--init` on a task that wants another
sign (the `contingency` family's gain).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from envs import env_info
from genome import GenomeSpec, encode_genome, initial_vector
from genome.layout import rule_slice


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--family", required=True)
    parser.add_argument("--hidden", default="", help="hidden layer widths, as the node's --hidden")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--lifetime", type=int, default=20)
    parser.add_argument("--normalise-obs", action="store_true",
                        help="the genome's inputs are standardised (evaluation.normalise_obs)")
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="rule parameters of every layer, natural units, instead of the start")
    args = parser.parse_args()
    info = env_info(args.env)
    hidden = [int(w) for w in args.hidden.split(",") if w]
    spec = GenomeSpec("rules", (info.obs_dim, *hidden, info.act_dim), args.family)
    x = initial_vector(spec)
    rules = x[rule_slice(spec)].reshape(spec.n_layers, -1)  # a view: --set writes into x
    for item in args.set:
        name, _, value = item.partition("=")
        try:
            natural = float(value)
        except ValueError:
            natural = None
        if name not in spec.family.names or natural is None:
            parser.error(f"--set {item}: not NAME=VALUE with NAME one of "
                         f"{', '.join(spec.family.names)} and VALUE a number")
        param = spec.family.params[spec.family.index(name)]
        rules[:, spec.family.index(name)] = param.to_search(natural)
    meta = {"env": args.env, "envs": [args.env], "generation": 0, "evaluations": 0,
            "chosen_by": f"hand-set: the {args.family} family's initial rule, no evolution",
            "max_steps": 0, "lifetime": args.lifetime, "lifetime_fitness": "last_half",
            "w_max": 5.0, "normalise_obs": args.normalise_obs}
    if args.set:
        meta["chosen_by"] += f", with {' '.join(args.set)}"
    args.out.write_bytes(encode_genome(spec, x, meta))
    print(f"{args.out}: {spec.rule_family} on {spec.layer_sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
