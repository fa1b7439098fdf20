"""The evaluation harness: roll a policy out on a fixed seed list and compute the protocol metrics.

Episodes run in rounds of ``n_envs``: every env of a round is reset with its own seed from the list and the policy
sees the whole batch at once. With ``n_envs == 1`` the plain env is used (no vector wrapper, unbatched observations),
so the measured latency is the batch-1 latency the protocol reports.
"""

from __future__ import annotations

import importlib.util
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

import gymnasium as gym
import imageio
import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from polibench.evaluation.env import make_env, make_vector_env
from polibench.evaluation.metrics import episode_metrics, pooled_latency, summarize
from polibench.io import atomic_write, write_json, write_jsonl
from polibench.policy import CallInfo
from polibench.precision import autocast
from polibench.rundir import EPISODES_FILE, METRICS_FILE
from polibench.tracks import ACTION_DIM, get_track

#: Rendered frames are 680x680; every other pixel keeps a video readable at a quarter of the memory.
VIDEO_STRIDE = 2
VIDEO_FPS = 10  # gym-pusht's control rate


class ActionSelector(Protocol):
    """What the harness needs of a policy (every :class:`polibench.policy.Policy` meets it; so can a script)."""

    last_call: CallInfo

    def reset(self) -> None: ...

    def select_action(self, obs: dict[str, np.ndarray]) -> np.ndarray: ...


@dataclass
class EpisodeRecord:
    """One episode step by step, kept by ``evaluate(record=True)`` for figures (n steps, c model calls).

    Attributes:
        agent_pos, block_pose: [n + 1, 2] and [n + 1, 3] (x, y, angle in rad), the start state included.
        goal_pose: [3], the goal T's pose.
        actions, coverage: [n, 2] and [n], one per env step.
        call_steps: [c], the step index of each model call.
        ticks: [c], ticks used by each call (empty for policies that do not think in ticks).
        internals: per call, each [c, ...] (``CallInfo.internals``); calls that ran fewer ticks than the longest
            are padded with NaN along the tick axis. Empty unless the policy offers internals.
    """

    seed: int
    agent_pos: np.ndarray
    block_pose: np.ndarray
    goal_pose: np.ndarray
    actions: np.ndarray
    coverage: np.ndarray
    call_steps: np.ndarray
    ticks: np.ndarray
    internals: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class EvalResult:
    """Per-episode metrics (seed, episode_index and metrics, as builtins) and the aggregated summary;
    ``episodes`` holds the step-by-step records when evaluated with ``record=True``."""

    per_episode: list[dict[str, Any]]
    summary: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    episodes: list[EpisodeRecord] | None = None


@dataclass
class _EpisodeLog:
    """What one episode recorded, step by step."""

    agent_pos: list[np.ndarray]
    block_pose: list[np.ndarray]
    goal_pose: np.ndarray
    actions: list[np.ndarray] = field(default_factory=list)
    coverage: list[float] = field(default_factory=list)
    model_called: list[bool] = field(default_factory=list)
    ticks: list[float] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)
    internals: list[dict[str, np.ndarray]] = field(default_factory=list)

    def to_record(self, seed: int) -> EpisodeRecord:
        internals = {key: _stack_padded([call[key] for call in self.internals]) for key in self.internals[0]} \
            if self.internals else {}
        return EpisodeRecord(
            seed=seed, agent_pos=np.array(self.agent_pos), block_pose=np.array(self.block_pose),
            goal_pose=self.goal_pose, actions=np.array(self.actions).reshape(-1, ACTION_DIM),
            coverage=np.array(self.coverage), call_steps=np.flatnonzero(self.model_called),
            ticks=np.array(self.ticks), internals=internals,
        )


