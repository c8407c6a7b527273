"""Champion videos: a real CartPole-v1 champion rendered headless to GIF (and MP4)."""

from __future__ import annotations

import math
import re

import pytest
from PIL import Image

from envs import EvalSettings
from envs.recording import mp4_available, record_lifetimes
from genome.codec import decode_genome
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    """best.msgpack of a short real CartPole-v1 run (episodes end by the environment)."""
    run = tmp_path_factory.mktemp("champion") / "run"
    result = run_cli("island-node", "--run-dir", str(run), "--workers", "1", "--popsize", "8",
                     "--episodes", "1", "--hidden", "8", "--max-generations", "4",
                     "--final-episodes", "0", "--quiet", timeout=120)
    assert result.returncode == 0, result.stderr
    return run / "best.msgpack"


def _gif_frames(path) -> tuple[int, int, tuple[int, int]]:
    """Frames stored, total duration in ms, and size (Pillow merges identical frames)."""
    with Image.open(path) as gif:
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
        return gif.n_frames, sum(durations), gif.size


def test_island_eval_records_the_held_out_lifetimes_it_scores(champion, tmp_path):
    out = tmp_path / "video"
    result = run_cli("island-eval", str(champion), "--episodes", "2", "--workers", "1",
                     "--record", str(out), timeout=120)
    assert result.returncode == 0, result.stderr
    scored = float(re.search(r"held-out lifetimes 2 +mean ([\d.]+)", result.stdout).group(1))
    line = re.search(r"recorded 2 held-out lifetimes \(returns ([\d., ]+)\) to (\S+?)[ :].*"
                     r": (\d+) frames of (\d+)x(\d+)", result.stdout)
    assert line, result.stdout
    returns = [float(r) for r in line.group(1).split(", ")]
    assert sum(returns) / 2 == pytest.approx(scored, abs=0.01)  # the video shows the score
    # CartPole pays 1 a step: a lifetime of R steps is its reset frame, then every 2nd
    # step and the last one.
    frames = sum(1 + math.ceil(r / 2) for r in returns)
    assert int(line.group(3)) == frames
    stored, duration, size = _gif_frames(out / "held_out.gif")
    assert size == (600, 400) and (int(line.group(4)), int(line.group(5))) == size
    assert 1 < stored <= frames and duration == frames * 40  # 50 fps rendering, every 2nd
    if mp4_available():
        assert (out / "held_out.mp4").stat().st_size > 1000
        assert str(out / "held_out.mp4") in result.stdout


def test_a_small_gif_for_the_report_shows_the_whole_episode(champion, tmp_path):
    """A frame budget keeps fewer frames of the episode, never stops it early: the GIF
    lasts as long as the episode (CartPole: 50 steps a second), within one kept frame."""
    spec, x, meta = decode_genome(champion.read_bytes())
    settings = EvalSettings("CartPole-v1", spec, None, "mean", float(meta["w_max"]))
    recording = record_lifetimes(settings, x, tmp_path, lifetimes=1, stem="small", every=3,
                                 width=240, max_frames=5, mp4=False)
    (steps,) = recording.episode_returns[0]  # CartPole pays 1 a step
    assert recording.frames <= 5 and recording.mp4 is None and recording.stride > 1
    stored, duration, size = _gif_frames(recording.gif)
    assert size == recording.size == (240, 160)
    frame_ms = 60 * recording.stride
    assert steps * 20 - frame_ms <= duration <= steps * 20 + 2 * frame_ms
    assert not (tmp_path / "small.mp4").exists()


def test_every_frame_says_its_episode_and_return_so_far(champion, tmp_path):
    """The caption is drawn on the frames: the first frame of the video differs from the
    environment's own picture in its top left corner only."""
    import gymnasium as gym
    import numpy as np

    from envs.held_out import held_out_seeds
    from envs.recording import caption

    spec, x, meta = decode_genome(champion.read_bytes())
    settings = EvalSettings("CartPole-v1", spec, None, "mean", float(meta["w_max"]))
    recording = record_lifetimes(settings, x, tmp_path, lifetimes=1, stem="c", every=1,
                                 mp4=False)
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=int(held_out_seeds(1)[0, 0]))
    plain = env.render()
    env.close()
    with Image.open(recording.gif) as gif:
        first = np.asarray(gif.convert("RGB"))
    drawn = np.abs(first.astype(int) - plain.astype(int)).sum(axis=2) > 60
    rows, cols = np.nonzero(drawn)
    assert drawn.sum() > 100 and rows.max() < 60 and cols.max() < 300  # the caption box
    expected = caption(plain, "episode 1   return 0.0")
    assert np.abs(expected.astype(int) - first.astype(int)).mean() < 3  # that very text
