"""The two simulators that step a batch of episodes, one environment per row.

- `gymnasium`: gymnasium's own classes, stepped one environment at a time through
  Python; the reference every reported score is judged in.
- `envpool`: the same environments in C++ (envpool), stepped in one call per batch: per
  step 1.2-1.8 us of CPU against gymnasium's 5.5 (CartPole), 1.3-2.1 against 26 (Acrobot),
  16 against 35 (LunarLander: Box2D in both), `benchmarks/simulator_ceiling.py`.

Both start an episode of every row from that row's seed, so the rows of a batch that
share a seed meet the same episode (common random numbers). gymnasium reseeds an
environment with `reset(seed=...)`; envpool fixes each environment's seed when the
pool is made, so `EnvpoolBatch.reset` makes a new pool for every set of episode seeds.
The two draw initial states with different generators: the same seed starts different
episodes in each, from the same distribution (tests/test_simulators.py checks that
returns agree within their standard error).

envpool's automatic reset (the step after an episode's end starts the next one) never
leaks: the episode loop steps only rows whose episode runs, and a pool lives for one
episode.
"""

from __future__ import annotations

import difflib
import importlib
import operator
import sys
import warnings
from collections.abc import Sequence
from functools import lru_cache
from types import ModuleType

import gymnasium as gym
import numpy as np

from envs.spaces import UnknownEnvironmentError, make_env

SIMULATORS = {
    "envpool": "envpool's C++ environments, a batch stepped in one call (fast)",
    "gymnasium": "gymnasium's own classes, one environment at a time (the judge)",
}


# Ids whose envpool dynamics differ from gymnasium's: the default leaves them in gymnasium.
DIFFERS = {
    "Pendulum-v1": "envpool moves the angle by the speed before clipping the speed at 8 rad/s, "
                   "gymnasium after: returns about 1% apart (6-10 standard errors, 2000 episodes)",
}


# The envpool families holding the gymnasium tasks this project steps (the list:
# classic control, Box2D, MuJoCo).
ENVPOOL_FAMILIES = ("classic_control", "box2d", "mujoco.gym")

# Families whose physics costs far more than the network (Box2D 12-40 us a row-step, MuJoCo
# more, against the network's 0.1-8): an evaluation on several cores steps one pool on a
# thread per core in one worker process (`stepping_threads`). Classic control's steps cost
# 0.5-2 us, below a rich rule network's: there a process per core runs the network on
# every core.
THREADED_FAMILIES = ("box2d", "mujoco.gym")


def import_envpool() -> ModuleType:
    """envpool with only ENVPOOL_FAMILIES registered.

    `import envpool` registers all 17 of its families (Atari, Procgen, Jumanji's renderer
    with matplotlib, ...): 0.75 CPU s against 0.2, paid by the node and by every worker.
    Its package runs `envpool.entry` for that, so a stand-in entry module goes first; an
    envpool laid out otherwise gets its whole registry. Raises ImportError without envpool.
    """
    if "envpool" in sys.modules:
        return sys.modules["envpool"]
    sys.modules.setdefault("envpool.entry", ModuleType("envpool.entry"))
    import envpool

    try:
        for family in ENVPOOL_FAMILIES:
            importlib.import_module(f"envpool.{family}.registration")
    except ImportError:
        del sys.modules["envpool.entry"]
        importlib.import_module("envpool.entry")
    return envpool


@lru_cache(maxsize=1)
def envpool_ids() -> frozenset[str]:
    """The environment ids envpool provides; none where envpool is not installed."""
    try:
        envpool = import_envpool()
    except ImportError:
        return frozenset()
    return frozenset(envpool.list_all_envs())


def stepping_threads(env_id: str, simulator: str, cores: int) -> int:
    """Threads that step one pool of `env_id` when an evaluation has `cores` cores: all of
    them in one process for the THREADED_FAMILIES in envpool, else 1 (a process per core).

    One pool for the whole population has one lockstep tail where a process per core had
    one each (each paying envpool's fixed cost per call, about 20 us, in its tail of a few
    rows) and the slower process held up the generation; within a step, the threads share
    the rows as each is free. LunarLander at the node's sizes: 15.2 against 17.9 us of
    worker CPU per step, BipedalWalker's defaults 52.3 against 55.4
    (`benchmarks/envpool-speed-2026-12-07c/`). It saves CPU, not wall time: on a quiet
    machine it was slower at the hidden layer's sizes (0.62 against 0.83 x cores) and level
    on the linear policy (0.75 against 0.71; `benchmarks/envpool-speed-2026-12-07d/`), so
    only the evaluator's `threaded` asks for it, and the node does not.
    """
    if simulator != "envpool" or cores <= 1 or env_id not in envpool_ids():
        return 1
    from envpool.registration import registry

    family = registry.specs[env_id][0].removeprefix("envpool.")
    return cores if family in THREADED_FAMILIES else 1


def envpool_installed() -> bool:
    return bool(envpool_ids())


def close_envpool_ids(env_id: str, n: int = 5) -> list[str]:
    """The envpool ids nearest to `env_id` (a version suffix off, a similar name)."""
    return difflib.get_close_matches(env_id, sorted(envpool_ids()), n=n, cutoff=0.6)


