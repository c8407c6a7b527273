"""Does an evolved `recurrent` rule use its memory? The rule scored again with the read-out
of its cells' state (`v`, `u`) at zero, on the same held-out lifetimes; a
`recurrent-explore` rule also with its perturbation gate at 1 (p and p_bias 0: its
exploration no longer read from its state); a `recurrent-explore-antithetic` rule also
with its pairing off (the same parameters run as `recurrent-explore`: every episode draws
its own perturbation); a `neuron-state` rule with its neurons' read-out into the weights
(`v`, `w`) at zero and with its perturbation gate at 1 (`p` 0).

    .venv/bin/python experiments/memory_ablation.py GENOME [--held-out-start N] [--episodes L]

Prints the genome's score and the ablated one's (mean of each lifetime's later half, ± SE,
and the mean of the last 5 episodes). The cells still run; nothing reads them, so what is
left is the rest of the rule (its read-out of the features and its perturbations).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from envs import Evaluator
from genome.layout import rule_slice
from genome.rules import (
    EXPLORE_FAMILIES,
    antithetic,
    explores,
    neuron_state_size,
    recurrent_state,
)
from genome.spec import GenomeSpec
from island.lab.genome_file import GenomeFile
from island.lab.rule_study import score_held_out


def _zeroed(spec, x: np.ndarray, prefixes: tuple[str, ...]) -> np.ndarray:
    """The genome with every rule parameter named with one of `prefixes` at zero."""
    out = x.copy()
    rules = out[rule_slice(spec)].reshape(spec.n_layers, spec.family.n_params)  # a view
    for k, name in enumerate(spec.family.names):
        if name.startswith(prefixes):
            rules[:, k] = 0.0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("genome", type=Path)
    parser.add_argument("--held-out-start", type=int, default=0, metavar="N")
    parser.add_argument("--episodes", type=int, default=100, help="held-out lifetimes")
    args = parser.parse_args()
    saved = GenomeFile.read(args.genome)
    spec, x, settings = saved.scored_in()
    neurons = neuron_state_size(spec.family) is not None
    if not (spec.rule_family.startswith("recurrent") or neurons):
        print(f"memory_ablation: {args.genome} is a {spec.rule_family} rule, not a recurrent one",
              file=sys.stderr)
        return 2
    read_out = ("v.", "w.") if neurons else ("v.", "u.")
    rows = [("evolved", x), ("memory read-out off", _zeroed(spec, x, read_out))]
    if neurons or explores(spec.family):
        rows.append(("exploration gate 1", _zeroed(spec, x, ("p.",))))
    runs = [(settings, rows)]
    if antithetic(spec.family):  # the same parameters, every episode its own draw
        unpaired = GenomeSpec(spec.kind, spec.layer_sizes,
                              EXPLORE_FAMILIES[recurrent_state(spec.family)].name)
        runs.append((dataclasses.replace(settings, spec=unpaired), [("pairing off", x)]))
    for run_settings, run_rows in runs:
        with Evaluator(run_settings, 0) as evaluator:
            for label, genome in run_rows:
                s = score_held_out(evaluator, label, genome, args.episodes, saved.lifetime,
                                   args.held_out_start)
                print(f"{label:<20} {s.mean:.1f} ± {s.stderr:.1f}  "
                      f"last 5: {np.mean(s.curve[-5:]):.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
