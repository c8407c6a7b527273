"""envpool steps the episodes, gymnasium judges them: the two simulators agree, and envpool's
batches keep the evaluation's guarantees (common random numbers, lifetimes, no leaks)."""

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from envs import EvalSettings, Evaluator, PlasticNetwork, env_info, run_lifetimes
from envs.episodes import _run_episode, weight_seeds
from envs.simulators import (
    DIFFERS,
    EnvpoolBatch,
    GymnasiumBatch,
    choose_simulator,
    reset_keeps_state,
)
from genome import GenomeSpec, encode_genome, initial_vector
from island.lab.genome_file import GenomeFile
from island.record import GenomeMeta
from tests.conftest import run_cli

GENOMES = Path(__file__).resolve().parent.parent / "examples" / "genomes"
EPISODES = 200


def _random_genome(env_id: str, kind: str = "weights+rules", hidden: int = 8,
                   seed: int = 1) -> tuple[GenomeSpec, np.ndarray]:
    info = env_info(env_id)
    spec = GenomeSpec(kind, (info.obs_dim, hidden, info.act_dim), "hebbian")
    return spec, initial_vector(spec) + 0.5 * np.random.default_rng(seed).standard_normal(
        spec.dim)


def _returns(settings: EvalSettings, x: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    with Evaluator(settings, workers=0) as ev:
        return ev.episode_returns(x[None, :], seeds)[0, :, 0]


# One genome per family of environments: shipped evolved rules where one fits (their returns
# spread over the range the task pays), a random plastic genome otherwise.
EQUIVALENCE = [
    ("classic control", "CartPole-v1", "CartPole-v1.threefactor.rules.msgpack", None),
    ("classic control", "Acrobot-v1", "Acrobot-v1.learned.rules.msgpack", None),
    ("classic control", "MountainCarContinuous-v0", None, None),
    ("Box2D", "LunarLander-v3", "LunarLander-v3.threefactor.rules.msgpack", None),
    ("Box2D", "BipedalWalker-v3", None, 200),
    ("MuJoCo", "Reacher-v5", "Pendulum-v1+MountainCarContinuous-v0+Reacher-v5.learned.rules"
     ".msgpack", None),
    ("MuJoCo", "HalfCheetah-v5", None, 200),
]


@pytest.mark.parametrize("family, env_id, genome, max_steps", EQUIVALENCE,
                         ids=[e[1] for e in EQUIVALENCE])
def test_a_fixed_genome_scores_the_same_in_both_simulators_within_three_standard_errors(
        family, env_id, genome, max_steps):
    if genome:
        spec, x, settings = GenomeFile.read(GENOMES / genome).scored_in(env_id, "mean")
        settings = EvalSettings(env_id, spec, max_steps, "mean", settings.w_max,
                                settings.normalise_obs)
    else:
        spec, x = _random_genome(env_id)
        settings = EvalSettings(env_id, spec, max_steps, "mean")
    seeds = np.arange(7_000, 7_000 + EPISODES)
    gym_returns = _returns(settings.judged_in("gymnasium"), x, seeds)
    pool_returns = _returns(settings.judged_in("envpool"), x, seeds)
    se = np.hypot(gym_returns.std(ddof=1), pool_returns.std(ddof=1)) / np.sqrt(EPISODES)
    assert se > 0, f"{env_id}: the genome's returns do not vary; the comparison says nothing"
    gap = abs(gym_returns.mean() - pool_returns.mean())
    assert gap < 3 * se, (f"{family} {env_id}: gymnasium {gym_returns.mean():.2f}, envpool "
                          f"{pool_returns.mean():.2f}, {gap / se:.1f} standard errors apart")


def test_the_default_simulator_is_envpool_where_it_agrees_with_gymnasium():
    assert choose_simulator(["CartPole-v1"], None) == "envpool"
    assert choose_simulator(["LunarLander-v3", "Hopper-v5"], None) == "envpool"
    assert choose_simulator(["Pendulum-v1"], None) == "gymnasium"  # see DIFFERS
    assert choose_simulator(["CartPole-v1", "Pendulum-v1"], None) == "gymnasium"
    assert choose_simulator(["Pendulum-v1"], "envpool") == "envpool"  # asked for: it runs
    assert "Pendulum-v1" in DIFFERS


def test_a_fresh_process_registers_every_task_the_project_steps_and_no_other_family():
    """The node and each worker import envpool with only the families of ENVPOOL_FAMILIES
    (a third of its import's CPU); every id the simulator issue names is among them."""
    probe = (
        "import sys, json\n"
        "from envs.simulators import envpool_ids\n"
        "ids = envpool_ids()\n"
        "print(json.dumps([sorted(ids), sorted(m for m in sys.modules if m.startswith("
        "'envpool.atari') or m.startswith('envpool.jumanji'))]))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120, cwd=Path(__file__).parent.parent).stdout
    ids, others = json.loads(out)
    named = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0",
             "Pendulum-v1", "LunarLander-v3", "LunarLanderContinuous-v3", "BipedalWalker-v3",
             "HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Reacher-v5"]
    assert set(named) <= set(ids)
    assert others == []


def test_genomes_of_one_generation_see_identical_first_observations():
    batch = EnvpoolBatch("LunarLander-v3")
    try:
        first = batch.reset(np.array([11, 11, 11, 12]))
        again = batch.reset(np.array([12, 11]))
    finally:
        batch.close()
    np.testing.assert_array_equal(first[0], first[1])
    np.testing.assert_array_equal(first[0], first[2])
    assert not np.array_equal(first[0], first[3])
    np.testing.assert_array_equal(again, first[[3, 0]])  # a seed starts the same episode again


def test_a_genome_scores_the_same_alone_and_beside_others_of_its_generation():
    spec, X = _random_genome("LunarLander-v3", hidden=16)
    X = X + 0.3 * np.random.default_rng(3).standard_normal((5, spec.dim))
    settings = EvalSettings("LunarLander-v3", spec, 300, "mean", simulator="envpool")
    with Evaluator(settings, workers=0) as ev:
        together = ev.episode_returns(X, [[21, 22], [23, 24]])
        alone = np.stack([ev.episode_returns(x[None], [[21, 22], [23, 24]])[0] for x in X])
    np.testing.assert_array_equal(together, alone)


@pytest.mark.parametrize("floor", [-2.0, 0.5])
@pytest.mark.parametrize("simulator", ["envpool", "gymnasium"])
def test_a_capped_floored_batch_scores_every_row_as_if_it_ran_alone(simulator, floor):
    """The episode loop's bookkeeping (envs/episodes.py's `_settle`): rows that end apart,
    the batch shrinking, a step cap that ends the rest and a training reward floor; each
    row's returns and steps are those of that row alone, and a plain gymnasium loop of the
    zero network (always action 0) gives its floored, capped return. A floor above 0 once
    paid rows whose episode had ended, every step until the batch shrank."""
    spec = GenomeSpec("weights", (8, 4))
    X = 0.6 * np.random.default_rng(8).standard_normal((7, spec.dim))
    X[0] = 0.0
    settings = EvalSettings("LunarLander-v3", spec, 90, "mean", simulator=simulator)
    seeds = [[91, 92]]
    with Evaluator(settings, workers=0) as ev:
        together = ev.episode_returns(X, seeds, floor=floor)
        steps = ev.steps
        alone = [ev.episode_returns(X[i:i + 1], seeds, floor=floor)[0] for i in range(len(X))]
        assert ev.steps == 2 * steps
    np.testing.assert_array_equal(together, np.stack(alone))
    if simulator == "gymnasium":
        env = gym.make("LunarLander-v3")
        for k, seed in enumerate(seeds[0]):
            env.reset(seed=seed)
            total, t, done = 0.0, 0, False
            while not done and t < 90:
                _, r, terminated, truncated, _ = env.step(0)
                total, t, done = total + max(r, floor), t + 1, terminated or truncated
            assert together[0, 0, k] == pytest.approx(total, abs=1e-9)


def test_weights_carry_across_envpool_episodes_within_a_lifetime():
    spec, x = _random_genome("CartPole-v1", kind="rules", hidden=8, seed=5)
    info = env_info("CartPole-v1")
    batch = EnvpoolBatch("CartPole-v1")
    try:
        returns, _ = run_lifetimes(batch, PlasticNetwork(spec, info, x[None]), [31, 32])
        # The same lifetime by hand: episode 31, then episode 32 from the weights it ended with.
        by_hand = PlasticNetwork(spec, info, x[None])
        first, _ = run_lifetimes(batch, by_hand, [31])
        learned = by_hand.params.copy()
        by_hand.begin_episode(np.array([32]))
        second = np.zeros(1)
        _run_episode(batch, by_hand, batch.reset(np.array([32])), second, None)
    finally:
        batch.close()
    initial = PlasticNetwork(spec, info, x[None])
    initial.reset(weight_seeds(np.array([31])))
    assert not np.allclose(learned, initial.params)  # episode 31 changed the weights
    assert returns[0, 0] == first[0, 0]
    assert returns[0, 1] == second[0]


def test_no_episode_leaks_into_the_next_across_envpool_automatic_resets():
    # A `weights` genome on CartPole: its return is its episode's length, so any step taken
    # after an episode's end (an automatic reset's new episode) would show in returns or steps.
    spec, x = _random_genome("CartPole-v1", kind="weights", seed=9)
    X = np.stack([x, x * 0.7, x * 1.3, -x])
    seeds = [[41, 42, 43]]
    settings = EvalSettings("CartPole-v1", spec, None, "mean", simulator="envpool")
    with Evaluator(settings, workers=0) as ev:
        lifetimes = ev.episode_returns(X, seeds)[:, 0]  # (4 genomes, 3 episodes)
        steps = ev.steps
        single = np.stack([[ev.episode_returns(X[i:i + 1], [[s]])[0, 0, 0] for s in seeds[0]]
                           for i in range(len(X))])
    assert len(set(lifetimes.ravel().tolist())) > 1  # episodes of different lengths
    np.testing.assert_array_equal(lifetimes, single)  # episode k as if it were the only one
    assert steps == lifetimes.sum()  # every step counted belongs to an episode's return


def test_each_worker_steps_its_own_envpool_pool():
    spec, X = _random_genome("CartPole-v1")
    X = X + 0.2 * np.random.default_rng(4).standard_normal((6, spec.dim))
    settings = EvalSettings("CartPole-v1", spec, None, "mean", simulator="envpool")
    with Evaluator(settings, workers=0) as local:
        expected = local.evaluate(X, [51, 52]).fitness
    with Evaluator(settings, workers=2) as pool:
        got = pool.evaluate(X, [51, 52]).fitness
        loaded = [Path(f"/proc/{pid}/maps").read_text() for pid in pool.worker_pids]
        threads = [len(list(Path(f"/proc/{pid}/task").iterdir())) for pid in pool.worker_pids]
    np.testing.assert_array_equal(got, expected)
    assert len(loaded) == 2 and all("classic_control_envpool" in maps for maps in loaded)
    assert all(n < 8 for n in threads)  # one stepping thread each, not one per core


def test_a_threaded_box2d_pool_scores_exactly_as_one_thread_does():
    """`threaded` (off for the node, kept to measure): one pool for the whole call, stepped
    by a thread per worker, scores exactly as one thread in this process does (every row's
    episode, lifetimes carried across episodes, a champion's lone genome split nowhere)."""
    spec, X = _random_genome("LunarLander-v3")
    X = X + 0.3 * np.random.default_rng(5).standard_normal((7, spec.dim))
    settings = EvalSettings("LunarLander-v3", spec, None, "mean", simulator="envpool",
                            lifetime=2)
    seeds = [[81, 82], [83, 84]]
    with Evaluator(settings, workers=0) as local:
        expected = local.episode_returns(X, seeds)
        lone = local.episode_returns(X[:1], seeds * 3)
    with Evaluator(settings, workers=2, threaded=True) as pool:
        got = pool.episode_returns(X, seeds)
        got_lone = pool.episode_returns(X[:1], seeds * 3)
        assert (pool.threads, len(pool.worker_pids)) == (2, 1)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_lone, lone)
    assert len(set(expected[:, :, 1].ravel().tolist())) > 1  # rows that end apart
    batch = EnvpoolBatch("LunarLander-v3", threads=2)
    batch.reset(np.arange(4))
    assert batch.pool.config["num_threads"] == 2
    batch.close()
    assert choose_simulator(["CartPole-v1"], None) == "envpool"  # classic control: processes
    with Evaluator(EvalSettings("CartPole-v1", _random_genome("CartPole-v1")[0]),
                   workers=2, threaded=True) as cartpole:
        assert (cartpole.threads, len(cartpole.worker_pids)) == (1, 2)
    with Evaluator(settings, workers=2) as node_default:  # what the node runs: processes
        assert (node_default.threads, len(node_default.worker_pids)) == (1, 2)


