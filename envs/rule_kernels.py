"""Which compiled kernels run a network's step: one small class per kind of learning rule.

`PlasticNetwork` (envs/network.py) keeps a population's rows; what differs between
rule families is how a step acts (with exploration noise or without), what a row
remembers during a lifetime (`state`: traces, baselines, perturbations), what restarts
with each episode, and the update itself:

- `Fixed`: a `weights` genome, no rule; a deterministic forward pass, no update;
- `Plain`: `hebbian` and `oja`, an update from pre, post and the normalised reward;
- `ThreeFactor`: exploration noise, eligibility traces and reward baselines;
- `Learned`: `threefactor`'s noise and baselines, a rule network, weight perturbations
  (and `perturbation`, whose rules the network lays out as `learned`'s);
- `Recurrent`: `learned`'s noise and perturbations, a gated recurrent cell per synapse
  (whose state may scale the perturbations: the `-explore` families; whose episodes may
  play mirrored pairs of perturbations: the `-antithetic` families);
- `NeuronState`: `recurrent-explore`'s perturbations, a gated recurrent cell per neuron
  whose states both neurons of a synapse read (`neuron-state`);
- `Contingency`: threefactor's noise, a trace per neuron of what its noise changed, and
  each input's previous activity (`contingency`).

Every method takes the current rows (`RowArrays` with `params`, `rules`, `state`,
`episode_seeds`, `reward_mean`, `reward_var`) and the step's activations, so a class
holds only what its spec fixes. Every kernel keeps rows innermost (`envs.kernels`):
`params` (n_weights, rows), `rules` (layers, n_params, rows), `state` (slots, rows),
activations (units, rows).
"""

from __future__ import annotations

import numpy as np

from envs import contingency, learned, neuron_state, recurrent, threefactor
from envs.kernels import FAMILY_CODES, forward, layer_table, learn
from envs.rows import RowArrays
from envs.threefactor import forward_noisy
from genome.rules import (
    ANTITHETIC_FAMILIES,
    CONTINGENCY,
    EXPLORE_FAMILIES,
    LEARNED,
    RECURRENT_FAMILIES,
    THREEFACTOR,
    antithetic,
    explores,
    neuron_state_size,
    recurrent_state,
)
from genome.spec import GenomeSpec

REWARD_ALPHA = 0.01  # time constant of the running reward mean/variance (~100 steps)
REWARD_CLIP = 5.0
OBS_CLIP = 1e6


class Fixed:
    """A network that does not learn: its forward pass, and nothing else."""

    learns = False  # `learn` does nothing: the network need not call it

    def __init__(self, spec: GenomeSpec):
        self.spec = spec
        self.layers = layer_table(spec.layer_sizes)

    @property
    def state_size(self) -> int:
        """Numbers a row remembers during a lifetime besides its weights."""
        return 0

    def begin_episode(self, rows: RowArrays) -> None:
        """Restart what lives for one episode (the episode's seed is already in `rows`)."""

    def forward(self, rows: RowArrays, obs: np.ndarray, acts: np.ndarray, clean: np.ndarray,
                t: int) -> None:
        """Every layer's activations into `acts` (`clean`: the same without noise)."""
        forward(rows["params"], self.layers, obs, acts, OBS_CLIP)

    def learn(self, rows: RowArrays, acts: np.ndarray, clean: np.ndarray, reward: np.ndarray,
              active: np.ndarray, done: np.ndarray, terminal: np.ndarray, w_max: float) -> None:
        """One step of the rule on every active row."""


class Plain(Fixed):
    """`hebbian` and `oja`: a deterministic network and an update from pre, post and reward."""

    learns = True

    def __init__(self, spec: GenomeSpec):
        super().__init__(spec)
        self.code = FAMILY_CODES[spec.rule_family]

    def learn(self, rows: RowArrays, acts: np.ndarray, clean: np.ndarray, reward: np.ndarray,
              active: np.ndarray, done: np.ndarray, terminal: np.ndarray, w_max: float) -> None:
        learn(rows["params"], self.layers, acts, rows["rules"], reward, active,
              rows["reward_mean"], rows["reward_var"], REWARD_ALPHA, REWARD_CLIP, w_max,
              self.code)


