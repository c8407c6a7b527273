"""A short lifetime with scripted observations and rewards, played by the compiled network.

The learned, recurrent and neuron-state kernels are each checked against a plain numpy
transcription of their equations on the same lifetime: up to four episodes of 6-12 steps,
two of them ending in a terminal state, with a genome whose learning rate and noise are
large enough to matter.
"""

from __future__ import annotations

import numpy as np

from envs import PlasticNetwork, env_info
from genome import GenomeSpec, initial_vector
from genome.layout import rule_slice
from genome.rules import RuleFamily

Episode = tuple[int, np.ndarray, np.ndarray, bool]  # seed, observations, rewards, terminal


def play(family: RuleFamily, layers: tuple[int, ...], episodes: int = 4,
         ) -> tuple[GenomeSpec, np.ndarray, list[Episode], PlasticNetwork]:
    """The spec, the genome, the first `episodes` episodes, and the network after it has
    lived them."""
    info = env_info("LunarLander-v3")
    spec = GenomeSpec("weights+rules", layers, family.name)
    x = initial_vector(spec) + 0.5 * np.random.default_rng(4).standard_normal(spec.dim)
    rules = x[rule_slice(spec)].reshape(spec.n_layers, -1)
    rules[:, family.index("eta")] = -1.0  # eta 0.1: large enough to matter
    for name in ("noise", "jitter", "anneal"):
        rules[:, family.index(name)] = -0.5
    rng = np.random.default_rng(8)
    lived = [(seed, rng.standard_normal((n, 8)), 3 * rng.standard_normal(n), terminal)
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
