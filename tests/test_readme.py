"""The README's component example is real code: registered as written, configured by its gin snippet, trained."""

from __future__ import annotations

import re
import sys

import torch

from polibench import registry
from polibench.config import parse
from polibench.data.windows import WindowSampler
from polibench.experiment import Experiment, build_policy
from polibench.normalize import minmax_stats
from polibench.policy import FeatureSpec
from polibench.tracks import TRACKS
from tests.conftest import REPO


def _blocks(lang: str) -> list[str]:
    """The README's fenced code blocks opened as ```<lang> (``""``: plain fences)."""
    blocks, current, opened = [], [], None
    for line in (REPO / "README.md").read_text().splitlines():
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence and opened is None:
            opened, current = fence.group(1), []
        elif fence:
            blocks += ["\n".join(current) + "\n"] if opened == lang else []
            opened = None
        elif opened is not None:
            current.append(line)
    return blocks


def test_the_readme_synapse_example_registers_configures_and_trains(small_data, monkeypatch, tmp_path):
    code = next(b for b in _blocks("python") if '@register("synapse", "my_synapse")' in b)
    gin_text = next(b for b in _blocks("") if "synapse.my_synapse" in b)
    monkeypatch.chdir(REPO)  # the snippet includes 'gin/ctm_act_unet.gin' relative to the checkout
    try:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
        (tmp_path / "my_experiment.gin").write_text(gin_text)
        parse([tmp_path / "my_experiment.gin"])
        policy = build_policy(Experiment(), FeatureSpec(TRACKS["keypoints"].obs_shapes, 2))
        assert type(policy.core.synapse).__name__ == "MySynapse"
        assert policy.core.synapse.net[0].out_features == 512  # the snippet's width binding reached it
        policy.normalizer.set_stats(minmax_stats({k: small_data.obs[k] for k in policy.spec.vector_keys}
                                                 | {"action": small_data.action}))
        sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
        batch = sampler.sample(4, torch.Generator().manual_seed(0))
        before = policy.core.synapse.net[0].weight.detach().clone()
        optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-3)
        policy.set_training_progress(10**6, 10**6)  # all ticks
        policy.compute_loss(batch)["loss"].backward()
        optimizer.step()
        assert not torch.equal(before, policy.core.synapse.net[0].weight)
    finally:
        registry._REGISTRY["synapse"].pop("my_synapse", None)
        sys.modules.pop("readme_example", None)