class ThreeFactor(Fixed):
    """`threefactor`: noise keyed by the episode's seed, traces that restart each episode."""

    learns = True

    @property
    def state_size(self) -> int:
        return threefactor.state_size(self.spec.n_weights, self.spec.n_layers)

    @property
    def trace_size(self) -> int:
        """The leading slots of `state` that restart with every episode."""
        return self.spec.n_weights

    def begin_episode(self, rows: RowArrays) -> None:
        rows["state"][: self.trace_size] = 0.0

    def forward(self, rows: RowArrays, obs: np.ndarray, acts: np.ndarray, clean: np.ndarray,
                t: int) -> None:
        forward_noisy(rows["params"], self.layers, obs, acts, clean, rows["rules"],
                      rows["episode_seeds"], t, OBS_CLIP, self.delta(rows))

    def delta(self, rows: RowArrays) -> np.ndarray:
        """The rows' weight perturbations for this episode: none, (0, rows)."""
        return np.zeros((0, len(rows.rows)))

    def learn(self, rows: RowArrays, acts: np.ndarray, clean: np.ndarray, reward: np.ndarray,
              active: np.ndarray, done: np.ndarray, terminal: np.ndarray, w_max: float) -> None:
        threefactor.learn_threefactor(rows["params"], self.layers, acts, clean, rows["rules"],
                                      rows["state"], reward, active, done, rows["reward_mean"],
                                      rows["reward_var"], REWARD_ALPHA, REWARD_CLIP, w_max)


class Learned(ThreeFactor):
    """`learned`: threefactor's noise, a rule network, and a perturbation drawn per episode."""

    @property
    def state_size(self) -> int:
        return learned.state_size(self.spec.n_weights, self.spec.n_layers)

    @property
    def trace_size(self) -> int:
        return learned.trace_size(self.spec.n_weights)

    def begin_episode(self, rows: RowArrays) -> None:
        super().begin_episode(rows)
        learned.draw_perturbations(rows["state"], self.spec.n_weights, self.layers, rows["rules"],
                                   rows["episode_seeds"])

    def delta(self, rows: RowArrays) -> np.ndarray:
        return rows["state"][learned.delta_slice(self.spec.n_weights)]

    def learn(self, rows: RowArrays, acts: np.ndarray, clean: np.ndarray, reward: np.ndarray,
              active: np.ndarray, done: np.ndarray, terminal: np.ndarray, w_max: float) -> None:
        learned.learn_learned(rows["params"], self.layers, acts, clean, rows["rules"],
                              rows["state"], reward, active, done, terminal, rows["reward_mean"],
                              rows["reward_var"], REWARD_ALPHA, REWARD_CLIP, w_max)


class Recurrent(ThreeFactor):
    """`recurrent`: a state per synapse that lives for the lifetime, a perturbation per episode."""

    def __init__(self, spec: GenomeSpec):
        super().__init__(spec)
        self.n_s = recurrent_state(spec.family)
        self.explore = explores(spec.family)
        self.paired = antithetic(spec.family)

    @property
    def state_size(self) -> int:
        return recurrent.state_size(self.spec.n_weights, self.spec.n_layers, self.n_s,
                                    self.paired)

    @property
    def trace_size(self) -> int:
        return 0  # the cells' states carry over from episode to episode

    def begin_episode(self, rows: RowArrays) -> None:
        recurrent.draw_perturbations(rows["state"], self.spec.n_weights, self.layers,
                                     rows["rules"], rows["episode_seeds"], self.n_s,
                                     self.explore, self.paired)

    def delta(self, rows: RowArrays) -> np.ndarray:
        return rows["state"][recurrent.delta_slice(self.spec.n_weights, self.n_s)]

    def learn(self, rows: RowArrays, acts: np.ndarray, clean: np.ndarray, reward: np.ndarray,
              active: np.ndarray, done: np.ndarray, terminal: np.ndarray, w_max: float) -> None:
        recurrent.learn_recurrent(rows["params"], self.layers, acts, clean, rows["rules"],
                                  rows["state"], reward, active, done, terminal,
                                  rows["reward_mean"], rows["reward_var"], REWARD_ALPHA,
                                  REWARD_CLIP, w_max, self.n_s)