def _stack_padded(arrays: list[np.ndarray]) -> np.ndarray:
    """Stack per-call arrays [c, ...]; arrays of differing shape (calls that ran fewer ticks) are NaN-padded."""
    shape = np.max([a.shape for a in arrays], axis=0) if arrays[0].ndim else ()
    if all(a.shape == tuple(shape) for a in arrays):
        return np.stack(arrays)
    out = np.full((len(arrays), *shape), np.nan, dtype=np.float32)
    for row, a in zip(out, arrays):
        row[tuple(slice(n) for n in a.shape)] = a
    return out


class _VideoWriter:
    """Writes episode videos on one background thread so the rollout does not wait for encoding."""

    def __init__(self, video_dir: Path) -> None:
        self.video_dir = Path(video_dir)
        self.video_dir.mkdir(parents=True, exist_ok=True)
        # MP4 needs the ffmpeg binary that imageio-ffmpeg ships; GIF only needs pillow.
        self.suffix = ".mp4" if importlib.util.find_spec("imageio_ffmpeg") else ".gif"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="polibench-video")
        self._jobs: list[Future] = []

    def submit(self, name: str, frames: list[np.ndarray]) -> None:
        path = self.video_dir / f"{name}{self.suffix}"
        kwargs = {"fps": VIDEO_FPS} if self.suffix == ".mp4" else {"duration": 1000 / VIDEO_FPS, "loop": 0}
        self._jobs.append(self._pool.submit(imageio.mimsave, path, frames, **kwargs))

    def close(self) -> None:
        """Wait for every video and re-raise the first encoding error."""
        self._pool.shutdown(wait=True)
        for job in self._jobs:
            job.result()


def _batched(env: gym.Env | gym.vector.VectorEnv) -> bool:
    return isinstance(env, gym.vector.VectorEnv)


def _render(env: gym.Env | gym.vector.VectorEnv, n: int) -> list[np.ndarray]:
    frames = env.call("render") if _batched(env) else (env.render(),)
    return [np.ascontiguousarray(f[::VIDEO_STRIDE, ::VIDEO_STRIDE]) for f in frames[:n]]


def _run_round(
    policy: ActionSelector, env: gym.Env | gym.vector.VectorEnv, seeds: Sequence[int], max_steps: int, video: bool
) -> list[_EpisodeLog]:
    """One episode per seed, all in parallel; envs beyond ``len(seeds)`` (a short last round) only pad the batch."""
    batched = _batched(env)
    n_envs = env.num_envs if batched else 1
    padded = list(seeds) + [seeds[-1]] * (n_envs - len(seeds))
    obs, info = env.reset(seed=padded) if batched else env.reset(seed=int(padded[0]))
    policy.reset()
    active = np.arange(n_envs) < len(seeds)
    starts = zip(np.reshape(obs["agent_pos"], (n_envs, 2)), _poses(info, "block_pose", n_envs),
                 _poses(info, "goal_pose", n_envs))
    logs = [_EpisodeLog(agent_pos=[np.array(p)], block_pose=[block], goal_pose=goal)
            for p, block, goal in list(starts)[: len(seeds)]]
    if video:
        for log, frame in zip(logs, _render(env, len(seeds))):
            log.frames.append(frame)
    for _ in range(max_steps):
        start = time.perf_counter()
        action = policy.select_action(obs)
        latency = time.perf_counter() - start
        call = policy.last_call
        ticks = None if call.ticks is None else np.asarray(call.ticks, dtype=np.float64).reshape(-1)
        obs, _, terminated, truncated, info = env.step(action)
        actions = np.reshape(np.asarray(action, dtype=np.float64), (n_envs, ACTION_DIM))
        coverage = np.reshape(np.asarray(info["coverage"], dtype=np.float64), n_envs)
        agent_pos = np.reshape(obs["agent_pos"], (n_envs, 2))
        block_pose = _poses(info, "block_pose", n_envs)
        finished = np.reshape(np.logical_or(terminated, truncated), n_envs)
        frames = _render(env, len(seeds)) if video else None
        for i in np.flatnonzero(active):
            log = logs[i]
            log.actions.append(actions[i])
            log.coverage.append(float(coverage[i]))
            log.agent_pos.append(np.array(agent_pos[i]))
            log.block_pose.append(block_pose[i])
            log.model_called.append(bool(call.model_called))
            if call.model_called and ticks is not None:
                log.ticks.append(float(ticks[i if ticks.size == n_envs else 0]))
            if call.model_called and call.internals is not None:
                log.internals.append({k: v[i if len(v) == n_envs else 0] for k, v in call.internals.items()})
            log.latencies_s.append(latency)
            if frames is not None:
                log.frames.append(frames[i])
        active &= ~finished
        if not active.any():
            break
        if batched and finished.any():  # autoreset is disabled: a finished env must be reset before it steps again
            obs, _ = env.reset(options={"reset_mask": finished})
    return logs


