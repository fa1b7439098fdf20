"""Recording episodes through the evaluation harness, the run-level figures and `polibench viz`, on tiny real runs."""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import polibench
from polibench import registry
from polibench.cli import main
from polibench.config import CONFIG_DIR
from polibench.evaluation.rollout import evaluate, load_episodes, save_eval
from polibench.normalize import minmax_stats
from polibench.policy import FeatureSpec, Policy
from polibench.rundir import RunDirError
from polibench.tracks import TRACKS
from polibench.viz.figures.attention import attention_figure, attention_grid_figure, column_weights, token_layout
from polibench.viz.figures.halting import ticks_by_difficulty_figure
from polibench.viz.figures.save import png_bytes
from polibench.viz.figures.ticks import chosen_tick, default_calls, is_gated, sync_events, tick_traces_figure
from polibench.viz.figures.trajectories import save_rollout_gif, trajectory_comparison_figure
from polibench.viz.run import record_run, viz_run
from tests.test_rollout import ChunkedPusher
from tests.tiny_run import TINY

BUDGET = [b for b in TINY if not b.startswith("policy.act.")]
ACT_TINY = [b for b in TINY if b.startswith("policy.act.")]
CTM_TINY = ["policy.ctm_act.dim = 32", "policy.ctm_act.ff_dim = 64", "policy.ctm_act.encoder_layers = 1",
            "policy.ctm_act.vae_layers = 1", "policy.ctm_act.neurons = 32", "policy.ctm_act.memory = 4",
            "policy.ctm_act.ticks = 4", "policy.ctm_act.action_pairs = 8", "policy.ctm_act.out_pairs = 16",
            "policy.ctm_act.gating = @gating.sigmoid", "gating.sigmoid.groups = 4"]
SEEDS = [100000, 100001, 100002]
PNG = b"\x89PNG\r\n\x1a\n"
#: Per-episode fields that depend only on the weights and the seeds (latencies are wall time).
DETERMINISTIC = ("success", "max_coverage", "jerk", "action_change", "chunk_jump", "n_steps", "model_calls",
                 "ticks_per_call")


def tiny_run(gin_file: str, out: Path, bindings: list[str]) -> Path:
    """A tiny but real `polibench run` (seconds): the CTM-ACT one uses sigmoid gating, so gates vary by group."""
    args = ["run", str(CONFIG_DIR / gin_file), "--out", str(out), "--no-progress"]
    for binding in [*BUDGET, *bindings]:
        args += ["--gin_param", binding]
    assert main(args) == 0
    return out


