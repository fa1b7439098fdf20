"""The README's component example is real code, registered, configured and trained as the README says."""

from __future__ import annotations

import re
import sys

import pytest
import torch

from polibench import registry
from polibench.config import ConfigError, parse
from polibench.data.windows import WindowSampler
from polibench.normalize import data_stats
from polibench.policy import FeatureSpec
from polibench.settings import Experiment, build_policy
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


def test_the_readme_synapse_example_registers_configures_and_trains(small_data, tmp_path):
    """As the README says: the class in my_synapse.py beside my_experiment.gin, whose import line registers it."""
    code = next(b for b in _blocks("python") if '@register("synapse", "my_synapse")' in b)
    gin_text = next(b for b in _blocks("") if "synapse.my_synapse" in b)
    (tmp_path / "my_synapse.py").write_text(code)
    (tmp_path / "my_experiment.gin").write_text(gin_text)
    try:
        parse([tmp_path / "my_experiment.gin"])
        policy = build_policy(Experiment(), FeatureSpec(TRACKS["keypoints"].obs_shapes, 2))
        assert type(policy.core.synapse).__name__ == "MySynapse"
        assert policy.core.synapse.net[0].out_features == 512  # the snippet's width binding reached it
        policy.normalizer.set_stats(data_stats(small_data, policy.spec.vector_keys))
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
        sys.modules.pop("my_synapse", None)


def test_without_the_import_line_the_error_names_the_missing_module(tmp_path):
    gin_text = next(b for b in _blocks("") if "synapse.my_synapse" in b)
    unregistered = gin_text.replace("import my_synapse\n", "").replace("my_synapse", "never_imported_synapse")
    (tmp_path / "my_experiment.gin").write_text(unregistered)  # (gin keeps names the test above registered)
    with pytest.raises(ConfigError, match="no module registered synapse 'never_imported_synapse'.*import"):
        parse([tmp_path / "my_experiment.gin"])


def test_the_readme_is_a_front_door():
    """At most ~250 lines, starting with the install and test commands."""
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    first = _blocks("bash")[0].splitlines()
    assert first[0].startswith("pip install") and first[1].startswith("python -m pytest")
