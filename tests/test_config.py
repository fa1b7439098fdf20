"""gin assembly: files, includes, overrides and the errors a typo gets."""

from __future__ import annotations

import logging

import pytest

from polibench.config import CONFIG_DIR, ConfigError, parse
from polibench.policy import FeatureSpec
from polibench.settings import Experiment, build_policy
from polibench.tracks import get_track
from polibench.training.config import TrainConfig
from tests.conftest import REPO

REPO_GIN = "gin/act.gin"


@pytest.fixture(autouse=True)
def _cwd_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def test_act_gin_assembles_with_includes():
    parse([REPO_GIN])
    exp = Experiment()
    assert exp.track == "keypoints"
    assert exp.policy_factory.__name__ == "ACTPolicy"
    assert TrainConfig().batch_size == 64


def test_a_shipped_config_named_by_a_relative_path_parses(monkeypatch):
    """`polibench run polibench/configs/act.gin` from the clone: the shipped folder is not put on the import path,
    where its include/ folder would shadow the includes gin resolves (it was, for a relative path)."""
    import sys

    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "path", list(sys.path))
    parse(["polibench/configs/act.gin"])
    assert TrainConfig().steps > 0 and str(CONFIG_DIR) not in sys.path


def test_gin_param_overrides_the_file():
    parse([REPO_GIN], ["polibench.TrainConfig.steps = 7", "policy.act.dim = 32"])
    assert TrainConfig().steps == 7
    import gin

    assert gin.query_parameter("policy.act.dim") == 32


def test_unknown_binding_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.gin"
    bad.write_text("polibench.TrainConfig.steps = 5\npolicy.act.dimm = 3\n")
    with pytest.raises(ConfigError) as err:
        parse([bad])
    msg = str(err.value)
    assert "dimm" in msg and "bad.gin" in msg and "2" in msg


def test_unknown_component_reference_is_reported(tmp_path):
    bad = tmp_path / "bad.gin"
    bad.write_text("polibench.Experiment.policy = @policy.actt\n")
    with pytest.raises(ConfigError, match="actt"):
        parse([bad])


def test_syntax_error_names_file_and_line(tmp_path):
    bad = tmp_path / "syntax.gin"
    bad.write_text("polibench.TrainConfig.steps = 5\npolibench.TrainConfig.lr = = 3\n")
    with pytest.raises(ConfigError) as err:
        parse([bad])
    assert "syntax.gin" in str(err.value) and "2" in str(err.value)


def test_folder_shadowing_an_include_is_named(tmp_path, monkeypatch):
    """A folder called ``include`` on sys.path (pip --target makes one) breaks gin's include lookup: say so."""
    (tmp_path / "include").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as err:
        parse([REPO_GIN])
    assert str(tmp_path / "include") in str(err.value) and "shadow" in str(err.value)


def test_missing_gin_file():
    with pytest.raises(ConfigError, match="not found"):
        parse(["gin/nope.gin"])


@pytest.mark.parametrize("binding", ["polibench.TrainConfig.steps = 0", "polibench.TrainConfig.batch_size = -4",
                                     "polibench.EvalConfig.episodes = 0"])
def test_non_positive_budgets_are_rejected(binding):
    from polibench.evaluation.config import EvalConfig

    parse([REPO_GIN], [binding])
    with pytest.raises(ValueError, match="must be > 0"):
        TrainConfig()
        EvalConfig()


CONFIGS = sorted(p.name for p in (CONFIG_DIR).glob("*.gin"))


@pytest.mark.parametrize("name", CONFIGS)
def test_every_shipped_config_builds_its_policy(name):
    """Each gin/*.gin parses and builds the policy it names with its track's features, so a typo or a stale
    binding in a config nobody trained lately fails here, not an hour into a sweep."""
    if name.startswith("lerobot_"):
        pytest.importorskip("lerobot", reason="LeRobot extra not installed")
    parse([f"gin/{name}"])
    exp = Experiment()
    track = get_track(exp.track)
    policy = build_policy(exp, FeatureSpec(dict(track.obs_shapes), 2))
    assert sum(p.numel() for p in policy.parameters()) > 0


def test_an_include_named_before_a_whole_config_is_warned_about(caplog):
    with caplog.at_level(logging.WARNING, logger="polibench.config"):
        parse(["act", "include/quick"])
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="polibench.config"):
        parse(["include/quick", "act"])
    assert "include/quick is given before act.gin" in caplog.text and "polibench run act include/quick" in caplog.text