def make_tiny_runs(root: Path) -> tuple[Path, Path]:
    """(CTM-ACT run, ACT run) under ``root``."""
    return tiny_run("ctm_act_unet.gin", root / "ctm", CTM_TINY), tiny_run("act.gin", root / "act", ACT_TINY)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Trained on the default data ($POLIBENCH_PUSHT_ZARR, else the embedded demonstrations): no download."""
    return make_tiny_runs(tmp_path_factory.mktemp("viz_runs"))


@pytest.fixture(scope="module")
def ctm_recorded(runs):
    policy = polibench.load_policy(runs[0])
    return policy, evaluate(policy, policy.track, SEEDS, n_envs=2, max_steps=40, progress=False, record=True)


def test_recording_has_one_internals_record_per_model_call(ctm_recorded):
    policy, result = ctm_recorded
    assert not policy.record_internals  # switched on for the recording only
    assert [ep.seed for ep in result.episodes] == SEEDS
    for ep, row in zip(result.episodes, result.per_episode):
        n, calls = row["n_steps"], row["model_calls"]
        assert ep.agent_pos.shape == (n + 1, 2) and ep.block_pose.shape == (n + 1, 3) and ep.goal_pose.shape == (3,)
        assert ep.actions.shape == (n, 2) and ep.coverage.shape == (n,)
        assert ep.call_steps.tolist() == list(range(0, n, policy.n_action_steps)) and len(ep.ticks) == calls
        assert all(value.shape[0] == calls for value in ep.internals.values())
        np.testing.assert_array_equal(ep.internals["ticks_used"], ep.ticks)  # CallInfo.ticks of the same calls
        assert np.mean(ep.ticks) == pytest.approx(row["ticks_per_call"])
        t = ep.internals["certainty"].shape[1]
        assert t <= policy.max_ticks and ep.internals["attention"].shape[1:3] == (t, 4)
        assert ep.internals["post_activations"].shape[1:] == (t, 32) and ep.internals["gates"].shape[1:] == (t, 4)
        np.testing.assert_allclose(ep.internals["actions"][0, 0], ep.actions[0], rtol=1e-5)  # the executed chunk


def test_policy_internals_follow_the_flag(runs):
    policy = polibench.load_policy(runs[0])
    obs = {"agent_pos": np.array([200.0, 300.0]), "environment_state": np.full(16, 250.0)}
    policy.reset()
    policy.select_action(obs)
    assert policy.last_call.model_called and policy.last_call.internals is None
    policy.record_internals = True
    policy.reset()
    policy.select_action(obs)
    internals = policy.last_call.internals
    assert internals["ticks_used"].tolist() == policy.last_call.ticks.tolist()
    assert internals["attention"].shape[0] == 1


def test_recording_leaves_results_unchanged(ctm_recorded):
    policy, recorded = ctm_recorded
    plain = evaluate(policy, policy.track, SEEDS, n_envs=2, max_steps=40, progress=False)
    assert plain.episodes is None
    for a, b in zip(plain.per_episode, recorded.per_episode):
        assert {k: a[k] for k in DETERMINISTIC} == pytest.approx({k: b[k] for k in DETERMINISTIC}, rel=1e-6)
    scripted = [evaluate(ChunkedPusher(), "keypoints", SEEDS, max_steps=30, progress=False, record=r) for r in (0, 1)]
    assert [{k: row[k] for k in DETERMINISTIC} for row in scripted[0].per_episode] == \
           [{k: row[k] for k in DETERMINISTIC} for row in scripted[1].per_episode]
    assert scripted[1].episodes[0].internals == {} and len(scripted[1].episodes[0].ticks) == 8  # 30 steps / 4


def test_saved_trajectories_round_trip(ctm_recorded, tmp_path):
    _, result = ctm_recorded
    save_eval(result, tmp_path / "recorded")
    loaded = load_episodes(tmp_path / "recorded" / "trajectories.npz")
    assert len(loaded) == len(result.episodes)
    for ep, back in zip(result.episodes, loaded):
        assert back.seed == ep.seed and back.internals.keys() == ep.internals.keys()
        np.testing.assert_array_equal(back.block_pose, ep.block_pose)
        for key, value in ep.internals.items():
            np.testing.assert_array_equal(back.internals[key], value)
    plain = evaluate(ChunkedPusher(), "keypoints", SEEDS[:1], max_steps=5, progress=False)
    save_eval(plain, tmp_path / "plain")
    assert not (tmp_path / "plain" / "trajectories.npz").exists()


def test_every_figure_renders_from_a_tiny_real_run(ctm_recorded, runs, tmp_path):
    policy, result = ctm_recorded
    episode = result.episodes[0]
    act = record_run(runs[1], SEEDS[:2], max_steps=40)
    figures = [
        tick_traces_figure(episode, halt_threshold=0.9),
        attention_figure(episode, token_layout(policy)),
        ticks_by_difficulty_figure(result.per_episode, policy.max_ticks),
        trajectory_comparison_figure({"ctm": result.episodes, "act": act.episodes},
                                     {"ctm": result.per_episode, "act": act.result.per_episode},
                                     {"ctm": "red", "act": "blue"}),
    ]
    for fig in figures:
        data = png_bytes(fig)
        assert data.startswith(PNG) and len(data) > 10_000
    gif = save_rollout_gif({"ctm": episode, "act": act.episodes[0]}, tmp_path / "rollouts.gif")
    assert gif.read_bytes()[:6] == b"GIF89a"
    with pytest.raises(ValueError, match="CTM-ACT"):
        tick_traces_figure(act.episodes[0])


def untrained_ctm(track: str, **kwargs) -> Policy:
    """A tiny CTM-ACT straight from the registry (no training: the figures need its internals, not its skill),
    normalised over the whole 512 x 512 plane."""
    spec = FeatureSpec(TRACKS[track].obs_shapes, 2)
    policy = registry.create("policy", "ctm_act", spec=spec, horizon=8, n_action_steps=4, temporal_ensemble_coeff=None,
                             dim=32, ff_dim=64, encoder_layers=1, vae_layers=1, neurons=32, memory=4, ticks=3,
                             action_pairs=8, out_pairs=16, **kwargs)
    corners = np.array([[0.0, 0.0], [512.0, 512.0]])
    stats = {"agent_pos": corners, "action": corners} | (
        {"environment_state": np.tile(corners, 8)} if track == "keypoints" else {})
    policy.normalizer.set_stats(minmax_stats(stats))
    return policy


def test_attention_heatmaps_name_the_keypoint_tokens(ctm_recorded):
    policy, result = ctm_recorded
    layout = token_layout(policy)
    assert [label for label, _ in layout.columns()] == ["latent", "agent", "block"]
    episode = result.episodes[0]
    weights = column_weights(episode.internals["attention"], layout)  # [calls, T, tokens]
    ran = ~np.isnan(weights[..., 0])
    np.testing.assert_allclose(weights.sum(axis=-1)[ran], 1.0, rtol=1e-5)  # a tick's attention sums to 1
    assert ran.sum() == episode.ticks.sum()  # one row per tick each call ran
    fig = attention_figure(episode, layout)
    heatmaps = [ax for ax in fig.axes if ax.get_title().startswith("step ")]
    assert len(heatmaps) == len(default_calls(episode))
    assert [t.get_text() for t in heatmaps[0].get_xticklabels()] == ["latent", "agent", "block"]


def test_attention_over_image_tokens_on_the_pixels_track():
    """Untrained tiny CTM-ACT on pixels: image tokens form the backbone's feature-map grid over the frame."""
    policy = untrained_ctm("pixels")
    layout = token_layout(policy)
    key, h, w = layout.grid
    assert key == "pixels" and layout.slices["pixels"].stop - layout.slices["pixels"].start == h * w
    assert [label for label, _ in layout.columns()] == ["latent", "agent", "image"]
    result = evaluate(policy, "pixels", SEEDS[:1], max_steps=8, progress=False, record=True)
    assert result.episodes[0].internals["attention"].shape[-1] == layout.n_tokens
    assert png_bytes(attention_figure(result.episodes[0], layout)).startswith(PNG)
    assert png_bytes(attention_grid_figure(result.episodes[0], layout)).startswith(PNG)