def _poses(info: dict[str, Any], key: str, n_envs: int) -> np.ndarray:
    """A pose entry of gym-pusht's step info, [n_envs, 3] (x, y, angle), whether the env is batched or not."""
    return np.reshape(np.asarray(info[key], dtype=np.float64), (n_envs, 3))


def evaluate(
    policy: ActionSelector,
    track: str,
    seeds: Sequence[int],
    n_envs: int = 1,
    max_steps: int = 300,
    video_dir: Path | None = None,
    progress: bool = True,
    description: str = "eval",
    asynchronous: bool = False,
    num_threads: int | None = 1,
    record: bool = False,
    precision: str = "fp32",
) -> EvalResult:
    """Exactly ``len(seeds)`` episodes, the i-th reset with ``seeds[i]``; metrics per episode and summarised.

    ``asynchronous`` steps the ``n_envs`` envs in worker processes (only worth it when env stepping, not the
    policy, dominates); results are identical either way. ``num_threads`` fixes torch's intra-op threads while
    evaluating (``None`` leaves them): batch-1 calls of small models are fastest on one thread, and with more
    threads a busy machine's latency jumps 100-fold from OpenMP oversubscription. The torch RNG is seeded from
    each round's first seed (inside a fork, so the caller's RNG is untouched): sampling policies such as
    Diffusion Policy evaluate reproducibly. ``precision`` is the autocast precision of the policy's calls
    (:mod:`polibench.precision`).

    ``record`` also returns every episode step by step (:class:`EpisodeRecord`) and, for the duration, switches
    on ``policy.record_internals`` where the policy has it, so CTM policies record their per-call internals.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("evaluate needs at least one seed")
    if n_envs < 1 or max_steps < 1:
        raise ValueError(f"n_envs and max_steps must be >= 1, got {n_envs} and {max_steps}")
    track = get_track(track).name
    video = video_dir is not None
    n_envs = min(n_envs, len(seeds))
    render_mode = "rgb_array" if video else None
    env = make_env(track, render_mode) if n_envs == 1 else make_vector_env(track, n_envs, asynchronous, render_mode)
    writer = _VideoWriter(video_dir) if video else None
    per_episode: list[dict[str, Any]] = []
    step_latencies: list[np.ndarray] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn(), TextColumn("success {task.fields[success]}"))
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    episodes: list[EpisodeRecord] | None = [] if record else None
    internals_before = getattr(policy, "record_internals", None)
    if record and internals_before is not None:
        policy.record_internals = True
    try:
        with (Progress(*columns, disable=not progress) as bar, torch.random.fork_rng(devices=[]),
              autocast(getattr(policy, "device", "cpu"), precision)):
            task = bar.add_task(description, total=len(seeds), success="-")
            for start in range(0, len(seeds), n_envs):
                round_seeds = seeds[start : start + n_envs]
                torch.manual_seed(round_seeds[0])
                for j, log in enumerate(_run_round(policy, env, round_seeds, max_steps, video)):
                    index = start + j
                    metrics = episode_metrics(log.agent_pos, np.array(log.actions), log.coverage, log.model_called,
                                              log.ticks, log.latencies_s)
                    per_episode.append({"seed": round_seeds[j], "episode_index": index, **metrics})
                    step_latencies.append(np.array(log.latencies_s))
                    if episodes is not None:
                        episodes.append(log.to_record(round_seeds[j]))
                    if writer is not None:
                        writer.submit(f"episode_{index:04d}_seed{round_seeds[j]}", log.frames)
                rate = np.mean([row["success"] for row in per_episode])
                bar.update(task, advance=len(round_seeds), success=f"{rate:.0%}")
    finally:
        if internals_before is not None:
            policy.record_internals = internals_before
        torch.set_num_threads(previous_threads)
        env.close()
        if writer is not None:
            writer.close()
    summary = {**summarize(per_episode), **pooled_latency(step_latencies), "eval_batch": n_envs,
               "eval_threads": num_threads or previous_threads, "eval_precision": precision}
    config = {"seeds": seeds, "n_envs": n_envs, "max_steps": max_steps, "track": track}
    return EvalResult(per_episode, summary, config, episodes)


def _json_clean(obj: Any) -> Any:
    """NaN / inf -> None, so the files are standard JSON (null) that any reader accepts."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    return obj


