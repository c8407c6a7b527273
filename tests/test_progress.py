"""island-cluster's live progress: one table redrawn in place on a terminal, lines elsewhere."""

from __future__ import annotations

import os
import pty
import select

import msgspec

from island.progress import LiveProgress, format_rows, island_row
from island.record import Confirmation, GenerationRecord, MigrantArrived, Restart

RECORD = GenerationRecord(generation=12, evaluations=960, wall=4.0, best=187.25, gen_best=150.0,
                          mean=55.5, sigma=0.5, popsize=80, restarts=0, steps=9000,
                          champion=120.0, migrants_in=7, migrants_out=9)


def _table(generation: int) -> list[str]:
    record = msgspec.structs.replace(RECORD, generation=generation)
    return format_rows([island_row("hebbian", record, None), island_row("oja", None, 1)])


def _read_all(fd: int) -> str:
    """Everything the terminal has received (it may arrive in several reads)."""
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def test_the_table_is_redrawn_in_place_on_a_terminal():
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=True) as terminal:
            progress = LiveProgress(terminal)
            assert progress.tty
            progress.update(_table(12), "line 12")
            progress.update(_table(13), "line 13")
            written = _read_all(master)
    finally:
        os.close(master)
    first, _, second = written.partition("\x1b[3F\x1b[J")  # up three lines, clear below
    assert second, f"no redraw in {written!r}"
    assert "line" not in written  # the one-line form is for pipes
    header, hebbian, oja = second.strip().splitlines()
    assert header.split()[:4] == ["island", "state", "gen", "evals"]
    assert hebbian.split()[:6] == ["hebbian", "running", "13", "960", "240", "187.25"]
    assert "7 / 9" in hebbian and oja.split()[:3] == ["oja", "exit", "1"]
    assert first.count("hebbian") == 1


def test_output_that_is_not_a_terminal_gets_plain_lines(tmp_path):
    with open(tmp_path / "out.txt", "w") as file:
        progress = LiveProgress(file)
        progress.update(_table(12), "line 12")
        progress.update(_table(13), "line 13")
        progress.message("island-cluster: done")
    assert (tmp_path / "out.txt").read_text() == "line 12\nline 13\nisland-cluster: done\n"


# -- a node's own lines ------------------------------------------------------------------------


def test_each_confirmation_line_says_passed_or_not_with_mean_bound_and_target():
    from island.progress import format_event

    def confirmation(kind: str, bound: float = 423.07) -> Confirmation:
        return Confirmation(time=0.0, event=kind, generation=170, mean=477.64, bound=bound,
                            lifetimes=200, target=475.0, round_score=500.0)

    failed = format_event("confirmation_failed", confirmation("confirmation_failed"))
    assert failed == ("  gen 170: confirmation failed: mean 477.6 on 200 fresh lifetimes, "
                      "bound 423.1 < target 475; the search goes on")
    passed = format_event("champion_confirmed", confirmation("champion_confirmed", 481.0))
    assert "confirmation passed" in passed and "bound 481.0 >= target 475" in passed
    assert "not yet conclusive" in format_event(
        "confirmation_inconclusive", confirmation("confirmation_inconclusive"))
    restart = format_event("restart", Restart(time=0.0, event="restart", generation=9,
                                              evaluations=700, popsize=44,
                                              reason="its step size collapsed"))
    assert restart == "  gen 9: CMA-ES restarts (its step size collapsed) with a population of 44"
    arrived = MigrantArrived(time=0.0, event="migrant_injected", origin="b", sender="b",
                             role="elite", generation=3, sent_generation=2, claimed=1.0,
                             env="CartPole-v1", outcome="accepted")
    assert format_event("migrant_injected", arrived) is None


def test_the_cap_column_gives_the_share_spent_and_the_time_left():
    from island.progress import format_cap

    assert format_cap(0.25, 20.0) == "cap  25%, 60s left"
    assert format_cap(0.02, 12.0) == "cap   2%, 10m left"
    assert format_cap(0.0, 1.0) == "cap   0%"


def test_a_node_says_its_seed_its_stop_rule_its_columns_and_each_round(tmp_path):
    from tests.conftest import run_cli

    done = run_cli("island-node", "--seed", "3", "--workers", "0", "--max-generations", "5",
                   "--final-episodes", "0", "--run-dir", str(tmp_path / "run"), timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("island-node: CartPole-v1 in ")  # envpool, where installed
    assert (", weights+rules (hebbian), seed 3; stops at a champion confirmed at 475 "
            "(CartPole-v1's reward_threshold), or a cap of 5 generations; run directory "
            ) in lines[0]
    assert lines[1].startswith("columns: best ")
    assert any(line.startswith("         champion  the genome the run stands behind")
               for line in lines)
    generations = [line for line in lines if line.startswith("gen ")]
    assert len(generations) == 5 and "cap  20%" in generations[0]
    assert "cap 100%" in generations[-1]
    assert any(line.startswith("  gen 5: champion round on 10 fresh lifetimes: mean ")
               for line in lines)


def test_a_resumed_run_says_from_which_generation(tmp_path):
    import signal
    import subprocess

    from island.record import read_generations
    from tests.conftest import run_cli, script, wait_for

    run = tmp_path / "run"
    flags = ["--seed", "3", "--workers", "0", "--max-generations", "400", "--target", "none",
             "--checkpoint-every", "2", "--final-episodes", "0", "--run-dir", str(run)]
    node = subprocess.Popen([script("island-node"), *flags], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(read_generations(run / "log.jsonl")) >= 5, "five generations",
                 timeout=120)
    finally:
        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=60) == 0
    stopped_at = read_generations(run / "log.jsonl")[-1].generation
    done = run_cli("island-node", *flags, "--popsize", "16", timeout=120)
    assert done.returncode == 2, done.stdout  # another search: refused, never resumed
    again = subprocess.Popen([script("island-node"), *flags], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        first, second = again.stdout.readline(), again.stdout.readline()
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=60)
    assert "seed 3" in first
    assert second.startswith(f"island-node: resumed from generation {stopped_at} (")
