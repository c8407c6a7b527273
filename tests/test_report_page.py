"""The report's opening paragraph: who won, by how much, and what each island found."""

from __future__ import annotations

import json

import msgspec

from island.lab.report import write_report
from island.lab.report_page import IslandSummary, strategy, summary_paragraph
from island.record import GenerationRecord, HeldOut


def _row(island: str, held_out: float | None, champion: float,
         kind: str = "rules") -> IslandSummary:
    return IslandSummary(island=island, env="CartPole-v1", kind=kind, held_out_mean=held_out,
                         champion=champion, best_training=500.0)


def test_the_winner_is_named_with_its_margin_on_held_out_seeds():
    rows = [_row("oja", 310.0, 400.0), _row("hebbian", 450.5, 300.0), _row("fixed", None, 500.0)]
    text = summary_paragraph(rows, {"oja": "x", "hebbian": "y", "fixed": "z"})
    assert text.startswith("3 islands on CartPole-v1. <b>hebbian</b> won with a held-out mean "
                           "of 450.5, 140.5 ahead of oja (310.0).")
    assert "hebbian (rules): y" in text and "fixed (rules): z" in text


def test_without_held_out_scores_the_champions_rank_and_the_page_says_so():
    text = summary_paragraph([_row("a", None, 200.0), _row("b", None, 200.0)], {})
    assert "<b>a</b> and <b>b</b> tied with a champion validation score of 200.0." in text
    assert "No island has a held-out score yet" in text


def test_a_tie_names_every_winner_and_the_margin_to_the_next():
    rows = [_row("a", 500.0, 1), _row("b", 500.0, 1), _row("c", 500.0, 1), _row("d", 77.6, 1)]
    text = summary_paragraph(rows, {})
    assert ("<b>a</b>, <b>b</b> and <b>c</b> tied with a held-out mean of 500.0, 422.4 ahead "
            "of d (77.6).") in text


def test_the_strategy_is_read_off_the_rule():
    assert strategy("weights", {}) == "fixed evolved weights, no plasticity"
    rules = {f"layer{layer}.{name}": value for layer in range(3) for name, value in
             (("eta", 0.01), ("decay", 1e-4), ("hebbian", 4.0), ("pre", -0.1), ("post", 1.0),
              ("bias", 0.0), ("modulation", 2.0))}
    assert strategy("rules", rules) == ("learning rate 0.01, driven by the hebbian term (|4|) "
                                        "and post term (|1|), reward gain +2")
    off = {**rules, **{f"layer{layer}.eta": 1e-6 for layer in range(3)}}
    assert strategy("weights+rules", off) == ("plasticity all but off (learning rate 1e-06): "
                                              "it relies on its evolved weights")


def test_islands_that_learn_within_a_lifetime_get_their_learning_curve_drawn(tmp_path):
    for name, curve in (("learner", [10.0, 40.0, 90.0]), ("fixed", None)):
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        (run / "config.toml").write_text(f'[run]\nnode_id = "{name}"\n[evaluation]\n'
                                         f'env = "CartPole-v1"\nkind = "rules"\n')
        record = GenerationRecord(generation=1, evaluations=8, wall=1.0, best=50.0,
                                  gen_best=50.0, mean=20.0, sigma=0.5, popsize=8, restarts=0,
                                  steps=800)
        (run / "log.jsonl").write_text(json.dumps(record.to_dict()) + "\n")
        held = HeldOut(time=1.0, event="held_out", lifetimes=10, episodes_per_lifetime=3,
                       lifetime_fitness="mean", held_out_mean=47.0, held_out_std=1.0,
                       curve=curve or [47.0])  # one point: nothing learnt within a lifetime
        (run / "events.jsonl").write_text(json.dumps(held.to_dict()) + "\n")
    summary = write_report([tmp_path / "runs"], tmp_path / "report")
    assert "learning.png" in summary.figures
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Within-lifetime learning of each island" in page and "a rising line" in page
    assert summary.videos == {}  # no best.msgpack: no clip, and no error


def test_a_run_without_its_own_held_out_score_is_ranked_by_the_reports_rescore():
    """The headline follows held-out lifetimes, as the strategies panel does, not a
    validation score that can rank the islands the other way."""
    rows = [msgspec.structs.replace(_row("lucky", None, 480.0), held_out_rescored=310.0),
            msgspec.structs.replace(_row("steady", None, 420.0), held_out_rescored=450.0)]
    text = summary_paragraph(rows, {})
    assert "<b>steady</b> won with a held-out mean of 450.0, 140.0 ahead of lucky" in text
    assert "scored by this report" in text and "No island has a held-out score" not in text