def choose_simulator(env_ids: Sequence[str], requested: str | None) -> str:
    """The simulator a run uses: `requested`, or envpool when it provides every id (and
    simulates each as gymnasium does: not the ids in DIFFERS).

    An explicit `envpool` for an id it lacks raises (naming the close ids it has);
    where envpool is not installed at all the run falls back to gymnasium with a note.
    """
    if requested is not None and requested not in SIMULATORS:
        raise ValueError(f"unknown simulator {requested!r}; known: {', '.join(SIMULATORS)}")
    if requested == "gymnasium":
        return "gymnasium"
    if not envpool_installed():
        _note_no_envpool()  # asked for, or the default: either way it says so, once
        return "gymnasium"
    missing = [e for e in env_ids if e not in envpool_ids()]
    if requested is None:
        return "gymnasium" if missing or any(e in DIFFERS for e in env_ids) else "envpool"
    if missing:
        close = close_envpool_ids(missing[0])
        raise UnknownEnvironmentError(
            f"envpool has no environment {missing[0]!r}; close envpool ids: "
            f"{', '.join(close) if close else 'none'} (or --simulator gymnasium)")
    return "envpool"


@lru_cache(maxsize=1)
def _note_no_envpool() -> None:
    """Say once per process that envpool, asked for, is not there."""
    print("note: envpool is not installed on this platform; simulating in gymnasium",
          file=sys.stderr)


def _to_int32(seeds: np.ndarray) -> list[int]:
    """Episode seeds in envpool's int32 range, one to one: [0, 2^31) as they are (training),
    [2^31, 2^32) as negatives (held out), so a held-out seed never starts a training episode."""
    seeds = np.asarray(seeds, dtype=np.int64)
    if seeds.min(initial=0) < 0 or seeds.max(initial=0) >= 2**32:
        raise ValueError("envpool takes episode seeds in [0, 2^32)")
    return [int(s) for s in np.where(seeds >= 2**31, seeds - 2**32, seeds)]


def reset_keeps_state(env_id: str) -> bool:
    """Whether gymnasium's `env_id` carries state from one episode into the next through
    `reset(seed=...)`: Box2D's environments keep their Box2D world, whose contact state
    survives the bodies' destruction, so a used BipedalWalker-v3 plays a seed differently
    from a new one (from its first observation), and a genome's held-out score depended on
    which episodes each worker's environments had played before."""
    return str(gym.spec(env_id).entry_point).startswith("gymnasium.envs.box2d")