class NeuronState(ThreeFactor):
    """`neuron-state`: a state per neuron that lives for the lifetime, a perturbation per
    episode gated by the states of each synapse's two neurons."""

    def __init__(self, spec: GenomeSpec):
        super().__init__(spec)
        self.n_s = neuron_state_size(spec.family)
        self.n_units = sum(spec.layer_sizes)

    @property
    def state_size(self) -> int:
        return neuron_state.state_size(self.spec.n_weights, self.spec.n_layers, self.n_units,
                                       self.n_s)

    @property
    def trace_size(self) -> int:
        return 0  # the neurons' states carry over from episode to episode

    def begin_episode(self, rows: RowArrays) -> None:
        neuron_state.draw_perturbations(rows["state"], self.spec.n_weights, self.layers,
                                        rows["rules"], rows["episode_seeds"], self.n_s,
                                        self.n_units)

    def delta(self, rows: RowArrays) -> np.ndarray:
        return rows["state"][neuron_state.delta_slice(self.spec.n_weights, self.n_units,
                                                      self.n_s)]

    def learn(self, rows: RowArrays, acts: np.ndarray, clean: np.ndarray, reward: np.ndarray,
              active: np.ndarray, done: np.ndarray, terminal: np.ndarray, w_max: float) -> None:
        neuron_state.learn_neuron_state(rows["params"], self.layers, acts, clean, rows["rules"],
                                        rows["state"], reward, active, done, terminal,
                                        rows["reward_mean"], rows["reward_var"], REWARD_ALPHA,
                                        REWARD_CLIP, w_max, self.n_s, self.n_units)


class Contingency(ThreeFactor):
    """`contingency`: threefactor's noise; per neuron, a trace of what its noise changed and
    its previous activity, all restarting with each episode."""

    def __init__(self, spec: GenomeSpec, discrete: bool):
        super().__init__(spec)
        self.discrete = discrete
        self.n_units = sum(spec.layer_sizes)

    @property
    def state_size(self) -> int:
        return contingency.state_size(self.n_units)

    @property
    def trace_size(self) -> int:
        return self.state_size

    def learn(self, rows: RowArrays, acts: np.ndarray, clean: np.ndarray, reward: np.ndarray,
              active: np.ndarray, done: np.ndarray, terminal: np.ndarray, w_max: float) -> None:
        contingency.learn_contingency(rows["params"], self.layers, acts, clean, rows["rules"],
                                      rows["state"], active, w_max, self.discrete)


def kernels_for(spec: GenomeSpec, discrete: bool) -> Fixed:
    """The kernels of a genome spec's rule (none for a `weights` genome); `discrete`: whether
    the network's outputs choose one of several actions (`contingency` reads the choice)."""
    if not spec.kind.has_rules:
        return Fixed(spec)
    family = spec.family.kernel_family.name
    if family == CONTINGENCY.name:
        return Contingency(spec, discrete)
    if family == LEARNED.name:
        return Learned(spec)
    if family in {f.name for fs in (RECURRENT_FAMILIES, EXPLORE_FAMILIES, ANTITHETIC_FAMILIES)
                  for f in fs.values()}:
        return Recurrent(spec)
    if neuron_state_size(spec.family) is not None:
        return NeuronState(spec)
    if family == THREEFACTOR.name:
        return ThreeFactor(spec)
    return Plain(spec)
