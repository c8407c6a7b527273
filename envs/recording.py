"""Champion videos: a genome's held-out lifetimes rendered to a GIF (and an MP4 when an
ffmpeg encoder is installed), headless, through gymnasium's `rgb_array` rendering.

The lifetimes are the ones `held_out_curves` scores first (same seeds, same initial
weights), run by the same episode loop, so the video shows the score it is shown with.
Frames are drawn, shrunk and encoded as they come: gymnasium's RenderCollection keeps
every full frame (720 kB for CartPole, 360 MB for one 500-step lifetime). Every frame
carries its episode number and the return so far, and a GIF with a frame budget keeps
whole episodes by keeping fewer of their frames, never by stopping early (a report's
GIFs once ended after about 30 frames, a few percent of a CartPole episode).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from envs.episodes import lifetime_fitness, run_lifetimes
from envs.evaluator import EvalSettings, input_scale
from envs.held_out import held_out_seeds
from envs.network import PlasticNetwork
from envs.spaces import UnknownEnvironmentError, describe


@dataclass(frozen=True)
class Recording:
    """What was written: the files, the frames in the GIF and the return of each lifetime."""

    gif: Path
    mp4: Path | None
    frames: int
    size: tuple[int, int]  # GIF width, height
    stride: int  # tapped frames per GIF frame (more than 1 when over the frame budget)
    returns: tuple[float, ...]  # score of each lifetime (the settings' lifetime fitness)
    episode_returns: tuple[tuple[float, ...], ...]  # return of each episode of each lifetime

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gif": str(self.gif), "mp4": str(self.mp4) if self.mp4 else None}

    def summary(self) -> str:
        mp4 = f" and {self.mp4}" if self.mp4 else " (no MP4: install imageio-ffmpeg)"
        returns = ", ".join(f"{r:.1f}" for r in self.returns)
        return (f"recorded {len(self.returns)} held-out lifetimes (returns {returns}) to "
                f"{self.gif}{mp4}: {self.frames} frames of {self.size[0]}x{self.size[1]}")


class FrameTap(gym.Wrapper):
    """Renders every `every`-th step (and each reset) and hands the frame to `sink`, with
    the episode's number and its return so far written on it."""

    def __init__(self, env: gym.Env, sink: Callable[[np.ndarray], None], every: int = 1):
        super().__init__(env)
        self.sink, self.every, self._t = sink, max(1, every), 0
        self.episode, self.ret, self.lifetime = 0, 0.0, ""  # lifetime: a caption's prefix

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        result = self.env.reset(**kwargs)
        self._t, self.episode, self.ret = 0, self.episode + 1, 0.0
        self._show()
        return result

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        result = self.env.step(action)
        self._t += 1
        self.ret += float(result[1])
        if self._t % self.every == 0 or result[2] or result[3]:
            self._show()
        return result

    def _show(self) -> None:
        text = f"{self.lifetime}episode {self.episode}   return {self.ret:.1f}"
        self.sink(caption(self.env.render(), text))


def caption(frame: np.ndarray, text: str) -> np.ndarray:
    """The frame with `text` written in its top left corner, dark on a light box."""
    image = Image.fromarray(np.asarray(frame, dtype=np.uint8))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, image.height // 22))
    left, top, right, bottom = draw.textbbox((8, 6), text, font=font)
    draw.rectangle((left - 4, top - 3, right + 4, bottom + 3), fill=(255, 255, 255))
    draw.text((8, 6), text, fill=(20, 20, 20), font=font)
    return np.asarray(image)


