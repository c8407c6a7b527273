"""A family's hand-set start as a genome file: the rule evolution starts from, with no evolution.

Scored beside an evolved rule on the same held-out seeds (`island-eval`), it says what
evolution added to the start it was given.

    .venv/bin/python experiments/hand_set_genome.py OUT --family recurrent-explore [--hidden 16]
        [--env CartPole-v1] [--lifetime 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from envs import env_info
from genome import GenomeSpec, encode_genome, initial_vector


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--family", required=True)
    parser.add_argument("--hidden", default="", help="hidden layer widths, as the node's --hidden")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--lifetime", type=int, default=20)
    args = parser.parse_args()
    info = env_info(args.env)
    hidden = [int(w) for w in args.hidden.split(",") if w]
    spec = GenomeSpec("rules", (info.obs_dim, *hidden, info.act_dim), args.family)
    meta = {"env": args.env, "envs": [args.env], "generation": 0, "evaluations": 0,
            "chosen_by": f"hand-set: the {args.family} family's initial rule, no evolution",
            "max_steps": 0, "lifetime": args.lifetime, "lifetime_fitness": "last_half",
            "w_max": 5.0, "normalise_obs": False}
    args.out.write_bytes(encode_genome(spec, initial_vector(spec), meta))
    print(f"{args.out}: {spec.rule_family} on {spec.layer_sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
