"""`polibench ablate`: a tiny real sweep (ACT's vector encoder, 2 values x 2 training seeds), its results files,
resume, clear errors, tie marking, axis resolution, and the Ray executor agreeing with the local one."""

from __future__ import annotations

import inspect
import json

import pytest
import torch

from polibench import registry
from polibench.cli import EXIT_USER_ERROR, main
from polibench.config import CONFIG_DIR
from polibench.policy import FeatureSpec, Policy
from polibench.slots import ComponentSlot
from polibench.sweep.aggregate import to_markdown, variant_stats
from polibench.sweep.axes import load_base, resolve, split_values
from polibench.tracks import TRACKS
from tests.tiny_run import TINY

VARIANTS = ("state_token", "mlp_token")
#: Per-episode fields that depend only on the weights and the seeds (latencies are wall time).
DETERMINISTIC = ("success", "max_coverage", "max_reward", "jerk", "action_change", "n_steps", "model_calls")

pytestmark = pytest.mark.usefixtures("data_env")


def ablate_cli(out, *extra: str, seeds: int = 2) -> int:
    args = ["ablate", "--axis", "encoder", "--values", ",".join(VARIANTS), "--base", str(CONFIG_DIR / "act.gin"),
            "--seeds", str(seeds), "--out", str(out), "--no-progress"]
    for binding in TINY:
        args += ["--gin_param", binding]
    return main(args + list(extra))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "encoder"
    assert ablate_cli(out) == 0
    return out


def episodes(run_dir):
    return [json.loads(x) for x in (run_dir / "eval" / "episodes.jsonl").read_text().splitlines()]


