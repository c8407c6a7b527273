"""Studying a learning rule: move it to another environment, compare it with baselines, score it.

What `island-eval` (and experiments) do with a saved genome, kept out of the
command-line module so other tools can reuse it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import msgspec
import numpy as np

from envs import EvalSettings, Evaluator, env_info, held_out_curves, lifetime_fitness
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


LEARNING_OFF = "learning off"  # eta at its floor; decay, noise, perturbations kept
PLASTICITY_OFF = "no plasticity"  # eta and decay at their floors; noise, perturbations kept


def baselines(
    spec: GenomeSpec, x: np.ndarray, n_random: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """The genome and the rules it is compared with on the same seeds.

    `random rule k`: rule parameters drawn around the family's initial values
    (the spread CMA-ES starts from); `learning off`: the learning rate at its
    floor and every other part kept (weight decay, and for threefactor, learned,
    perturbation and recurrent their exploration noise and per-episode
    perturbations, annealing as they do): what the rule does without learning, such
    as shrinking the policy towards silence; `no plasticity`: learning rate and
    weight decay at their floors, so the initial weights act unchanged (noise and
    perturbations, part of the policy, kept).
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
    for label, floored in ((LEARNING_OFF, ("eta",)), (PLASTICITY_OFF, ("eta", "decay"))):
        row = x.copy()
        per_layer = row[rules].reshape(spec.n_layers, spec.family.n_params)  # a view
        for name in floored:
            k = spec.family.index(name)
            per_layer[:, k] = spec.family.params[k].low
        rows[label] = row
    return rows


def constant_actions(settings: EvalSettings) -> list[tuple[str, EvalSettings, np.ndarray]]:
    """Policies that ignore what they see: each discrete action, or zeros for continuous ones.

    Each is a `weights` genome of a linear network with zero weights: its biases
    pick the action (discrete: a one-hot bias wins the argmax; continuous: tanh(0)
    maps to the middle of the bounds, zero for the symmetric bounds of every
    environment here). Scored on the same seeds, a rule that does not beat all of
    them has not learned to act.
    """
    info = env_info(settings.env_id)
    spec = GenomeSpec(GenomeKind.WEIGHTS, (info.obs_dim, info.act_dim))
    constant = replace(settings, spec=spec, normalise_obs=False)
    if not info.discrete:
        return [("constant zeros", constant, np.zeros(spec.dim))]
    out = []
    for action in range(info.act_dim):
        x = np.zeros(spec.dim)
        x[info.obs_dim * info.act_dim + action] = 1.0
        out.append((f"constant action {action}", constant, x))
    return out


def score_against_baselines(
    settings: EvalSettings, x: np.ndarray, n_random: int, lifetimes: int, lifetime: int,
    offset: int, workers: int | None, name: str = "evolved",
) -> list[HeldOutScore]:
    """The genome (first row) and every baseline of point 4 on the same held-out lifetimes:
    K random rules, learning off, plasticity off, and each constant action."""
    candidates = baselines(settings.spec, x, n_random)
    rows = []
    with Evaluator(settings, workers) as evaluator:
        for label, genome in candidates.items():
            rows.append(score_held_out(evaluator, name if label == "evolved" else label,
                                       genome, lifetimes, lifetime, offset))
    for label, constant, genome in constant_actions(settings):
        with Evaluator(constant, 0) as evaluator:  # one fixed network: no workers to start
            rows.append(score_held_out(evaluator, label, genome, lifetimes, lifetime, offset))
    return rows


@dataclass(frozen=True)
class Verdict:
    """Whether a genome beats every baseline by more than 2 standard errors of the difference."""

    beats_all: bool
    comparisons: int  # baselines compared with, each one test
    closest: str  # the baseline with the smallest margin in standard errors
    closest_margin: float
    closest_z: float  # that margin over its standard error of the difference

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        verdict = "beats" if self.beats_all else "does not beat"
        return (f"{verdict} all {self.comparisons} baselines by more than 2 standard errors of "
                f"the difference (closest: {self.closest}, margin {self.closest_margin:+.1f}, "
                f"{self.closest_z:+.1f} SE)")


def verdict(rows: list[HeldOutScore]) -> Verdict:
    """rows[0] against each of rows[1:]: margin over sqrt(SE_a^2 + SE_b^2), worst one kept."""
    evolved = rows[0]
    tests = []
    for b in rows[1:]:
        margin = evolved.mean - b.mean
        spread = float(np.hypot(evolved.stderr, b.stderr))
        z = margin / spread if spread > 0 else (np.inf if margin > 0 else -np.inf)
        tests.append((z, margin, b.name))
    z, margin, name = min(tests)
    return Verdict(bool(z > 2.0), len(tests), name, float(margin), float(z))


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
    lifetimes: int = 0  # how many lifetimes it averages; 0: a file written before this field

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
        lifetimes=len(scores),
    )


class EvalReport(msgspec.Struct, kw_only=True):
    """What `island-eval --json` prints: the genome, where and how it was scored, and its
    held-out rows (the evolved genome first, then any baselines) with their verdict."""

    genome: str
    env: str
    kind: str
    rule_family: str
    layer_sizes: list[int]
    lifetimes: int  # held-out lifetimes per row
    lifetime: int  # episodes per lifetime
    lifetime_fitness: str
    held_out_seeds_from: int
    trained_on: list[str]
    trained_in: str
    simulator: str
    rows: list[HeldOutScore]
    verdict: Verdict | None = None
    recording: dict[str, Any] | None = None  # envs.recording.Recording.to_dict()

    @property
    def by_name(self) -> dict[str, HeldOutScore]:
        """Each row by its name: "evolved", "no plasticity", "random rule 1", ..."""
        return {row.name: row for row in self.rows}
