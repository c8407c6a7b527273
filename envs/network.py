"""A population of plastic MLPs run in lockstep: one array operation per layer per step.

Every layer is `tanh(W x + b)`. Discrete actions take the argmax of the output
layer; continuous actions map its tanh output onto the action bounds. After
every step the genome's learning rule changes `W` (biases stay as evolved),
with a normalised reward as the third factor, and weights are clipped to
`[-w_max, w_max]` so no rule can overflow the network.
"""

from __future__ import annotations

import numpy as np

from envs.plasticity import UPDATES
from envs.spaces import EnvInfo
from genome.layout import batch_rules, batch_weights, random_weights
from genome.spec import GenomeSpec

REWARD_ALPHA = 0.01  # time constant of the running reward mean/variance (~100 steps)
REWARD_CLIP = 5.0


class PlasticNetwork:
    """P networks of one spec; `act` then `learn` once per environment step."""

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
        self._rules = batch_rules(spec, X) if self.plastic else None
        self._update = UPDATES[spec.rule_family]
        self._modulation = spec.family.index("modulation")
        shapes = spec.layer_shapes
        self.W = [np.empty((self.P, o, i)) for o, i in shapes]
        self.b = [np.empty((self.P, o)) for o, _ in shapes]
        self._buf = [np.empty((self.P, o, i)) for o, i in shapes]
        self._acts: list[np.ndarray] = [np.empty((self.P, s)) for s in spec.layer_sizes]
        self._reward_mean = np.zeros(self.P)
        self._reward_var = np.ones(self.P)
        if not info.discrete:
            self._low = np.asarray(info.action_low)
            self._span = np.asarray(info.action_high) - self._low
        self.reset(np.zeros(self.P, dtype=np.int64))

    def reset(self, weight_seeds: np.ndarray) -> None:
        """Start a lifetime: weights from the genome, or random ones for `rules` genomes.

        Random initial weights come from each row's seed; rows that share a seed
        (a training batch) start from the same weights (common random numbers),
        so they differ only in how they learn.
        """
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

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions for a (P, obs_dim) batch of observations; remembers activations for `learn`."""
        x = self._acts[0]
        np.clip(obs, -1e6, 1e6, out=x)
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
        """Apply every layer's rule once; `active` (P,) bool freezes genomes whose episode ended."""
        if not self.plastic:
            return
        r = self._normalised_reward(reward, active)
        act = active.astype(float)
        for layer, W in enumerate(self.W):
            rule = self._rules[:, layer, :]
            gain = (1.0 + rule[:, self._modulation] * r) * act
            self._update(W, self._acts[layer], self._acts[layer + 1], rule, gain, act,
                         self._buf[layer])
            np.clip(W, -self.w_max, self.w_max, out=W)

    def _normalised_reward(self, reward: np.ndarray, active: np.ndarray) -> np.ndarray:
        """r_t: reward standardised by its running mean and variance over the lifetime, clipped."""
        delta = reward - self._reward_mean
        r = np.clip(delta / np.sqrt(self._reward_var + 1e-8), -REWARD_CLIP, REWARD_CLIP)
        alpha = REWARD_ALPHA * active
        self._reward_mean += alpha * delta
        self._reward_var += alpha * (delta * delta - self._reward_var)
        return r
