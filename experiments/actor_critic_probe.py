"""Can a state-value critic give CartPole's rules the credit a running baseline cannot?

A probe for issue 11, not a rule family. CartPole-v1 pays +1 every step, so a running
reward baseline (every family of this project) leaves only the episode's end as a
signal. Barto, Sutton & Anderson (1983) learned pole balancing from failures alone
with an adaptive critic: a learned state value v(s) turns the failure into a TD error
delta = r + gamma v(s') - v(s) at every step, and the actor's update
dW = eta_actor delta e, with e an eligibility trace of grad log pi, assigns it to
recent actions. Their state was a table of 162 boxes and they needed about 100
failures; this probe asks whether the same two-trace rule, on a random linear
policy (the project's `rules` genomes' start) or a fixed random tanh layer, learns
within issue 11's lifetime of 20 episodes.

Settings are tried on training seeds only (lifetimes 5,000-5,029); a setting that
learned would then be scored once on held-out seeds, which none has needed.

    .venv/bin/python experiments/actor_critic_probe.py [--lifetimes 30]
"""

from __future__ import annotations

import argparse
import itertools

import gymnasium as gym
import numpy as np

from genome.layout import random_weights
from genome.spec import GenomeSpec

LIFETIME = 20
GAMMA = 0.98
FAILURE = -1.0  # the only reward the critic sees, as in Barto, Sutton & Anderson


def features(obs: np.ndarray, hidden: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Raw inputs, or a fixed random tanh layer of them, plus a constant."""
    x = obs if hidden is None else np.tanh(hidden[0] @ obs + hidden[1])
    return np.append(x, 1.0)


def lifetime(env: gym.Env, seed: int, eta_actor: float, eta_critic: float, lam: float,
             n_hidden: int) -> list[float]:
    """Returns of one lifetime of the actor-critic rule from random weights."""
    rng = np.random.default_rng(seed)
    n_obs = env.observation_space.shape[0]
    hidden = None
    if n_hidden:
        hidden = (rng.standard_normal((n_hidden, n_obs)), rng.standard_normal(n_hidden))
    width = n_hidden or n_obs
    ((W, b),) = random_weights(GenomeSpec("rules", (width, 2)), rng)
    actor = np.hstack([W, b[:, None]])  # softmax policy over the two pushes
    critic = np.zeros(width + 1)
    returns = []
    for _ in range(LIFETIME):
        obs, _ = env.reset(seed=int(rng.integers(2**31)))
        f = features(obs, hidden)
        e_actor, e_critic, total = np.zeros_like(actor), np.zeros_like(critic), 0.0
        value = critic @ f
        while True:
            logits = actor @ f
            p = np.exp(logits - logits.max())
            p /= p.sum()
            action = int(rng.random() < p[1])
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            e_actor = GAMMA * lam * e_actor + np.outer(np.eye(2)[action] - p, f)
            e_critic = GAMMA * lam * e_critic + f
            f = features(obs, hidden)
            next_value = 0.0 if terminated else critic @ f
            delta = (FAILURE if terminated else 0.0) + GAMMA * next_value - value
            actor += eta_actor * delta * e_actor
            critic += eta_critic * delta * e_critic
            value = critic @ f
            if terminated or truncated:
                break
        returns.append(total)
    return returns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifetimes", type=int, default=30)
    args = parser.parse_args()
    grid = itertools.product((0.02, 0.1, 0.3, 1.0), (0.02, 0.1, 0.5), (0.8, 0.95), (0, 32))
    print("| eta actor | eta critic | lambda | hidden | first episode | last 5 "
          "| curve (every 2nd) |")
    print("|---|---|---|---|---|---|---|")
    env = gym.make("CartPole-v1")
    for eta_actor, eta_critic, lam, n_hidden in grid:
        curves = np.array([lifetime(env, 5000 + i, eta_actor, eta_critic, lam, n_hidden)
                           for i in range(args.lifetimes)])
        mean = curves.mean(axis=0)
        print(f"| {eta_actor} | {eta_critic} | {lam} | {n_hidden} | {mean[0]:.1f} | "
              f"{mean[-5:].mean():.1f} | {' '.join(f'{x:.0f}' for x in mean[::2])} |",
              flush=True)


if __name__ == "__main__":
    main()