def test_sweep_writes_runs_and_results(sweep):
    for name in VARIANTS:
        for seed in (0, 1):
            run = sweep / "variants" / name / f"seed{seed}"
            assert (run / "eval" / "metrics.json").exists()
            assert json.loads((run / "run.json").read_text())["seed"] == seed
            assert f"@encoder.{name}" in (run / "config.gin").read_text()
    record = json.loads((sweep / "sweep.json").read_text())
    assert record["command"].startswith("polibench ablate --axis encoder") and record["target"] == "policy.act.encoders"
    assert set(record["variants"]) == set(VARIANTS)
    # recorded relative to the repository, so a committed sweep resumes from any checkout location
    assert all(v["gin_files"] == ["gin/act.gin"] for v in record["variants"].values())

    results = json.loads((sweep / "results.json").read_text())
    assert [v["name"] for v in results["variants"]] == list(VARIANTS)
    for v in results["variants"]:
        assert v["n_seeds"] == 2 and v["n_episodes"] == 4
        cov = v["metrics"]["avg_max_coverage"]
        assert cov["ci_low"] <= cov["mean"] <= cov["ci_high"] and len(cov["seed_means"]) == 2
        assert cov["mean"] == pytest.approx(sum(cov["seed_means"]) / 2)  # equal episodes per seed
        assert "vs_best" not in v["metrics"]["avg_max_reward"]  # better and worse: polibench verdicts only
    csv_lines = (sweep / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("variant,metric,mean,ci_low,ci_high") and len(csv_lines) > 2 * 5
    markdown = (sweep / "results.md").read_text()
    assert all(f"| {name} | 2 x 2 |" in markdown for name in VARIANTS) and "avg max reward per seed" in markdown
    assert (sweep / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_redoes_only_the_unfinished_run(sweep):
    """Rerunning the command skips finished runs; the one whose evaluation is missing is re-evaluated (in a
    process pool: the worker parses its own gin config), to the same numbers."""
    metrics = {p: p.stat().st_mtime_ns for p in sweep.glob("variants/*/seed*/eval/metrics.json")}
    redo = sweep / "variants" / "mlp_token" / "seed1"
    before = episodes(redo)
    (redo / "eval" / "metrics.json").unlink()
    assert ablate_cli(sweep, "--workers", "2") == 0
    after = {p: p.stat().st_mtime_ns for p in sweep.glob("variants/*/seed*/eval/metrics.json")}
    assert after.keys() == metrics.keys()
    assert {p for p in after if after[p] != metrics[p]} == {redo / "eval" / "metrics.json"}
    assert [[e[k] for k in DETERMINISTIC] for e in episodes(redo)] == [[e[k] for k in DETERMINISTIC] for e in before]


def test_finished_only_gathers_the_finished_runs_as_partial_results(sweep, tmp_path, capsys):
    """A sweep that spans sessions: --finished-only trains nothing, gathers the finished runs (variants with
    fewer seeds so far included) and says which runs are still to come."""
    import shutil

    copy = tmp_path / "encoder"
    shutil.copytree(sweep, copy)
    shutil.rmtree(copy / "variants" / "mlp_token" / "seed1")
    (copy / "results.json").unlink()
    assert ablate_cli(copy, "--finished-only") == 0
    assert not (copy / "variants" / "mlp_token" / "seed1").exists()  # nothing trained
    results = json.loads((copy / "results.json").read_text())
    assert results["missing"] == ["mlp_token/seed1"]
    assert {v["name"]: v["n_seeds"] for v in results["variants"]} == {"state_token": 2, "mlp_token": 1}
    markdown = (copy / "results.md").read_text()
    assert "**Partial**" in markdown and "mlp_token/seed1" in markdown and "| mlp_token | 1 x 2 |" in markdown
    shutil.rmtree(copy / "variants")
    assert ablate_cli(copy, "--finished-only") == EXIT_USER_ERROR
    assert "no finished run yet" in capsys.readouterr().err


def test_sweep_refuses_other_bindings(sweep, capsys):
    assert ablate_cli(sweep, "--gin_param", "polibench.TrainConfig.steps = 13") == EXIT_USER_ERROR
    assert "other gin files or bindings" in capsys.readouterr().err


def test_included_files_follow_every_variant_config(tmp_path):
    """--include parses a gin file after each whole config of a policy sweep (a budget or an evaluation protocol),
    and sweep.json records it per variant and in the command, so rerunning the recorded command resumes."""
    protocol = tmp_path / "protocol.gin"
    protocol.write_text("polibench.EvalConfig.seed0 = 4242\n")
    out = tmp_path / "policies"
    args = ["ablate", "--axis", "policy", "--values", str(CONFIG_DIR / "act.gin"), "--include", str(protocol),
            "--out", str(out), "--no-progress"]
    for binding in TINY:
        args += ["--gin_param", binding]
    assert main(args) == 0
    assert json.loads((out / "variants" / "act" / "seed0" / "run.json").read_text())["eval_seeds"][:2] == [4242, 4243]
    record = json.loads((out / "sweep.json").read_text())
    assert record["variants"]["act"]["gin_files"] == ["gin/act.gin", str(protocol)]
    assert f"--include {protocol}" in record["command"]
    assert json.loads((out / "results.json").read_text())["include"] == [str(protocol)]


@pytest.mark.parametrize("argv, message", [
    (["--axis", "ticks", "--include", "gin/include/no_such_budget.gin"],
     "--include: gin file not found: gin/include/no_such_budget.gin"),
    (["--axis", "synaps"], "Did you mean 'synapse'? Valid axes: policy, backbone, encoder"),
    (["--axis", "encoder", "--values", "state_token,mlp_tokn"],
     "Registered encoder components: image_tokens, mlp_token, state_token"),
    (["--axis", "synapse", "--base", str(CONFIG_DIR / "act.gin")],
     "builds no synapse. Its component parameters: polibench.Experiment.data_source (data_source), policy.act.encoders"),
    (["--axis", "policy.ctm_act.tick", "--values", "1,5"], "Did you mean 'policy.ctm_act.ticks'?"),
])
def test_unknown_axis_or_value_is_a_clear_error(tmp_path, capsys, argv, message):
    base = ["--base", str(CONFIG_DIR / "ctm_act_unet.gin")]
    assert main(["ablate", *base, *argv, "--out", str(tmp_path / "sweep"), "--no-progress"]) == EXIT_USER_ERROR
    assert message in capsys.readouterr().err.replace("\n", " ")
    assert not (tmp_path / "sweep").exists()


def test_axis_resolution_finds_the_binding_of_each_kind():
    ctm = load_base([CONFIG_DIR / "ctm_act_unet.gin"], [])
    synapse = resolve("synapse", None, ctm)
    assert synapse.target == "policy.ctm_act.synapse"
    assert [v.gin_params for v in synapse.variants] == [(f"policy.ctm_act.synapse = @synapse.{n}",)
                                                        for n in ("mlp", "tick_sync", "unet")]
    assert resolve("pairing", ["first_last"], ctm).variants[0].gin_params == (
        "policy.ctm_act.pairing = @pairing.first_last()",)  # an instance stays an instance
    ticks = resolve("policy.ctm_act.ticks", split_values("1,5,10"), ctm)
    assert [v.name for v in ticks.variants] == ["1", "5", "10"]
    assert ticks.variants[2].gin_params == ("policy.ctm_act.ticks = 10",)
    assert resolve("loss", ["ctm_tick+kl"], ctm).variants[0].gin_params == (
        "policy.ctm_act.losses = [@loss.ctm_tick(), @loss.kl()]",)
    policies = resolve("policy", ["act", "diffusion", "ctm_act"], ctm)
    assert [v.gin_files[0].rsplit("/", 1)[1] for v in policies.variants] == ["act.gin", "diffusion.gin",
                                                                               "ctm_act_unet.gin"]
    diffusion = load_base([CONFIG_DIR / "diffusion.gin"], [])
    assert resolve("scheduler", None, diffusion).target == "policy.diffusion.noise_scheduler"
    pixels = load_base([CONFIG_DIR / "act.gin"], ["polibench.Experiment.track = 'pixels'"])
    assert resolve("backbone", None, pixels).target == "encoder.image_tokens.backbone"  # its image encoder's
    assert resolve("encoder", ["mlp_token"], pixels).variants[0].gin_params == (
        "policy.act.encoders = {'agent_pos': @encoder.mlp_token}",)  # vector entries only
    assert split_values("(64, 128),(32,64)") == ["(64, 128)", "(32,64)"]


#: Small sizes, so every policy builds in a moment.
SMALL = {"act": dict(dim=32, ff_dim=64, encoder_layers=1, vae_layers=1, horizon=8),
         "ctm_act": dict(dim=32, ff_dim=64, encoder_layers=1, vae_layers=1, horizon=8, neurons=32, memory=4,
                         action_pairs=16, out_pairs=16),
         "diffusion": dict(), "mlp_chunk": dict(hidden=32)}


@pytest.mark.parametrize("policy", sorted(SMALL))
def test_declared_slots_are_what_the_policy_builds(policy):
    """A policy left at its defaults builds the same model as one given each declared slot's default: ``SLOTS``
    says what the sweep's kind axes replace."""
    cls = registry.get("policy", policy)
    spec = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)
    given = {param: slot.build(None, spec.vector_keys) for param, slot in cls.SLOTS.items() if "." not in param}
    assert set(given) <= set(inspect.signature(cls).parameters)
    torch.manual_seed(0)
    default = cls(spec, **SMALL[policy])
    torch.manual_seed(0)
    explicit = cls(spec, **SMALL[policy], **given)
    assert [type(t) for t in default.losses] == [type(t) for t in explicit.losses]
    a, b = default.state_dict(), explicit.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_a_plugin_policy_is_swept_by_the_kinds_it_declares(tmp_path):
    @registry.register("policy", "test_slotted_policy")
    class SlottedPolicy(Policy):
        """A policy from outside polibench with one synapse parameter, declared as a slot."""

        SLOTS = {"mixer": ComponentSlot("synapse", "unet")}

        def __init__(self, spec: FeatureSpec, mixer=None) -> None:
            super().__init__(spec, losses=[registry.create("loss", "l1_chunk")])
            self.mixer = self.SLOTS["mixer"].build(mixer)

    config = tmp_path / "plugin.gin"
    config.write_text("polibench.Experiment.policy = @policy.test_slotted_policy\n"
                      "polibench.Experiment.data_source = @data_source.pusht_zarr()\n")
    base = load_base([config], [])
    axis = resolve("synapse", None, base)
    assert axis.target == "policy.test_slotted_policy.mixer"
    assert [v.gin_params for v in axis.variants] == [(f"policy.test_slotted_policy.mixer = @synapse.{n}",)
                                                     for n in registry.names("synapse")]


def test_variant_stats_pool_the_episodes_of_every_seed():
    seeds = [[{"max_reward": 1.0}, {"max_reward": 0.0}], [{"max_reward": 0.5}, {"max_reward": 0.5}]]
    pooled = variant_stats(seeds)["avg_max_reward"]
    assert pooled["mean"] == 0.5 and pooled["n"] == 4 and pooled["seed_means"] == [0.5, 0.5]

    stats = {"a": {"avg_max_reward": {"mean": 0.60, "ci_low": 0.50, "ci_high": 0.70}},
             "b": {"avg_max_reward": {"mean": 0.20, "ci_low": 0.10, "ci_high": 0.30}}}
    results = {"axis": "x", "target": "x", "base": "b", "seeds": [0],
               "variants": [{"name": v, "n_seeds": 1, "n_episodes": 1, "metrics": stats[v]} for v in "ab"]}
    markdown = to_markdown(results)
    assert "| a | 1 x 1 | 0.600 [0.500, 0.700]" in markdown and "| b | 1 x 1 | 0.200 [0.100, 0.300]" in markdown
    assert "**" not in markdown and "polibench verdicts" in markdown  # intervals shown, nothing decided here


def test_ray_executor_gives_the_local_metrics(sweep, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (optional extra: pip install 'polibench[ray]')")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        assert ablate_cli(tmp_path / "ray", "--executor", "ray", seeds=1) == 0
    finally:
        ray.shutdown()
    for name in VARIANTS:
        local, remote = (episodes(d / "variants" / name / "seed0") for d in (sweep, tmp_path / "ray"))
        assert [[e[k] for k in DETERMINISTIC] for e in remote] == [[e[k] for k in DETERMINISTIC] for e in local]