class GifFrames:
    """Shrinks frames to `width`; past `max_frames`, keeps every other frame and from then on
    half as many, so the GIF still shows the whole recording, in fewer frames."""

    def __init__(self, width: int | None, max_frames: int | None):
        self.width, self.max_frames = width, max_frames
        self.images: list[Image.Image] = []
        self.stride, self._seen = 1, 0  # frames offered per frame kept

    def add(self, frame: np.ndarray) -> None:
        self._seen += 1
        if (self._seen - 1) % self.stride:
            return
        if self.max_frames is not None and len(self.images) >= self.max_frames:
            self.images, self.stride = self.images[::2], self.stride * 2
            if (self._seen - 1) % self.stride:
                return
        image = Image.fromarray(np.asarray(frame, dtype=np.uint8))
        if self.width and image.width != self.width:
            image = image.resize((self.width, round(image.height * self.width / image.width)),
                                 Image.Resampling.LANCZOS)
        # One adaptive palette per frame: environments draw few flat colours.
        self.images.append(image.quantize(colors=64, method=Image.Quantize.MEDIANCUT))

    def save(self, path: Path, frame_ms: int) -> tuple[int, int]:
        """Write the GIF, each kept frame shown for as long as the frames it stands for."""
        first, *rest = self.images
        first.save(path, save_all=True, append_images=rest, duration=frame_ms * self.stride,
                   loop=0, optimize=False, disposal=1)
        return first.size


class Mp4Frames:
    """Streams full-size frames into ffmpeg (from the imageio-ffmpeg package) as they come."""

    def __init__(self, path: Path, fps: float):
        import imageio_ffmpeg

        self.path, self.fps, self._writer = path, fps, None
        self._open = imageio_ffmpeg.write_frames

    def add(self, frame: np.ndarray) -> None:
        if self._writer is None:
            height, width = frame.shape[:2]
            self._writer = self._open(str(self.path), (width, height), fps=self.fps,
                                      macro_block_size=2, quality=7,
                                      ffmpeg_log_level="error")
            self._writer.send(None)  # start the generator
        self._writer.send(np.ascontiguousarray(frame, dtype=np.uint8))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def mp4_available() -> bool:
    """True when imageio-ffmpeg and its ffmpeg binary are installed."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return False
    return True


def record_lifetimes(
    settings: EvalSettings, x: np.ndarray, out_dir: str | Path, lifetimes: int = 1,
    episodes_per_lifetime: int = 1, offset: int = 0, stem: str = "held_out", every: int = 2,
    width: int | None = None, max_frames: int | None = None, mp4: bool = True,
) -> Recording:
    """Render the first `lifetimes` held-out lifetimes of genome `x` to `out_dir/stem.gif`.

    The GIF keeps every `every`-th step (shrunk to `width`; past `max_frames`, fewer
    of them, still to the end); the MP4, written when `mp4` and an encoder is installed,
    keeps the same frames at full size. Each frame says its episode and its return so far.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for driver in ("SDL_VIDEODRIVER", "SDL_AUDIODRIVER"):  # pygame draws off-screen, silently
        os.environ.setdefault(driver, "dummy")
    try:
        env = gym.make(settings.env_id, render_mode="rgb_array")
    except gym.error.Error as exc:
        raise UnknownEnvironmentError(f"cannot render {settings.env_id!r}: {exc}") from None
    fps = float(env.metadata.get("render_fps") or 30) / max(1, every)
    gif = GifFrames(width, max_frames)
    video = Mp4Frames(out / f"{stem}.mp4", fps) if mp4 and mp4_available() else None

    def sink(frame: np.ndarray) -> None:
        gif.add(frame)
        if video is not None:
            video.add(frame)

    tapped = FrameTap(env, sink, every)
    episodes = []
    try:
        network = PlasticNetwork(settings.spec, describe(env), np.asarray(x)[None, :],
                                 settings.w_max, input_scale(settings))
        for n, seeds in enumerate(held_out_seeds(lifetimes, episodes_per_lifetime, offset)):
            tapped.lifetime = f"lifetime {n + 1}   " if lifetimes > 1 else ""
            tapped.episode = 0
            returns, _ = run_lifetimes([tapped], network, seeds, settings.max_steps)
            episodes.append(returns[0])
    finally:
        tapped.close()
        if video is not None:
            video.close()
    size = gif.save(out / f"{stem}.gif", frame_ms=round(1000 / fps))
    scores = lifetime_fitness(np.array(episodes), settings.lifetime_fitness)
    return Recording(out / f"{stem}.gif", video.path if video else None, len(gif.images), size,
                     gif.stride, tuple(float(s) for s in scores),
                     tuple(tuple(float(r) for r in row) for row in episodes))