GATINGS = {"none": {}, "sigmoid": {"groups": 4}, "threshold": {"groups": 4}, "topk": {"groups": 4, "k": 2}}


@pytest.mark.parametrize("gating", GATINGS)
def test_ticks_figure_draws_gates_only_for_a_gated_core(gating):
    """An ungated core has one always-open group: no gate panel, no synchronisation events, and the title says so."""
    factory = functools.partial(registry.get("gating", gating), **GATINGS[gating])
    policy = untrained_ctm("keypoints", gating=factory)
    episode = evaluate(policy, "keypoints", SEEDS[:1], max_steps=16, progress=False, record=True).episodes[0]
    gated = gating != "none"
    assert is_gated(episode.internals["gates"]) == gated
    fig = tick_traces_figure(episode, halt_threshold=0.9)
    gate_panels = [ax for ax in fig.axes if ax.get_ylabel().startswith("gate")]
    assert bool(gate_panels) == gated
    assert ("ungated core" in fig.get_suptitle()) != gated
    assert png_bytes(fig).startswith(PNG)


def test_default_calls_prefer_calls_that_ran_more_than_one_tick(ctm_recorded):
    n = 12
    ticks = np.ones(n)
    ticks[[1, 3, 4, 9, 10]] = 4
    episode = dataclasses.replace(ctm_recorded[1].episodes[0], call_steps=np.arange(n) * 3, ticks=ticks)
    assert default_calls(episode) == [1, 3, 9, 10]  # spread over the five that thought, ends included
    assert default_calls(dataclasses.replace(episode, ticks=np.ones(n))) == [0, 4, 7, 11]  # too few: over all


def test_default_calls_skip_the_repeats_of_a_stalled_agent(ctm_recorded):
    """Once agent and block stop moving every call sees the same observation and repeats the first one."""
    n = 12
    recorded = ctm_recorded[1].episodes[0]
    steps = np.arange(n) * 3
    agent, block = recorded.agent_pos.copy(), recorded.block_pose.copy()
    agent[steps[5]:], block[steps[5]:] = agent[steps[5]], block[steps[5]]  # stalled from call 5 on
    episode = dataclasses.replace(recorded, call_steps=steps, ticks=np.full(n, 4), agent_pos=agent, block_pose=block)
    assert default_calls(episode) == [0, 2, 3, 5]  # spread over calls 0-5, the first from the stalled state last


def test_sync_events_and_chosen_tick():
    gates = np.array([[0.2, 0.9], [0.7, 0.8], [0.1, 0.6], [0.9, np.nan]])
    assert sync_events(gates).tolist() == [[False, True], [True, False], [False, False], [True, False]]
    certainty = np.array([0.2, 0.7, 0.5, np.nan])  # a call that ran 3 ticks
    assert chosen_tick(certainty, halt_tick=2) == (3, "halted") and chosen_tick(certainty, -1) == (2, "most certain")