@pytest.mark.parametrize("env_id", ["BipedalWalker-v3", "LunarLander-v3"])
def test_a_gymnasium_seed_plays_the_same_episode_whatever_its_environment_played_before(env_id):
    """Box2D keeps its world across gymnasium resets: a used BipedalWalker-v3 played a seed
    differently from a new one, so a held-out score depended on how lifetimes were split
    among workers. The batch now gives every such episode a new environment."""
    assert reset_keeps_state(env_id) and not reset_keeps_state("CartPole-v1")
    info = env_info(env_id)
    rng = np.random.default_rng(3)
    actions = (rng.integers(0, info.act_dim, (300, 1)) if info.discrete
               else rng.uniform(-1, 1, (300, 1, info.act_dim)))

    def play(batch: GymnasiumBatch, seed: int) -> list[np.ndarray]:
        seen = [batch.reset(np.array([seed]))]
        for action in actions:
            obs, _, terminated, truncated = batch.step(action, np.array([0]))
            seen.append(obs)
            if terminated[0] or truncated[0]:
                break
        return seen

    fresh = play(GymnasiumBatch(env_id), 2**31 + 5)
    used = GymnasiumBatch(env_id)
    play(used, 2**31 + 7)
    play(used, 2**31 + 9)
    again = play(used, 2**31 + 5)
    assert len(again) == len(fresh)
    for a, b in zip(fresh, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_gymnasium_batch_and_a_list_of_environments_run_the_same_lifetimes():
    spec, x = _random_genome("CartPole-v1", kind="rules")
    info = env_info("CartPole-v1")
    listed = run_lifetimes([gym.make("CartPole-v1")], PlasticNetwork(spec, info, x[None]),
                           [61, 62])
    batched = run_lifetimes(GymnasiumBatch("CartPole-v1"), PlasticNetwork(spec, info, x[None]),
                            [61, 62])
    np.testing.assert_array_equal(listed[0], batched[0])


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "LunarLanderContinuous-v3",
                                    "Hopper-v5"])
