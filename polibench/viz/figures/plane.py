"""Drawing in Push-T's 512 x 512 plane: the T at a pose, the agent disc, the goal; y points down as in gym-pusht's
rendering (pymunk coordinates are drawn unflipped), so plots and rendered frames agree."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Circle, Polygon

from polibench.data.keypoints import keypoints_from_pose
from polibench.viz.figures.style import GOAL_COLOUR

PLANE_SIZE = 512.0
AGENT_RADIUS = 15.0  # gym-pusht's agent circle


def t_boxes(pose: np.ndarray) -> list[np.ndarray]:
    """The T's two boxes [4, 2] each at a block pose (x, y, angle): gym-pusht's 8 keypoints are their vertices."""
    vertices = keypoints_from_pose(np.asarray(pose)).reshape(8, 2)
    return [vertices[:4], vertices[4:]]


def draw_t(ax: Axes, pose: np.ndarray, **style) -> None:
    """The T at ``pose``, both boxes drawn with the same matplotlib patch style."""
    for box in t_boxes(pose):
        ax.add_patch(Polygon(box, closed=True, **style))


def draw_goal(ax: Axes, goal_pose: np.ndarray) -> None:
    draw_t(ax, goal_pose, facecolor=GOAL_COLOUR, edgecolor="none", alpha=0.6, zorder=0)


def draw_agent(ax: Axes, pos: np.ndarray, **style) -> None:
    ax.add_patch(Circle(tuple(np.asarray(pos)[:2]), AGENT_RADIUS, **style))


def setup_plane(ax: Axes) -> None:
    """Square axes over the whole plane, y down, no ticks."""
    ax.set_xlim(0, PLANE_SIZE)
    ax.set_ylim(PLANE_SIZE, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