def test_viz_run_writes_the_manifest_and_every_file_it_lists(runs, tmp_path):
    ctm, act = runs
    manifest = viz_run(ctm, tmp_path / "ctm_figs", seeds=SEEDS[:2], compare=[act], gif=True, max_steps=40)
    record = json.loads(manifest.read_text())
    assert record["run"] == str(ctm)
    files = [f["file"] for f in record["figures"]]
    assert files == ["ticks.png", "attention.png", "compute.png", "trajectories.png"]
    for entry in record["figures"] + record["animations"]:
        assert entry["title"] and entry["caption"] and (manifest.parent / entry["file"]).stat().st_size > 0
    assert all((manifest.parent / f).read_bytes().startswith(PNG) for f in files)
    assert len(load_episodes(manifest.parent / "recordings" / "act" / "trajectories.npz")) == 2
    captions = {f["file"]: f["caption"] for f in record["figures"]}
    assert "all 2 episodes of the run's saved protocol evaluation" in captions["compute.png"]  # not only the recorded ones
    assert "training seed 0" in record["figures"][-1]["title"] and "CTM-ACT" in captions["trajectories.png"]
    assert "gate of each neuron group" in captions["ticks.png"]  # the tiny run's core is gated (sigmoid)
    # the numbers a report words come with the figures they describe, read off the same recording
    facts = {f["file"]: f.get("facts", {}) for f in record["figures"]}
    ticks, attention, paths = facts["ticks.png"], facts["attention.png"], facts["trajectories.png"]
    assert 1 <= len(ticks["executed_ticks"]) <= 4 and sum(ticks["calls_by_ticks"].values()) == attention["calls"]
    assert sum(attention["tick1"].values()) == pytest.approx(1.0, abs=1e-4)  # a tick's weights sum to one
    assert paths["seeds"] == SEEDS[:2] and set(paths["max_coverage"]) == {"CTM-ACT", "ACT"}
    assert all(low <= mean <= high for runs in paths["smoothness"].values() for mean, low, high in runs.values())

    only = json.loads(viz_run(ctm, tmp_path / "ticks_only", seeds=SEEDS[:1], max_steps=20, only=["ticks"]).read_text())
    assert [f["file"] for f in only["figures"]] == ["ticks.png"]
    with pytest.raises(RunDirError, match="unknown figure"):
        viz_run(ctm, tmp_path / "bad", seeds=SEEDS[:1], only=["tick"])

    alone = json.loads(viz_run(act, seeds=SEEDS[:1], max_steps=20).read_text())
    assert [f["file"] for f in alone["figures"]] == ["trajectories.png"]  # CTM figures only for CTM-ACT
    assert (act / "figures" / "trajectories.png").exists() and "animations" not in alone


def test_viz_without_weights_says_how_to_get_them(runs, tmp_path):
    bare = tmp_path / "bare_run"
    bare.mkdir()
    shutil.copy(runs[0] / "config.gin", bare / "config.gin")
    with pytest.raises(RunDirError, match=r"no weights .*polibench run .*config\.gin --out"):
        viz_run(bare, tmp_path / "figs")
    with pytest.raises(RunDirError, match="no weights"):
        viz_run(runs[0], tmp_path / "figs", compare=[bare])  # checked before any rollout
    assert not (tmp_path / "figs").exists()
    with pytest.raises(RunDirError, match="not a polibench run directory"):
        record_run(tmp_path)


def test_viz_refuses_runs_of_different_training_seeds(runs, tmp_path):
    """A trajectory comparison across training seeds would mix the policy's effect with the seed's."""
    other = tmp_path / "act_seed1"
    shutil.copytree(runs[1], other, ignore=shutil.ignore_patterns("figures", "checkpoints"))
    info = json.loads((other / "run.json").read_text())
    (other / "run.json").write_text(json.dumps({**info, "seed": 1}))
    with pytest.raises(RunDirError, match=r"different seeds: .*\(seed 0\), .*act_seed1 \(seed 1\)"):
        viz_run(runs[0], tmp_path / "figs", compare=[other])
    assert not (tmp_path / "figs").exists()  # refused before any rollout


def test_compute_figure_with_halting_off_says_so_from_the_recorded_episodes(runs, tmp_path):
    """An override changes the policy the saved evaluation measured: the figure then uses the recorded episodes,
    and with halting off every call runs all ticks, which caption and figure say instead of plotting a constant."""
    manifest = viz_run(runs[0], tmp_path / "off", seeds=SEEDS[:2], max_steps=24,
                       gin_params=["halting.variance.enabled = False"])
    caption = {f["file"]: f["caption"] for f in json.loads(manifest.read_text())["figures"]}["compute.png"]
    assert "all 2 episodes of the episodes recorded for these figures" in caption
    assert "Every model call ran all 4 ticks (halting off" in caption
