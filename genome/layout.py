"""Flat genome vector <-> structured view: weights per layer and rule parameters per layer.

Layout of a vector: `[W_0, b_0, W_1, b_1, ..., rules]`, where `W_l` is (out, in)
row-major and `rules` is (n_layers, n_params) in CMA-ES space. Batched views over
a population (P, dim) are reshapes of slices, so they cost no copy.
"""

from __future__ import annotations

import numpy as np

from genome.spec import GenomeSpec, SpecError


def initial_vector(spec: GenomeSpec, rng: np.random.Generator | None = None) -> np.ndarray:
    """Initial CMA-ES mean: each family's sane initial rule, and zero weights, or with
    `rng` a random network (weights N(0, 1/fan_in), LeCun's scale; zero biases).

    At zero weights a two-layer network sits on a saddle: a sample's effect on the
    output is a product of its two layers' deviations, and averaging the selected
    samples cancels most of it. A random mean gives every hidden unit a feature at once.
    """
    parts = []
    if spec.kind.has_weights:
        layers = [] if rng is None else random_weights(spec, rng)
        parts += [np.concatenate([w.ravel(), b]) for w, b in layers] or [np.zeros(spec.n_weights)]
    if spec.kind.has_rules:
        parts.append(np.tile(spec.family.initial_search(spec.kind.has_weights), spec.n_layers))
    return np.concatenate(parts)


BIAS_LIMIT = 1e6  # a bias past this saturates its unit for every input the network sees
W_MAX = 5.0  # default bound of every weight, [-W_MAX, W_MAX]: network clip and search bound
INITS = ("zeros", "random")  # the initial mean's weights (evolution.init)


def search_bounds(
    spec: GenomeSpec, w_max: float | None = None
) -> tuple[list[float | None], list[float | None]]:
    """Per coordinate (lower, upper) bounds in CMA-ES space; None where there is none.

    Rule parameters have their family's bounds and weight matrices +-w_max: past
    these the network clips, so fitness is flat there and a step size left to
    itself grows without end (seen: sigma 6e8 on a `rules` island). Biases
    are not clipped by the network and stay unbounded.
    """
    low: list[float | None] = []
    high: list[float | None] = []
    if spec.kind.has_weights:
        for out, inp in spec.layer_shapes:
            low += [None if w_max is None else -w_max] * (out * inp) + [None] * out
            high += [None if w_max is None else w_max] * (out * inp) + [None] * out
    if spec.kind.has_rules:
        for _ in range(spec.n_layers):
            low += [p.low for p in spec.family.params]
            high += [p.high for p in spec.family.params]
    return low, high


def clip_to_bounds(spec: GenomeSpec, x: np.ndarray, w_max: float | None = None) -> np.ndarray:
    """A copy of `x` inside `search_bounds`: a genome that acts exactly the same.

    Migrants can come from islands whose search ran past the bounds, or from
    hostile peers; injected as they are, such far-off points wreck CMA-ES's
    step size and covariance.
    """
    low, high = search_bounds(spec, w_max)
    lower = np.array([-BIAS_LIMIT if b is None else b for b in low])
    upper = np.array([BIAS_LIMIT if b is None else b for b in high])
    return np.clip(np.asarray(x, dtype=float), lower, upper)


def rule_slice(spec: GenomeSpec) -> slice:
    start = spec.n_weights if spec.kind.has_weights else 0
    return slice(start, start + (spec.n_rule_params if spec.kind.has_rules else 0))


def batch_weights(spec: GenomeSpec, X: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer (W (P, out, in), b (P, out)) views into a population matrix (P, dim)."""
    if not spec.kind.has_weights:
        raise SpecError(f"a {spec.kind.value!r} genome carries no weights")
    return weight_views(spec, X)


def weight_views(spec: GenomeSpec, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer (W (P, out, in), b (P, out)) views into rows that start with the weights.

    A genome's rows (`batch_weights`) or a network's own weights, which a `rules`
    genome does not carry but its network has.
    """
    params = np.atleast_2d(params)
    layers, offset = [], 0
    for out, inp in spec.layer_shapes:
        W = params[:, offset : offset + out * inp].reshape(len(params), out, inp)
        offset += out * inp
        layers.append((W, params[:, offset : offset + out]))
        offset += out
    return layers


def batch_rules(spec: GenomeSpec, X: np.ndarray) -> np.ndarray:
    """Rule parameters in natural units, shape (P, n_layers, n_params)."""
    if not spec.kind.has_rules:
        raise SpecError(f"a {spec.kind.value!r} genome carries no learning rule")
    X = np.atleast_2d(X)
    z = X[:, rule_slice(spec)].reshape(len(X), spec.n_layers, spec.family.n_params)
    return spec.family.to_natural(z)


def random_weights(
    spec: GenomeSpec, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Initial weights of one lifetime of a `rules` genome: scaled normal, zero biases."""
    return [
        (rng.standard_normal((out, inp)) / np.sqrt(inp), np.zeros(out))
        for out, inp in spec.layer_shapes
    ]


def named_rules(spec: GenomeSpec, x: np.ndarray) -> dict[str, float]:
    """The rule of one genome by name, `layer{l}.{param}`, in natural units."""
    if not spec.kind.has_rules:
        return {}
    natural = batch_rules(spec, x)[0]
    return {
        f"layer{layer}.{name}": float(natural[layer, k])
        for layer in range(spec.n_layers)
        for k, name in enumerate(spec.family.names)
    }


def graft_rules(
    target_spec: GenomeSpec, target_x: np.ndarray, source_spec: GenomeSpec, source_x: np.ndarray
) -> np.ndarray:
    """Copy the source's learning rule onto a copy of the target genome.

    Rules are per layer, so they transfer between networks of any widths; when
    the depths differ, layers are matched from the output end (the last source
    layer to the last target layer), missing ones keep the target's values.
    """
    if not (target_spec.kind.has_rules and source_spec.kind.has_rules):
        raise SpecError("both genomes need a learning rule to graft one onto the other")
    if target_spec.rule_family != source_spec.rule_family:
        raise SpecError(
            f"cannot graft a rule of family {source_spec.rule_family!r} onto a genome of "
            f"rule family {target_spec.rule_family!r}"
        )
    k = target_spec.family.n_params
    out = np.array(target_x, dtype=float, copy=True)
    target_rules = out[rule_slice(target_spec)].reshape(target_spec.n_layers, k)
    source_rules = np.asarray(source_x, dtype=float)[rule_slice(source_spec)].reshape(
        source_spec.n_layers, k
    )
    n = min(target_spec.n_layers, source_spec.n_layers)
    target_rules[-n:] = source_rules[-n:]
    return out
