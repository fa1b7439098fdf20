"""Frames of recorded states rendered by gym-pusht itself (``render_mode="rgb_array"``).

A recording keeps states, not images: any step can be rendered afterwards, exactly, by placing a fresh env in the
recorded state (``polibench.evaluation.env.set_exact_state``). That keeps ``evaluate(record=True)`` light.
"""

from __future__ import annotations

import numpy as np

from polibench.evaluation.env import make_env, set_exact_state


def render_states(agent_pos: np.ndarray, block_pose: np.ndarray, stride: int = 2) -> list[np.ndarray]:
    """RGB frames [H, W, 3] (gym-pusht's 680 px render, every ``stride``-th pixel) of states [n, 2] and [n, 3]."""
    env = make_env("keypoints", render_mode="rgb_array")
    try:
        frames = []
        for agent, block in zip(np.asarray(agent_pos), np.asarray(block_pose)):
            set_exact_state(env, np.concatenate([agent, block]))
            base = env.unwrapped
            for body in (base.agent, base.block):  # pymunk draws cached world shapes, updated only by a step
                base.space.reindex_shapes_for_body(body)
            frames.append(np.ascontiguousarray(env.render()[::stride, ::stride]))
        return frames
    finally:
        env.close()
