"""Studying a learning rule: move it to another environment, compare it with baselines, score it.

What `island-eval` (and experiments) do with a saved genome, kept out of the
command-line module so other tools can reuse it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from envs import Evaluator, env_info, held_out_curves, lifetime_fitness
from genome.layout import batch_rules, graft_rules, initial_vector, rule_slice
from genome.spec import GenomeKind, GenomeSpec


class TransferError(ValueError):
    """A genome that cannot act in the requested environment."""


def fit_to_env(spec: GenomeSpec, x: np.ndarray, env_id: str) -> tuple[GenomeSpec, np.ndarray]:
    """The genome itself if it fits `env_id`; a `rules` genome re-sized for it otherwise.

    A rule is per layer, so it is grafted onto a network sized for the new
    environment, whose initial weights are random each lifetime (rule transfer).
    """
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
    """The genome and what it is compared with on the same seeds.

    `random rule k`: rule parameters drawn around the family's initial values
    (the spread CMA-ES starts from); `no plasticity`: learning rate and weight
    decay at their lower bounds, so the same initial weights act unchanged
    (a threefactor or learned rule keeps its exploration noise, and a learned rule its
    per-episode weight perturbations: they are part of the policy).
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


@dataclass(frozen=True)
class HeldOutScore:
    """One genome on held-out lifetimes: its score per lifetime, summarised, and its curve."""

    name: str
    mean: float
    std: float
    stderr: float
    min: float
    max: float
    curve: list[float]  # episode index -> mean return over the lifetimes
    curve_std: list[float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_held_out(
    evaluator: Evaluator, name: str, x: np.ndarray, lifetimes: int, lifetime: int,
    offset: int = 0,
) -> HeldOutScore:
    """Score one genome on `lifetimes` held-out lifetimes of `lifetime` episodes (2^31 + offset)."""
    curves = held_out_curves(evaluator, x, lifetimes, lifetime, offset)
    scores = lifetime_fitness(curves, evaluator.settings.lifetime_fitness)
    return HeldOutScore(
        name=name, mean=float(scores.mean()), std=float(scores.std()),
        stderr=float(scores.std(ddof=1) / np.sqrt(len(scores))) if len(scores) > 1 else 0.0,
        min=float(scores.min()), max=float(scores.max()),
        curve=[float(v) for v in curves.mean(axis=0)],
        curve_std=[float(v) for v in curves.std(axis=0)],
    )
