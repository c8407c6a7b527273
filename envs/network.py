"""A population of plastic MLPs run in lockstep: one compiled call acts, one learns.

Every layer is `tanh(W x + b)` (plus exploration noise for the `threefactor`
and `learned` families). Discrete actions take the argmax of the output layer; continuous
actions map its tanh output onto the action bounds. After every step the
genome's learning rule changes `W` (biases stay as evolved), with a normalised
reward as the third factor, and weights are clipped to `[-w_max, w_max]` so no
rule can overflow the network. The arithmetic lives in `envs.kernels`,
`envs.threefactor`, `envs.learned`, `envs.recurrent`, `envs.neuron_state` and
`envs.contingency` (every one rows innermost);
`envs.rule_kernels` picks a family's.

A lifetime starts with `reset` (initial weights) and each of its episodes with
`begin_episode` (the episode's seed keys the exploration noise; traces restart).

Episodes end at different times. `shrink` continues with only the rows still
running (`envs.rows`), so a few long episodes do not pay for a full batch per
step; `restore` brings every row back, with what each one learned.
"""

from __future__ import annotations

import numpy as np

from envs.kernels import bounded_actions
from envs.random_policy import RandomPolicy
from envs.rows import RowArrays
from envs.rule_kernels import kernels_for
from envs.spaces import EnvInfo
from genome.layout import W_MAX, batch_rules, random_weights, weight_views
from genome.spec import GenomeSpec


