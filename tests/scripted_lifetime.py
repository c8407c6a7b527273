"""A short lifetime with scripted observations and rewards, played by the compiled network,
the parts of a plain numpy transcription that the rule families share, and the check that a
batch scores each genome with a rule state as it scores it alone.

The learned, recurrent, neuron-state and contingency kernels are each checked against a plain numpy
transcription of their equations on the same lifetime: up to four episodes of 6-12 steps,
two of them ending in a terminal state, with a genome whose learning rate and noise are
large enough to matter.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from envs import PlasticNetwork, env_info
from genome import GenomeSpec, initial_vector
from genome.layout import rule_slice
from genome.rules import RuleFamily

Episode = tuple[int, np.ndarray, np.ndarray, bool]  # seed, observations, rewards, terminal


def play(family: RuleFamily, layers: tuple[int, ...], episodes: int = 4,
         env: str = "LunarLander-v3",
         ) -> tuple[GenomeSpec, np.ndarray, list[Episode], PlasticNetwork]:
    """The spec, the genome, the first `episodes` episodes, and the network after it has
    lived them, in `env`'s action space (its observations are scripted)."""
    info = env_info(env)
    spec = GenomeSpec("weights+rules", layers, family.name)
    x = initial_vector(spec) + 0.5 * np.random.default_rng(4).standard_normal(spec.dim)
    rules = x[rule_slice(spec)].reshape(spec.n_layers, -1)
    rules[:, family.index("eta")] = -1.0  # eta 0.1: large enough to matter
    for name in {"noise", "jitter", "anneal"} & set(family.names):
        rules[:, family.index(name)] = -0.5
    rng = np.random.default_rng(8)
    lived = [(seed, rng.standard_normal((n, layers[0])), 3 * rng.standard_normal(n), terminal)
             for seed, n, terminal in [(17, 12, False), (99, 7, True), (5, 9, True),
                                       (41, 6, False)][:episodes]]
    net = PlasticNetwork(spec, info, x)
    net.reset(np.array([0]))
    for seed, observations, rewards, terminal in lived:
        net.begin_episode(np.array([seed]))
        for t, (obs, reward) in enumerate(zip(observations, rewards, strict=True)):
            net.act(obs[None, :])
            done = np.array([t == len(rewards) - 1])
            net.learn(np.array([reward]), np.ones(1, bool), done, done & terminal)
    return spec, x, lived, net



def assert_weights_follow(net: PlasticNetwork, spec: GenomeSpec, x: np.ndarray,
                          expected: list[np.ndarray]) -> None:
    """The compiled network's weights after its lifetime are the transcription's `expected`,
    and they moved from where they started (the forward pass's tanh is float32-precise,
    envs/kernels.py)."""
    assert not np.allclose(expected[0], PlasticNetwork(spec, net.info, x).W[0][0])  # it learned
    for W, W_ref in zip(net.W, expected, strict=True):
        np.testing.assert_allclose(W[0], W_ref, rtol=1e-5, atol=1e-7)


def assert_batch_scores_each_genome_as_alone(kind: str, family: str) -> None:
    """Lifetimes of three LunarLander episodes whose lengths differ: batches shrink, and a
    genome's rule state (cells, neurons, a pair's draws) must carry into its next episode
    whatever shared its batch, so five genomes together score as each alone."""
    from envs import EvalSettings, Evaluator

    spec = GenomeSpec(kind, (8, 16, 4), family)
    X = initial_vector(spec) + 0.5 * np.random.default_rng(2).standard_normal((5, spec.dim))
    settings = EvalSettings("LunarLander-v3", spec, max_steps=200, lifetime_fitness="mean")
    seeds = [[11, 12, 15], [13, 14, 16]]
    with Evaluator(settings, workers=0) as ev:
        together = ev.evaluate(X, seeds).fitness
        apart = np.array([ev.evaluate(x[None, :], seeds).fitness[0] for x in X])
    np.testing.assert_allclose(together, apart)

# What the learned, recurrent and neuron-state transcriptions share: the perturbation draws,
# the noisy forward pass, and the reward signals with their per-layer baselines.


