"""The CTM-ACT Push-T study's parity configs: one recipe, one size (Diffusion Policy's parameter count)."""

from __future__ import annotations

from pathlib import Path

import gin
import pytest

from polibench.config import parse
from polibench.evaluation.config import CHECK_SEED0, EvalConfig
from polibench.policy import FeatureSpec
from polibench.settings import Experiment
from polibench.tracks import TRACKS
from polibench.training.config import TrainConfig

KEYPOINTS = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)
STUDY_GIN = Path(__file__).resolve().parents[1] / "studies" / "ctm_act_pusht" / "gin"
PARITY = ("parity_act", "parity_ctm_act", "parity_diffusion")


def build(name: str, *params: str):
    parse([STUDY_GIN / f"{name}.gin"], list(params))
    return Experiment().policy_factory(spec=KEYPOINTS)


def n_params(policy) -> int:
    return sum(p.numel() for p in policy.parameters())


def test_every_parity_policy_is_within_ten_percent_of_diffusion_policys_size():
    sizes = {name: n_params(build(name)) for name in PARITY}
    target = sizes["parity_diffusion"]
    assert target == 4_545_218  # gin/diffusion.gin's U-Net, which the long headline trained
    for name, size in sizes.items():
        assert abs(size - target) <= 0.1 * target, (name, size, target)


@pytest.mark.parametrize("name", PARITY)
def test_the_recipe_binds_the_same_training_and_history_for_every_policy(name):
    policy = build(name)
    cfg = TrainConfig()
    assert (cfg.steps, cfg.batch_size, cfg.warmup_steps, cfg.grad_clip) == (30000, 64, 300, 10.0)
    assert (cfg.precision, cfg.ema_decay, cfg.ema_power, cfg.num_threads) == ("fp32", 0.9999, 0.75, 1)
    assert (policy.n_obs_steps, policy.horizon, policy.n_action_steps) == (2, 16, 8)
    evaluation = EvalConfig()
    assert (evaluation.seed0, evaluation.episodes) == (CHECK_SEED0, 100), "screens evaluate on the check seeds"


def test_ctm_act_starts_from_the_size_matched_acts_whole_encoder():
    shapes = lambda policy: {k: v.shape for k, v in policy.state_dict().items() if k.startswith("encoder.")}  # noqa: E731
    assert shapes(build("parity_ctm_act")) == shapes(build("parity_act"))
    gin.clear_config()


def test_the_long_headlines_diffusion_runs_are_runs_of_the_parity_config(tmp_path):
    """Diffusion Policy's long-headline runs count as seeds of the parity headline: every binding their operative
    config holds is what parity_diffusion.gin with the headline evaluation binds (macros aside)."""
    from polibench.config import CONFIG_DIR, operative_config
    from report_gen.paper.configs import bindings

    parse([STUDY_GIN / "parity_diffusion.gin", CONFIG_DIR / "include" / "eval_headline.gin"], [])
    exp = Experiment()
    TrainConfig(), EvalConfig()
    exp.policy_factory(spec=KEYPOINTS)
    (tmp_path / "config.gin").write_text(operative_config())
    gin.clear_config()
    def settings(config: Path) -> dict[str, str]:
        return {k: v for k, v in bindings(config).items() if not k.isupper()}

    ours = settings(tmp_path / "config.gin")
    runs = sorted((STUDY_GIN.parent / "results" / "cpu" / "headline_long" / "variants" / "diffusion").glob("seed*"))
    assert len(runs) == 3 and len(ours) > 50
    for run in runs:
        theirs = settings(run / "config.gin")
        assert theirs == {**ours, "Experiment.seed": theirs["Experiment.seed"]}, run.name
