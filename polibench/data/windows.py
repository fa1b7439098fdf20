"""Episode-aware training windows: observation history and action chunk around an anchor frame.

Every frame is an anchor. Offsets that fall outside the anchor's episode are clamped to its first or last frame
and flagged in ``obs_is_pad`` / ``action_is_pad`` so losses can ignore them (as LeRobot and Diffusion Policy do).
All gathering is vectorised on tensors held in memory: the Push-T keypoints set is a few MB.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from polibench.data.episodes import EpisodeData


class WindowSampler:
    """Random batches of windows from :class:`EpisodeData`."""

    def __init__(
        self,
        data: EpisodeData,
        obs_offsets: Sequence[int],
        action_offsets: Sequence[int],
        device: torch.device | str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.obs = {k: torch.as_tensor(v, device=self.device) for k, v in data.obs.items()}
        self.action = torch.as_tensor(data.action, device=self.device, dtype=torch.float32)
        episode = np.repeat(np.arange(data.n_episodes), np.diff(np.concatenate([[0], data.episode_ends])))
        self.first = torch.as_tensor(data.episode_starts[episode], device=self.device)
        self.last = torch.as_tensor(data.episode_ends[episode] - 1, device=self.device)
        self.obs_offsets = torch.as_tensor(list(obs_offsets), device=self.device)
        self.action_offsets = torch.as_tensor(list(action_offsets), device=self.device)

    def __len__(self) -> int:
        return len(self.action)

    def _gather(self, anchors: torch.Tensor, offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw = anchors[:, None] + offsets[None, :]
        first, last = self.first[anchors][:, None], self.last[anchors][:, None]
        return raw.clamp(first, last), (raw < first) | (raw > last)

    def get(self, anchors: torch.Tensor) -> dict[str, torch.Tensor]:
        """Windows at the given anchor frames: obs [B, n_obs, ...], action [B, horizon, A] and padding masks."""
        anchors = anchors.to(self.device)
        obs_idx, obs_pad = self._gather(anchors, self.obs_offsets)
        act_idx, act_pad = self._gather(anchors, self.action_offsets)
        batch = {k: v[obs_idx] for k, v in self.obs.items()}
        batch["action"] = self.action[act_idx]
        batch["obs_is_pad"] = obs_pad
        batch["action_is_pad"] = act_pad
        return batch

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """A batch of uniformly drawn anchors; ``generator`` (CPU) makes the draw reproducible and resumable."""
        anchors = torch.randint(len(self), (batch_size,), generator=generator)
        return self.get(anchors)

    def sequence_anchors(self, n_sequences: int, length: int, stride: int,
                         generator: torch.Generator) -> torch.Tensor:
        """[n_sequences, length] anchor frames, ``stride`` apart within one episode (what a policy called every
        ``stride`` steps sees). A uniformly drawn frame starts each run, moved back where the run would leave its
        episode (an episode shorter than the run repeats its last frame)."""
        if length < 1 or stride < 1:
            raise ValueError(f"sequences need length >= 1 and stride >= 1, got {length} and {stride}")
        drawn = torch.randint(len(self), (n_sequences,), generator=generator).to(self.device)
        start = torch.maximum(torch.minimum(drawn, self.last[drawn] - (length - 1) * stride), self.first[drawn])
        anchors = start[:, None] + stride * torch.arange(length, device=self.device)[None, :]
        return torch.minimum(anchors, self.last[start][:, None])

    def sample_sequences(self, n_sequences: int, length: int, stride: int,
                         generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The windows of :meth:`sequence_anchors`, flattened sequence-major: window k of run i is row
        ``i * length + k``."""
        return self.get(self.sequence_anchors(n_sequences, length, stride, generator).reshape(-1))