class GymnasiumBatch:
    """A batch of gymnasium environments, grown to the largest batch asked for; where a
    reset does not start an environment afresh (`reset_keeps_state`), every episode gets a
    new one (0.5 ms of CPU for BipedalWalker-v3 and LunarLander-v3), so a seed always plays
    the same episode."""

    name = "gymnasium"

    def __init__(self, env_id: str, envs: Sequence[gym.Env] | None = None):
        self.env_id = env_id
        self.envs: list[gym.Env] = list(envs) if envs is not None else [make_env(env_id)]
        # environments given (wrapped, recorded) are the caller's to keep
        self.renew = envs is None and reset_keeps_state(env_id)

    def reset(self, seeds: np.ndarray) -> np.ndarray:
        """First observations of one episode per seed, (len(seeds), obs_dim)."""
        if self.renew:  # every episode on a new environment, made once
            for env in self.envs[: len(seeds)]:
                env.close()
            self.envs[: len(seeds)] = [gym.make(self.env_id) for _ in seeds]
        while len(self.envs) < len(seeds):
            self.envs.append(gym.make(self.env_id))
        return np.array([self.envs[i].reset(seed=int(s))[0] for i, s in enumerate(seeds)],
                        dtype=float)

    def step(self, actions: np.ndarray, slots: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step the environments `slots` (ascending) with `actions`: their observations,
        rewards, and whether each episode terminated or was truncated."""
        n = len(slots)
        obs = [None] * n
        reward = np.empty(n)
        terminated = np.empty(n, dtype=bool)
        truncated = np.empty(n, dtype=bool)
        envs = self.envs
        for k, (slot, action) in enumerate(zip(slots.tolist(), actions, strict=True)):
            obs[k], reward[k], terminated[k], truncated[k], _ = envs[slot].step(action)
        return np.array(obs, dtype=float), reward, terminated, truncated

    def close(self) -> None:
        for env in self.envs:
            env.close()
        self.envs.clear()


class EnvpoolBatch:
    """An envpool pool of one environment per row, made anew for every set of seeds.

    `threads` step it (`num_threads`): 1 where a worker process per core already uses
    every core, one per core where a single worker steps the whole population
    (`stepping_threads`). Threads never change an episode: each environment is stepped by
    one thread at a time, with its own actions, and results are put back in row order.
    """

    name = "envpool"

    def __init__(self, env_id: str, wrapper: bool = False, threads: int = 1):
        if env_id not in envpool_ids():
            close = close_envpool_ids(env_id)
            raise UnknownEnvironmentError(
                f"envpool has no environment {env_id!r}; close envpool ids: "
                f"{', '.join(close) if close else 'none'}")
        self.env_id = env_id
        self.pool = None
        self.wrapper = wrapper  # step through envpool's Python wrapper even where not needed
        self.threads = threads
        self._raw: _RawStep | None = None

    def reset(self, seeds: np.ndarray) -> np.ndarray:
        envpool = import_envpool()
        self.close()
        with warnings.catch_warnings():  # its float64 bounds on float32 spaces, every time
            warnings.filterwarnings("ignore", message=".*precision lowered", category=UserWarning)
            self.pool = envpool.make(self.env_id, env_type="gymnasium", num_envs=len(seeds),
                                     seed=_to_int32(seeds), num_threads=self.threads)
            self._raw = None if self.wrapper else _RawStep.bind(self.pool)
            if self._raw is not None:
                order, obs = self._raw.reset(len(seeds))
            else:
                obs, info = self.pool.reset()
                order = info["env_id"]
        return self._in_order(np.asarray(order), np.asarray(obs, dtype=float))[0]

    def step(self, actions: np.ndarray, slots: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        slots = np.asarray(slots, dtype=np.int32)  # envpool's ids (the episode loop's already)
        if self._raw is not None:
            order, obs, reward, terminated, truncated = self._raw.step(actions, slots)
        else:
            obs, reward, terminated, truncated, info = self.pool.step(
                np.ascontiguousarray(actions), slots)
            order = info["env_id"]
        # results come back in the order they finished; one comparison of bytes per step
        if np.asarray(order, dtype=np.int32).tobytes() != slots.tobytes():
            obs, reward, terminated, truncated = self._in_order(order, obs, reward, terminated,
                                                                truncated)
        return (np.asarray(obs, dtype=float), np.asarray(reward, dtype=float),
                np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool))

    @staticmethod
    def _in_order(env_ids: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        """The arrays sorted by environment id (the order the caller asked in)."""
        order = np.argsort(env_ids, kind="stable")
        return tuple(np.asarray(a)[order] for a in arrays)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None
            self._raw = None


class _RawStep:
    """A pool's step through its compiled `_send`/`_recv`, without envpool's Python wrapper.

    The wrapper (`step` = `send` + `recv`) turns the arrays into a dict, infers multiplayer
    ids and rebuilds a tree of the state on every call: 10-30 us of CPU per step against
    the 1 us a CartPole environment costs, paid once per batch-step however few rows run
    (a lockstep batch's tail is a few long episodes). These are the same calls the
    wrapper makes, in the order its `_action_keys` and `_state_keys` give; a pool laid
    out otherwise (a multiplayer or dict-observation environment, another envpool
    version) keeps the wrapper (`bind` returns None).
    """

    ACTIONS = ("env_id", "players.env_id", "action")
    STATES = ("info:env_id", "obs", "reward", "done", "trunc")

    def __init__(self, pool, state_index: list[int], action_dtype: np.dtype):
        self._send, self._recv, self._reset = pool._send, pool._recv, pool._reset
        self._index = state_index
        self._pick = operator.itemgetter(*state_index)  # one call, not a generator per step
        self._dtype = action_dtype

    @classmethod
    def bind(cls, pool) -> _RawStep | None:
        try:
            actions = list(pool._spec._action_keys)
            states = list(pool._state_keys)
            dtype = np.dtype(pool._spec._action_spec[-1][0])
            players = pool.config.get("max_num_players", 1)
            pool._send, pool._recv, pool._reset  # noqa: B018 (they exist, or the wrapper steps)
        except (AttributeError, KeyError, TypeError, IndexError):
            return None
        if tuple(actions) != cls.ACTIONS or players != 1 or \
                not all(states.count(k) == 1 for k in cls.STATES):
            return None
        return cls(pool, [states.index(k) for k in cls.STATES], dtype)

    def reset(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Environment ids and first observations of all `n` environments (the wrapper's
        reset also builds the observation space anew: about 0.2 ms)."""
        self._reset(np.arange(n, dtype=np.int32))
        state = self._recv()
        return state[self._index[0]], state[self._index[1]]

    def step(self, actions: np.ndarray, slots: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Environment ids, observations, rewards, terminated, truncated, as recv returns them."""
        env_ids = np.asarray(slots, dtype=np.int32)
        self._send([env_ids, env_ids, np.ascontiguousarray(actions, dtype=self._dtype)])
        state = self._recv()
        order, obs, reward, done, trunc = self._pick(state)
        return order, obs, reward, done & ~trunc, trunc


def make_batch(env_id: str, simulator: str, threads: int = 1) -> GymnasiumBatch | EnvpoolBatch:
    """The batch stepper of `simulator` for `env_id` (envpool's stepped by `threads`)."""
    if simulator == "envpool":
        return EnvpoolBatch(env_id, threads=threads)
    if simulator == "gymnasium":
        return GymnasiumBatch(env_id)
    raise ValueError(f"unknown simulator {simulator!r}; known: {', '.join(SIMULATORS)}")
