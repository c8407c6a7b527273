"""A population of plastic MLPs run in lockstep: one array operation per layer per step.

Every layer is `tanh(W x + b)`. Discrete actions take the argmax of the output
layer; continuous actions map its tanh output onto the action bounds. After
every step the genome's learning rule changes `W` (biases stay as evolved),
with a normalised reward as the third factor, and weights are clipped to
`[-w_max, w_max]` so no rule can overflow the network.

Episodes end at different times. `shrink` continues with only the rows still
running, so a few long episodes do not pay for a full batch of array work per
step; `restore` brings every row back, with what each one learned.
"""

from __future__ import annotations

import numpy as np

from envs.plasticity import UPDATES
from envs.spaces import EnvInfo
from genome.layout import batch_rules, batch_weights, random_weights
from genome.spec import GenomeSpec

REWARD_ALPHA = 0.01  # time constant of the running reward mean/variance (~100 steps)
REWARD_CLIP = 5.0
OBS_CLIP = 1e6


class PlasticNetwork:
    """P networks of one spec; `act` then `learn` once per environment step.

    `W`, `b` and the arguments of `act`/`learn` cover the current rows
    (`rows`, indices into the population), which are all P rows until `shrink`.
    """

    def __init__(self, spec: GenomeSpec, info: EnvInfo, X: np.ndarray, w_max: float = 5.0):
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != spec.dim:
            raise ValueError(f"population has {X.shape[1]} columns, spec needs {spec.dim}")
        if spec.layer_sizes[0] != info.obs_dim or spec.layer_sizes[-1] != info.act_dim:
            raise ValueError(
                f"network {spec.layer_sizes} does not fit {info.env_id} "
                f"(observations {info.obs_dim}, actions {info.act_dim})"
            )
        self.spec, self.info, self.w_max = spec, info, w_max
        self.P = len(X)
        self._genome_weights = (
            [(W.copy(), b.copy()) for W, b in batch_weights(spec, X)]
            if spec.kind.has_weights else None
        )
        self.plastic = spec.kind.has_rules
        # (layers, n_params, P): each parameter of each layer is one contiguous row
        self._all_rules = (
            np.ascontiguousarray(batch_rules(spec, X).transpose(1, 2, 0)) if self.plastic
            else None
        )
        self._update = UPDATES[spec.rule_family]
        self._modulation = spec.family.index("modulation")
        shapes = spec.layer_shapes
        self._all_W = [np.empty((self.P, o, i)) for o, i in shapes]
        self._all_b = [np.empty((self.P, o)) for o, _ in shapes]
        self._all_reward_mean = np.zeros(self.P)
        self._all_reward_var = np.ones(self.P)
        if not info.discrete:
            self._low = np.asarray(info.action_low)
            self._span = np.asarray(info.action_high) - self._low
        self.rows = np.arange(self.P)
        self._select(self.rows)
        self.reset(np.zeros(self.P, dtype=np.int64))

    def reset(self, weight_seeds: np.ndarray) -> None:
        """Start a lifetime of every row: weights from the genome, or random for `rules` genomes.

        Random initial weights come from each row's seed; rows that share a seed
        (a training batch) start from the same weights (common random numbers),
        so they differ only in how they learn.
        """
        self._select(np.arange(self.P))
        if self._genome_weights is not None:
            for layer, (W, b) in enumerate(self._genome_weights):
                np.clip(W, -self.w_max, self.w_max, out=self.W[layer])
                self.b[layer][:] = b
        else:
            seeds = np.broadcast_to(np.asarray(weight_seeds), (self.P,))
            for seed in np.unique(seeds):
                rows = seeds == seed
                init = random_weights(self.spec, np.random.default_rng(int(seed)))
                for layer, (W, b) in enumerate(init):
                    self.W[layer][rows] = np.clip(W, -self.w_max, self.w_max)
                    self.b[layer][rows] = b
        self._reward_mean[:] = 0.0
        self._reward_var[:] = 1.0

    def shrink(self, keep: np.ndarray) -> None:
        """Go on with only the current rows `keep` (positions in `rows`); the others are saved."""
        keep = np.asarray(keep, dtype=np.intp)
        if len(keep) == len(self.rows):
            return
        self._save()
        self._select(self.rows[keep])

    def restore(self) -> None:
        """Bring back every row, each with the weights it had when it was set aside."""
        if len(self.rows) != self.P:
            self._save()
            self._select(np.arange(self.P))

    def _save(self) -> None:
        """Write the learning state of the current rows back into the population's arrays."""
        if self.W[0] is self._all_W[0]:
            return  # the current rows are the population arrays themselves
        for full, part in zip(self._all_W, self.W, strict=True):
            full[self.rows] = part
        self._all_reward_mean[self.rows] = self._reward_mean
        self._all_reward_var[self.rows] = self._reward_var

    def _select(self, rows: np.ndarray) -> None:
        """Make `rows` the current rows: views of everything when all, compact copies otherwise."""
        self.rows = rows
        if len(rows) == self.P:
            self.W, self.b = self._all_W, self._all_b
            self._reward_mean, self._reward_var = self._all_reward_mean, self._all_reward_var
            self._rules = self._all_rules
        else:
            self.W = [W[rows] for W in self._all_W]
            self.b = [b[rows] for b in self._all_b]
            self._reward_mean = self._all_reward_mean[rows]
            self._reward_var = self._all_reward_var[rows]
            self._rules = (np.ascontiguousarray(self._all_rules[:, :, rows])
                           if self.plastic else None)
        n = len(rows)
        self._acts = [np.empty((n, s)) for s in self.spec.layer_sizes]
        self._buf = [np.empty((n, o, i)) for o, i in self.spec.layer_shapes]

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions for the current rows' observations; remembers activations for `learn`."""
        x = self._acts[0]
        np.minimum(obs, OBS_CLIP, out=x)
        np.maximum(x, -OBS_CLIP, out=x)
        for layer, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            y = self._acts[layer + 1]
            np.matmul(W, x[:, :, None], out=y[:, :, None])
            y += b
            np.tanh(y, out=y)
            x = y
        if self.info.discrete:
            return np.argmax(x, axis=1)
        return self._low + (x + 1.0) * 0.5 * self._span

    def learn(self, reward: np.ndarray, active: np.ndarray) -> None:
        """Apply every layer's rule once; `active` (bool per current row) freezes ended episodes."""
        if not self.plastic:
            return
        r = self._normalised_reward(reward, active)
        act = active.astype(float)
        for layer, W in enumerate(self.W):
            rule = self._rules[layer]
            gain = rule[self._modulation] * r
            gain += 1.0
            gain *= act
            self._update(W, self._acts[layer], self._acts[layer + 1], rule, gain, act,
                         self._buf[layer])
            np.minimum(W, self.w_max, out=W)
            np.maximum(W, -self.w_max, out=W)

    def _normalised_reward(self, reward: np.ndarray, active: np.ndarray) -> np.ndarray:
        """r_t: reward standardised by its running mean and variance over the lifetime, clipped."""
        delta = reward - self._reward_mean
        r = np.clip(delta / np.sqrt(self._reward_var + 1e-8), -REWARD_CLIP, REWARD_CLIP)
        alpha = REWARD_ALPHA * active
        self._reward_mean += alpha * delta
        self._reward_var += alpha * (delta * delta - self._reward_var)
        return r
