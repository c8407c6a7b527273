"""A standalone island, run as the real `island-node` process on CartPole."""


from island.lab.genome_file import GenomeFile
from island.record import HeldOut, of_kind, read_events, read_generations
from tests.conftest import run_cli


def test_standalone_island_improves_cartpole_fitness(tmp_path):
    run = tmp_path / "run"
    result = run_cli(
        "island-node", "--run-dir", str(run), "--max-generations", "15", "--popsize", "16",
        "--episodes", "2", "--workers", "2", "--seed", "3", "--final-episodes", "20",
        "--hidden", "16,16", "--target", "none",  # three layers, and all 15 generations
    )
    assert result.returncode == 0, result.stderr
    log = read_generations(run / "log.jsonl")
    assert [r.generation for r in log] == list(range(1, 16))
    assert log[-1].best > log[0].gen_best
    # Champion rounds at generations 5, 10, 15 on 10 validation episodes each: the mean and
    # the best recent sample, then also the champion; they count as evaluations too.
    assert log[-1].evaluations == 15 * 16 * 2 + (2 + 3 + 3) * 10
    assert [r.generation for r in log if r.champion is not None] == list(range(5, 16))
    assert log[4].champion > 8  # CartPole pays 1 per step; the pole stays up 9+ steps
    assert set(log[-1].rules) >= {"layer0.eta", "layer2.modulation"}
    saved = GenomeFile.read(run / "best.msgpack")
    assert saved.spec.kind.value == "weights+rules" and saved.meta.env == "CartPole-v1"
    assert saved.meta.chosen_by == "validation" and saved.meta.fitness == log[-1].champion
    held_out = of_kind(read_events(run / "events.jsonl"), HeldOut)
    assert held_out and held_out[0].lifetimes == 20
    assert (run / "config.toml").read_text().count("popsize = 16") == 1


def test_island_eval_scores_a_saved_genome_on_held_out_seeds(tmp_path):
    run = tmp_path / "run"
    result = run_cli("island-node", "--run-dir", str(run), "--max-generations", "3",
                     "--popsize", "8", "--workers", "1", "--kind", "rules", "--quiet",
                     "--final-episodes", "0")
    assert result.returncode == 0, result.stderr
    scored = run_cli("island-eval", str(run / "best.msgpack"), "--episodes", "10",
                     "--workers", "1", "--rules")
    assert scored.returncode == 0, scored.stderr
    assert "held-out lifetimes 10" in scored.stdout
    table = scored.stdout.splitlines()[1:5]  # the rule: a header and one line per layer
    assert table[0].split() == ["layer", "eta", "decay", "hebbian", "pre", "post", "bias",
                                "modulation"]
    assert [line.split()[0] for line in table[1:]] == ["0", "1", "2"]
    assert all(0 < float(line.split()[1]) <= 1 for line in table[1:])  # eta, natural units
    # A rules genome also acts in an environment it never saw (rule transfer).
    moved = run_cli("island-eval", str(run / "best.msgpack"), "--env", "LunarLander-v3",
                    "--episodes", "4", "--workers", "1", "--compare", "2")
    assert moved.returncode == 0, moved.stderr
    assert "LunarLander-v3" in moved.stdout
    lines = moved.stdout.splitlines()
    rows = [line.split("held-out")[0].strip() for line in lines[1:-1]]
    assert rows == ["evolved", "random rule 1", "random rule 2", "learning off", "no plasticity",
                    *(f"constant action {a}" for a in range(4))]  # LunarLander's 4 actions
    assert "8 baselines" in lines[-1]  # the verdict counts its comparisons


def test_island_eval_rejects_a_corrupt_genome_file(tmp_path):
    bad = tmp_path / "best.msgpack"
    bad.write_bytes(b"\x93\x01\x02")
    result = run_cli("island-eval", str(bad))
    assert result.returncode == 2 and "best.msgpack" in result.stderr


SHIPPED_ACROBOT = "examples/genomes/Acrobot-v1.learned.rules.msgpack"


def _acrobot_rules(run, *extra: str):
    return run_cli(
        "island-node", "--run-dir", str(run), "--env", "Acrobot-v1", "--kind", "rules",
        "--rule-family", "learned", "--hidden", "", "--lifetime", "20", "--episodes", "1",
        "--popsize", "8", "--sigma", "0.01", "--max-generations", "1", "--target", "none",
        "--final-episodes", "0", "--workers", "1", "--seed", "5", "--quiet", *extra)


def test_a_run_continues_from_a_saved_rule_where_the_hand_set_start_does_not_swing_up(tmp_path):
    """`--init FILE`: CMA-ES's first population is drawn around the saved genome, so with a
    small step a shipped Acrobot rule's first generation already swings up in about 110
    steps, where the family's hand-set start (weight perturbation) needs about 220."""
    assert _acrobot_rules(tmp_path / "continued", "--init", SHIPPED_ACROBOT).returncode == 0
    assert _acrobot_rules(tmp_path / "hand-set").returncode == 0
    continued = read_generations(tmp_path / "continued" / "log.jsonl")[0]
    hand_set = read_generations(tmp_path / "hand-set" / "log.jsonl")[0]
    assert continued.mean > -140 > -180 > hand_set.mean  # measured: -107, -217


def test_a_saved_genome_of_another_network_is_refused_in_one_line_naming_the_flag(tmp_path):
    result = _acrobot_rules(tmp_path / "r", "--init",
                            "examples/genomes/CartPole-v1.learned.rules.msgpack")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--init" in result.stderr and "layers (4, 2)" in result.stderr
    missing = _acrobot_rules(tmp_path / "m", "--init", str(tmp_path / "absent.msgpack"))
    assert missing.returncode == 2 and "evolution.init (--init)" in missing.stderr