def draws(layers: list[tuple[np.ndarray, np.ndarray]], seed: int) -> list[np.ndarray]:
    """Every synapse's perturbation draw zeta for an episode, keyed by its place in the genome
    (a layer's weights, then its biases)."""
    from envs.learned import DELTA_STEP
    from envs.threefactor import gaussian

    zetas, offset = [], 0
    for W, b in layers:
        keys = offset + np.arange(W.size)
        zetas.append(np.array([gaussian(seed, DELTA_STEP, int(k)) for k in keys]).reshape(W.shape))
        offset += W.size + b.size
    return zetas


def forward(spec: GenomeSpec, layers: list[tuple[np.ndarray, np.ndarray]],
            deltas: list[np.ndarray], noise: list[float], seed: int, t: int, obs: np.ndarray,
            ) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Step t's forward pass with perturbed weights and neuron noise: every layer's activity
    and its noiseless value (None for the observations)."""
    from envs.threefactor import noise_block

    xi = noise_block(np.array([seed], dtype=np.uint64), t, sum(spec.layer_sizes[1:]))[0]
    acts, cleans, k = [obs], [None], 0
    for (W, b), delta, scale in zip(layers, deltas, noise, strict=True):
        a = (W + delta) @ acts[-1] + b
        cleans.append(np.tanh(a))
        acts.append(np.tanh(a + scale * xi[k : k + len(b)]))
        k += len(b)
    return acts, cleans


def episode_steps(spec: GenomeSpec, layers: list[tuple[np.ndarray, np.ndarray]],
                  deltas: list[np.ndarray], noise: list[float], seed: int,
                  observations: list[np.ndarray], rewards: list[float], signals: RewardSignals,
                  ) -> Iterator[tuple[list[np.ndarray], list[np.ndarray | None], bool]]:
    """A recorded episode step by step, as a kernel plays it: the forward pass, the reward
    signals moved on by the step's reward, and whether the step is the episode's last."""
    signals.begin_episode()
    for t, (obs, reward) in enumerate(zip(observations, rewards, strict=True)):
        acts, cleans = forward(spec, layers, deltas, noise, seed, t, obs)
        signals.step(reward)
        yield acts, cleans, t == len(rewards) - 1


class RewardSignals:
    """The standardised step reward s (running mean and variance over the lifetime) and, per
    layer, its baseline s_bar and the episode's return against a running baseline of returns."""

    def __init__(self, n_layers: int) -> None:
        self.mean, self.var, self.s, self.ret = 0.0, 1.0, 0.0, 0.0
        self.s_bar, self.r_bar, self.r_dev = (np.zeros(n_layers) for _ in range(3))

    def begin_episode(self) -> None:
        """An episode's return starts at 0; the running statistics carry on."""
        self.ret = 0.0

    def step(self, reward: float) -> None:
        """One step's reward: standardised, and added to the episode's return."""
        from envs.rule_kernels import REWARD_ALPHA, REWARD_CLIP

        d = reward - self.mean
        self.s = np.clip(d / np.sqrt(self.var + 1e-8), -REWARD_CLIP, REWARD_CLIP)
        self.mean += REWARD_ALPHA * d
        self.var += REWARD_ALPHA * (d * d - self.var)
        self.ret += reward

    def layer(self, layer: int, beta: float, done: bool, first: bool) -> tuple[float, float]:
        """The layer's s - s_bar, and at an episode's end its return against its baseline
        (0 at the lifetime's first end, which sets the baseline)."""
        from envs.threefactor import RETURN_CLIP

        ds = self.s - self.s_bar[layer]
        self.s_bar[layer] += beta * ds
        R = 0.0
        if done and first:
            self.r_bar[layer], self.r_dev[layer] = self.ret, max(1.0, abs(self.ret) / 2)
        elif done:
            dr = self.ret - self.r_bar[layer]
            R = np.clip(dr / self.r_dev[layer], -RETURN_CLIP, RETURN_CLIP)
            self.r_dev[layer] = max(1.0, self.r_dev[layer] + beta * (abs(dr) - self.r_dev[layer]))
            self.r_bar[layer] += beta * dr
        return ds, R