class PlasticNetwork:
    """P networks of one spec; `act` then `learn` once per environment step.

    The arguments of `act`/`learn`, and `W`/`b`, cover the current rows
    (`rows`, indices into the population), which are all P rows until `shrink`.
    """

    def __init__(self, spec: GenomeSpec, info: EnvInfo, X: np.ndarray, w_max: float = W_MAX,
                 inputs: RandomPolicy | None = None):
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != spec.dim:
            raise ValueError(f"population has {X.shape[1]} columns, spec needs {spec.dim}")
        if spec.layer_sizes[0] != info.obs_dim or spec.layer_sizes[-1] != info.act_dim:
            raise ValueError(
                f"network {spec.layer_sizes} does not fit {info.env_id} "
                f"(observations {info.obs_dim}, actions {info.act_dim})"
            )
        self.spec, self.info, self.w_max = spec, info, float(w_max)
        self.inputs = inputs  # observations are standardised by its statistics when given
        self.P = len(X)
        self.sizes = np.asarray(spec.layer_sizes, dtype=np.int64)
        self._genome_params = (
            np.ascontiguousarray(X[:, : spec.n_weights]) if spec.kind.has_weights else None
        )
        self.plastic = spec.kind.has_rules
        self._kernels = kernels_for(spec, info.discrete)
        rules = (spec.family.kernel_rules(batch_rules(spec, X)) if self.plastic
                 else np.zeros((self.P, 0, 0)))
        self._rows = RowArrays({  # rows innermost, as the kernels run them (envs/kernels.py)
            "params": np.empty((spec.n_weights, self.P)),
            "reward_mean": np.zeros(self.P),
            "reward_var": np.ones(self.P),
            "state": np.zeros((self._kernels.state_size, self.P)),  # traces, baselines
            "episode_seeds": np.zeros(self.P, dtype=np.uint64),  # key the exploration noise
            "rules": np.ascontiguousarray(rules.transpose(1, 2, 0)),
        }, constant=frozenset({"episode_seeds", "rules"}),
            rows_last=frozenset({"params", "rules", "state"}))
        self._t = 0  # step within the current episode (rows run in lockstep)
        if not info.discrete:
            self._low = np.asarray(info.action_low)
            self._span = np.asarray(info.action_high) - self._low
        self._out = slice(int(self.sizes[:-1].sum()), int(self.sizes.sum()))
        self.reset(np.zeros(self.P, dtype=np.int64))

    @property
    def rows(self) -> np.ndarray:
        """The current rows: indices into the population."""
        return self._rows.rows

    @property
    def params(self) -> np.ndarray:
        """Current rows' weights and biases, (rows, n_weights) laid out as in a genome
        (a view of the kernels' (n_weights, rows))."""
        return self._rows["params"].T

    @property
    def W(self) -> list[np.ndarray]:
        """Current rows' weight matrices, (rows, out, in) views per layer."""
        return [W for W, _ in self._layers()]

    @property
    def b(self) -> list[np.ndarray]:
        """Current rows' biases, (rows, out) views per layer."""
        return [b for _, b in self._layers()]

    def _layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return weight_views(self.spec, self.params)

    def reset(self, weight_seeds: np.ndarray) -> None:
        """Start a lifetime of every row: weights from the genome, or random for `rules` genomes.

        Random initial weights come from each row's seed; rows that share a seed
        (a training batch) start from the same weights (common random numbers),
        so they differ only in how they learn.
        """
        self._rows.discard()
        if self._genome_params is not None:
            self.params[:] = self._genome_params
        else:
            seeds = np.broadcast_to(np.asarray(weight_seeds), (self.P,))
            for seed in np.unique(seeds):
                init = random_weights(self.spec, np.random.default_rng(int(seed)))
                self.params[seeds == seed] = np.concatenate(
                    [part for W, b in init for part in (W.ravel(), b)])
        for W in self.W:
            np.clip(W, -self.w_max, self.w_max, out=W)
        self._rows["reward_mean"][:] = 0.0
        self._rows["reward_var"][:] = 1.0
        self._rows["state"][:] = 0.0
        self._scratch()

    def begin_episode(self, episode_seeds: np.ndarray) -> None:
        """Start an episode of every row: its seed keys the noise; traces and return restart."""
        self.restore()
        self._rows["episode_seeds"][:] = np.broadcast_to(
            np.asarray(episode_seeds).astype(np.uint64), (self.P,))
        self._kernels.begin_episode(self._rows)
        self._t = 0

    def shrink(self, keep: np.ndarray) -> None:
        """Go on with only the current rows `keep` (positions in `rows`); the others are saved."""
        self._rows.shrink(keep)
        self._scratch()

    def restore(self) -> None:
        """Bring back every row, each with the weights it had when it was set aside."""
        if not self._rows.full:
            self._rows.restore()
            self._scratch()

    def _scratch(self) -> None:
        """Activations of the current rows, noisy and clean, rewritten every step."""
        self._acts = np.empty((int(self.sizes.sum()), len(self.rows)))
        self._clean = np.empty_like(self._acts)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions for the current rows' observations; remembers activations for `learn`."""
        obs = np.ascontiguousarray(obs if self.inputs is None else self.inputs.scale(obs),
                                   dtype=float)
        self._kernels.forward(self._rows, obs, self._acts, self._clean, self._t)
        self._t += 1
        if self.info.discrete:  # the method: np.argmax's wrapper costs a few us a step
            return self._acts[self._out].T.argmax(axis=1)
        return bounded_actions(self._acts, self._out.start, self._low, self._span)

    def learn(self, reward: np.ndarray, active: np.ndarray, done: np.ndarray | None = None,
              terminal: np.ndarray | None = None) -> None:
        """Apply every layer's rule once; `active` (bool per current row) freezes ended episodes.

        `done` marks the rows whose episode ended with this step: a threefactor or
        learned rule then also applies its end-of-episode (return) update.
        `terminal`: the rows whose episode ended in a terminal state (not a
        truncation), a signal of the learned family.
        """
        if not self._kernels.learns:
            return  # fixed weights: nothing to convert or call, every step
        self._kernels.learn(self._rows, self._acts, self._clean,
                            np.ascontiguousarray(reward, dtype=float),
                            np.ascontiguousarray(active, dtype=np.bool_),
                            self._flags(done), self._flags(terminal), self.w_max)

    def _flags(self, flags: np.ndarray | None) -> np.ndarray:
        """A flag per current row, all false when not given."""
        if flags is None:
            return np.zeros(len(self.rows), dtype=np.bool_)
        return np.ascontiguousarray(flags, dtype=np.bool_)
