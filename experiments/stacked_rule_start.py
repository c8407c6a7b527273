"""A start for a deeper `rules` network: every layer carries one saved layer's rule.

Rules are per layer, so a rule evolved on a linear network can drive each layer of a
network with hidden layers. The file this writes is a starting point for `--init` (CMA-ES
continues from it), not a result: scored as is, it is what the deeper network does with
the shallow rule copied into every layer.

    .venv/bin/python experiments/stacked_rule_start.py SAVED.msgpack --hidden 8 --out FILE.msgpack
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genome.codec import decode_genome, encode_genome
from genome.layout import initial_vector, rule_slice
from genome.spec import GenomeSpec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("genome", type=Path)
    parser.add_argument("--hidden", required=True, help="hidden widths, e.g. 8 or 16,8")
    parser.add_argument("--layer", type=int, default=-1,
                        help="which of the saved genome's layers to copy (default its last)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    spec, x, meta = decode_genome(args.genome.read_bytes())
    widths = tuple(int(w) for w in args.hidden.split(","))
    target = GenomeSpec(spec.kind, (spec.layer_sizes[0], *widths, spec.layer_sizes[-1]),
                        spec.rule_family)
    rule = x[rule_slice(spec)].reshape(spec.n_layers, spec.family.n_params)[args.layer]
    y = initial_vector(target)
    y[rule_slice(target)] = [*rule] * target.n_layers
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(encode_genome(target, y, {**meta, "stacked_from": str(args.genome)}))
    print(f"{args.out}: layers {target.layer_sizes}, every layer the rule of layer "
          f"{args.layer} of {args.genome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