def test_envpool_stepped_without_its_wrapper_runs_the_same_lifetimes(env_id):
    """The compiled calls (envs/simulators.py's `_RawStep`) against envpool's own `step`:
    discrete and continuous actions (float32, MuJoCo's float64), extra info keys."""
    spec, x = _random_genome(env_id)
    info = env_info(env_id)
    X = x + 0.3 * np.random.default_rng(2).standard_normal((6, spec.dim))
    seeds = np.arange(71, 77)[:, None] + np.array([0, 100])  # per row, two episodes a lifetime
    runs = []
    for wrapper in (False, True):
        batch = EnvpoolBatch(env_id, wrapper=wrapper)
        runs.append(run_lifetimes(batch, PlasticNetwork(spec, info, X), seeds, max_steps=300))
        assert (batch._raw is None) == wrapper  # each path is the one taken
        batch.close()
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1] > 0


def test_envpool_without_the_id_exits_2_naming_close_ids_and_writes_nothing(tmp_path):
    run = tmp_path / "run"
    result = run_cli("island-node", "--simulator", "envpool", "--env", "LunarLander-v4",
                     "--run-dir", str(run), "--quiet")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "LunarLander-v4" in line and "LunarLander-v3" in line
    assert not run.exists()


@pytest.mark.parametrize("cli", ["island-node", "island-eval"])
def test_an_unknown_simulator_is_one_line_naming_the_flag(cli, tmp_path):
    genome = tmp_path / "g.msgpack"
    spec, x = _random_genome("CartPole-v1")
    genome.write_bytes(encode_genome(spec, x, GenomeMeta(env="CartPole-v1").to_dict()))
    args = [str(genome)] if cli == "island-eval" else ["--run-dir", str(tmp_path / "run")]
    result = run_cli(cli, *args, "--simulator", "warp")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "--simulator" in line and "warp" in line
    assert not (tmp_path / "run").exists()


def test_a_genome_trained_in_one_simulator_scores_in_the_other(tmp_path):
    run = tmp_path / "run"
    trained = run_cli("island-node", "--env", "CartPole-v1", "--simulator", "envpool",
                      "--max-generations", "2", "--popsize", "8", "--workers", "0",
                      "--final-episodes", "5", "--run-dir", str(run))
    assert trained.returncode == 0, trained.stderr
    assert "in envpool" in trained.stdout.splitlines()[0]
    assert 'simulator = "envpool"' in (run / "config.toml").read_text()
    saved = GenomeFile.read(run / "best.msgpack")
    assert saved.trained_in == "envpool"
    scores = {}
    for simulator in ("gymnasium", "envpool"):
        scored = run_cli("island-eval", str(run / "best.msgpack"), "--episodes", "5",
                         "--workers", "0", "--simulator", simulator)
        assert scored.returncode == 0 and not scored.stderr.strip(), scored.stderr
        assert f"simulator {simulator} (trained in envpool)" in scored.stdout
        scores[simulator] = scored.stdout
    default = run_cli("island-eval", str(run / "best.msgpack"), "--episodes", "5",
                      "--workers", "0")
    assert default.stdout == scores["gymnasium"]  # judged in gymnasium unless asked
