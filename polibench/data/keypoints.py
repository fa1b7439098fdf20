"""gym-pusht's 8 T keypoints computed exactly from a recorded block pose (x, y, angle).

gym-pusht returns, for ``environment_state``, the vertices of the T's two boxes rotated by the block angle and
shifted by the block position (the body origin), flattened as [x0, y0, x1, y1, ...]. The vertex order is whatever
pymunk's ``Poly.get_vertices`` returns (pymunk reorders them into its own winding), so the local vertices are
read from gym-pusht's own T rather than written down here.
"""

from __future__ import annotations

from functools import cache

import numpy as np


@cache
def t_local_vertices() -> np.ndarray:
    """The T's 8 local vertices [8, 2] in the order gym-pusht's ``get_keypoints`` emits them."""
    import pymunk
    from gym_pusht.envs.pusht import PushTEnv

    _, shapes = PushTEnv.add_tee(pymunk.Space(), (0, 0), 0)
    return np.array([tuple(v) for shape in shapes for v in shape.get_vertices()], dtype=np.float64)


def keypoints_from_pose(pose: np.ndarray) -> np.ndarray:
    """Keypoints [..., 16] (float32) from block poses [..., 3] = (x, y, angle in rad)."""
    pose = np.asarray(pose, dtype=np.float64)
    local = t_local_vertices()
    cos, sin = np.cos(pose[..., 2:3]), np.sin(pose[..., 2:3])
    x = cos * local[:, 0] - sin * local[:, 1] + pose[..., 0:1]
    y = sin * local[:, 0] + cos * local[:, 1] + pose[..., 1:2]
    return np.stack([x, y], axis=-1).reshape(*pose.shape[:-1], 16).astype(np.float32)