def save_eval(result: EvalResult, out_dir: Path, extra: dict[str, Any] | None = None) -> None:
    """An evaluation written whole into ``out_dir``: ``episodes.jsonl`` (one row per episode), ``trajectories.npz``
    when the evaluation recorded its episodes (read back with :func:`load_episodes`), each of ``extra`` (file name
    -> JSON object, e.g. the command) and, last, ``metrics.json`` (summary + config).

    metrics.json marks a complete evaluation for every reader, so it is removed first and written last: a process
    killed in between leaves no metrics at all, never new metrics beside an older evaluation's episodes."""
    out_dir = Path(out_dir)
    (out_dir / METRICS_FILE).unlink(missing_ok=True)
    write_jsonl(out_dir / EPISODES_FILE, (_json_clean(row) for row in result.per_episode))
    if result.episodes is not None:
        save_episodes(result.episodes, out_dir / TRAJECTORIES_FILE)
    else:
        (out_dir / TRAJECTORIES_FILE).unlink(missing_ok=True)  # an older evaluation's
    for name, obj in (extra or {}).items():
        write_json(out_dir / name, obj)
    write_json(out_dir / METRICS_FILE, _json_clean({"summary": result.summary, "config": result.config}))


#: Recorded episodes in an evaluation directory. Keys: ``ep<i>.<field>`` and ``ep<i>.internals.<name>``.
TRAJECTORIES_FILE = "trajectories.npz"
_FIELDS = ("seed", "agent_pos", "block_pose", "goal_pose", "actions", "coverage", "call_steps", "ticks")


def save_episodes(episodes: Sequence[EpisodeRecord], path: Path) -> Path:
    """Write recorded episodes to one compressed ``.npz`` (atomically)."""
    arrays: dict[str, np.ndarray] = {}
    for i, ep in enumerate(episodes):
        arrays |= {f"ep{i}.{name}": np.asarray(getattr(ep, name)) for name in _FIELDS}
        arrays |= {f"ep{i}.internals.{name}": value for name, value in ep.internals.items()}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append ".npz" to a temporary name
            np.savez_compressed(fh, **arrays)

    return atomic_write(path, write)


def load_episodes(path: Path) -> list[EpisodeRecord]:
    """The episodes :func:`save_episodes` wrote, in their original order."""
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    count = len({key.split(".")[0] for key in arrays})
    episodes = []
    for i in range(count):
        prefix = f"ep{i}.internals."
        fields = {name: arrays[f"ep{i}.{name}"] for name in _FIELDS}
        internals = {key[len(prefix):]: value for key, value in arrays.items() if key.startswith(prefix)}
        episodes.append(EpisodeRecord(**{**fields, "seed": int(fields["seed"])}, internals=internals))
    return episodes
