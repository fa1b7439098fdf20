"""Paired verdicts with training-seed variance: rliable's probability of improvement on the committed headline."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from rliable import metrics

from polibench.io import read_json, write_text
from polibench.rundir import RunDirError
from polibench.sweep.verdicts import (
    claim_of,
    compare,
    probability_of_improvement,
    seed_test,
    summarise,
    to_markdown,
    verdict_of,
    verdicts,
)
from tests.conftest import REPO

HEADLINE = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "headline"


def test_vectorised_probability_of_improvement_is_rliables():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 3, size=(3, 40)).astype(float), rng.integers(0, 3, size=(4, 40)).astype(float)  # ties
    assert probability_of_improvement(x, y) == pytest.approx(metrics.probability_of_improvement(x, y))
    assert probability_of_improvement(x, x) == pytest.approx(0.5)


def test_intervals_resample_start_seeds_even_with_one_training_seed():
    """One training seed still has start-seed variance: the interval must have width (rliable's pair bootstrap
    resamples training seeds only and collapses to a point here), and a variant better on every start is
    certain. The mean difference is paired: a constant shift has a zero-width difference interval."""
    rng = np.random.default_rng(1)
    a, b = rng.random((1, 100)), rng.random((1, 100))
    result = compare(a, b, reps=500)
    assert result["ci_low"] < result["probability"] < result["ci_high"] and result["ci_high"] - result["ci_low"] > 0.1
    assert result["difference_ci"][0] < result["difference"] < result["difference_ci"][1]
    shifted = compare(b + 0.1, b, reps=200)
    assert shifted["probability"] == shifted["ci_low"] == shifted["ci_high"] == 1.0
    assert shifted["difference_ci"] == pytest.approx([0.1, 0.1])
    assert compare(b + 0.1, b, direction=-1, reps=50)["probability"] == 0.0  # lower is better: never
    assert verdict_of(shifted, 1) == "better" and verdict_of(compare(b + 0.1, b, direction=-1, reps=50), -1) == "worse"
    # most starts tie exactly, a few lose by a hair and one wins clearly: P's interval excludes 0.5, the
    # difference's does not, and that is a tie
    hair = b.copy()
    hair[0, :10] -= 0.001
    hair[0, 10] += 0.05
    nearly = compare(hair, b, reps=500)
    assert nearly["ci_high"] < 0.5 and nearly["difference_ci"][0] < 0 < nearly["difference_ci"][1]
    assert verdict_of(nearly, 1) == "tie"


def test_summaries_are_rliables_estimates_and_the_same_on_every_call():
    """Mean and IQM are rliable's; the intervals come from the same stratified bootstrap as rliable's (within its
    resampling noise) and, unlike rliable's through arch 7.2, are the same each time the seed is."""
    from rliable import library as rly

    rng = np.random.default_rng(3)
    scores = rng.gamma(2.0, 1.0, size=(3, 200))
    ours = summarise(scores, reps=1000)
    assert ours == summarise(scores, reps=1000)
    assert ours["iqm"] == pytest.approx(metrics.aggregate_iqm(scores))
    assert ours["mean"] == pytest.approx(scores.mean())
    estimate = lambda x: np.array([np.mean(x), metrics.aggregate_iqm(x)])  # noqa: E731
    _, interval = rly.get_interval_estimates({"v": scores}, estimate, reps=1000, task_bootstrap=True)
    low, high = interval["v"]
    assert ours["mean_ci"] == pytest.approx([low[0], high[0]], abs=0.03)
    assert ours["iqm_ci"] == pytest.approx([low[1], high[1]], abs=0.03)


def test_a_claim_needs_the_seed_level_test_to_agree_with_the_bootstrap():
    """Three seeds a side whose seed means overlap (A's spread as wide as the gap): the pooled bootstrap over 500
    paired starts says better, Welch's test on the seed means does not, so the claim is a tie. With the seeds apart
    both agree; one seed a side has no seed-level test and no claim."""
    rng = np.random.default_rng(2)
    starts = rng.random(500)
    b = np.stack([starts + s for s in (0.0, 0.05, -0.05)])
    overlapping = np.stack([starts + s for s in (0.15, -0.06, 0.09)])  # seed means +0.06 on average, spread 0.2
    apart = np.stack([starts + s for s in (0.20, 0.22, 0.21)])
    loose = {**compare(overlapping, b, reps=300), "seed_test": seed_test(overlapping, b)}
    assert verdict_of(loose, 1) == "better"
    assert loose["seed_test"]["verdict"] == "tie" and loose["seed_test"]["p"] > 0.05
    assert loose["seed_test"]["difference"] == pytest.approx(overlapping.mean() - b.mean())
    assert claim_of(loose, 1) == "tie"
    firm = {**compare(apart, b, reps=300), "seed_test": seed_test(apart, b)}
    assert firm["seed_test"]["verdict"] == "better" and claim_of(firm, 1) == "better"
    assert firm["seed_test"]["difference_ci"][0] > 0
    constant = seed_test(np.ones((2, 5)), np.zeros((2, 5)))  # no spread: no t statistic, and nothing written as NaN
    assert constant["verdict"] == "better" and constant["df"] is None and constant["p"] == 0.0
    lower_is_better = seed_test(apart, b, direction=-1)
    assert lower_is_better["verdict"] == "worse"
    one = {**compare(apart[:1], b[:1], reps=50), "seed_test": seed_test(apart[:1], b[:1])}
    assert one["seed_test"] is None and verdict_of(one, 1) == "better" and claim_of(one, 1) == "tie"
    text = to_markdown({"variant": "a", "reps": 300, "metrics": {"success": {
        "better": "higher", "summary": {v: {"mean": m, "seed_means": [m]} for v, m in (("a", 0.7), ("b", 0.5),
                                                                                        ("c", 0.6))},
        "vs": {"b": loose, "c": one}}}})
    assert "| tie |" in text and "none (one training seed)" in text and f"p = {loose['seed_test']['p']:.2g}" in text


def test_verdicts_written_before_the_seed_level_test_name_the_command_that_adds_it():
    with pytest.raises(RunDirError, match="predate the seed-level test"):
        claim_of(compare(np.ones((2, 5)), np.zeros((2, 5)), reps=10), 1)


def test_headline_verdicts_follow_the_per_episode_data():
    doc = verdicts(HEADLINE, "diffusion", ["act"], ["max_coverage", "jerk"], reps=300)
    coverage, jerk = doc["metrics"]["max_coverage"], doc["metrics"]["jerk"]
    assert coverage["n_start_seeds"] == 50 and jerk["better"] == "lower"
    assert coverage["vs"]["act"]["ci_low"] > 0.5  # Diffusion Policy covers more than ACT on these starts
    assert jerk["vs"]["act"]["ci_high"] < 0.5  # and is less smooth
    for metric in ("max_coverage", "jerk"):
        pooled = read_json(HEADLINE / "results.json")["variants"]
        name = {"max_coverage": "avg_max_coverage", "jerk": "jerk"}[metric]
        seed_means = next(v for v in pooled if v["name"] == "act")["metrics"][name]["seed_means"]
        assert doc["metrics"][metric]["summary"]["act"]["seed_means"] == pytest.approx(seed_means)
    table = to_markdown(doc)
    assert "| max_coverage (higher is better) | act |" in table and "| better |" in table


def test_variants_evaluated_on_other_start_seeds_get_no_paired_verdict(tmp_path):
    sweep = tmp_path / "headline"
    shutil.copytree(HEADLINE, sweep, ignore=shutil.ignore_patterns("viz", "*.png"))
    episodes = sweep / "variants" / "act" / "seed1" / "eval" / "episodes.jsonl"
    lines = episodes.read_text().splitlines()
    write_text(episodes, "\n".join(ln.replace('"seed": 100049', '"seed": 200049') for ln in lines) + "\n")
    with pytest.raises(RunDirError, match="other start seeds"):
        verdicts(sweep, "diffusion", ["act"], ["max_coverage"], reps=50)
    with pytest.raises(RunDirError, match="no variant"):
        verdicts(sweep, "diffusion", ["ctm_act"], ["max_coverage"], reps=50)


def test_an_unfinished_sweep_is_refused_with_the_fix(tmp_path):
    (tmp_path / "sweep.json").write_text("{}")
    with pytest.raises(RunDirError, match="no results.json: finish the sweep first"):
        verdicts(tmp_path, "a", ["b"], ["max_coverage"], reps=10)


def test_a_variant_of_another_sweep_on_the_same_starts_is_paired():
    """The screened configuration's weights never halting (an inference sweep) against the default trained in the
    sweep beside it: the paired difference is the difference of their committed means; a sweep on other start
    seeds is refused."""
    results = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu"
    inference, trained = results / "best_halting_inference", results / "screen_best_vs_default"
    doc = verdicts(inference, "None", ["screen_best_vs_default/ctm_act_unet"], ["max_coverage"], reps=200,
                   also=[trained])
    coverage = doc["metrics"]["max_coverage"]
    mean = {sweep.name: {v["name"]: v["metrics"]["avg_max_coverage"]["mean"]
                         for v in read_json(sweep / "results.json")["variants"]} for sweep in (inference, trained)}
    assert coverage["vs"]["screen_best_vs_default/ctm_act_unet"]["difference"] == pytest.approx(
        mean["best_halting_inference"]["None"] - mean["screen_best_vs_default"]["ctm_act_unet"])
    with pytest.raises(RunDirError, match="different start seeds"):
        verdicts(inference, "None", ["headline/act"], ["max_coverage"], reps=10, also=[HEADLINE])
    with pytest.raises(RunDirError, match="--also"):
        verdicts(inference, "None", ["screen_best_vs_default/ctm_act_unet"], ["max_coverage"], reps=10)


def test_out_keeps_a_second_variants_verdicts_beside_the_first(tmp_path, capsys):
    """`--out NAME` writes NAME.json / NAME.md into the sweep and leaves verdicts.json alone; a name that is not a
    plain file name is refused before anything is computed or written."""
    from polibench.cli import main

    sweep = tmp_path / "headline"
    shutil.copytree(HEADLINE, sweep, ignore=shutil.ignore_patterns("viz", "*.png"))
    common = ["--against", "act", "--metrics", "max_coverage", "--reps", "50"]
    assert main(["verdicts", str(sweep), "--variant", "ctm_act_unet", *common]) == 0
    before = (sweep / "verdicts.json").read_bytes()
    args = ["verdicts", str(sweep), "--variant", "ctm_act_mlp", *common]
    assert main([*args, "--out", "verdicts_ctm_act_mlp"]) == 0
    assert read_json(sweep / "verdicts_ctm_act_mlp.json")["variant"] == "ctm_act_mlp"
    assert "P(ctm_act_mlp better than X)" in (sweep / "verdicts_ctm_act_mlp.md").read_text()
    assert (sweep / "verdicts.json").read_bytes() == before
    files = sorted(p.name for p in sweep.iterdir())
    assert main([*args, "--out", "../elsewhere"]) != 0
    assert "not a plain file name" in capsys.readouterr().err and sorted(p.name for p in sweep.iterdir()) == files


def test_variant_seeds_restrict_the_variant_only_and_a_missing_seed_is_refused(tmp_path, capsys):
    """The chosen configuration's seeds that played no part in its choice, against every seed of its rivals."""
    from polibench.cli import main

    doc = verdicts(HEADLINE, "diffusion", ["act"], ["max_coverage"], reps=100, variant_seeds=[1, 2])
    summary = doc["metrics"]["max_coverage"]["summary"]
    pooled = {v["name"]: v["metrics"]["avg_max_coverage"]["seed_means"]
              for v in read_json(HEADLINE / "results.json")["variants"]}
    assert summary["diffusion"]["seed_means"] == pytest.approx(pooled["diffusion"][1:])
    assert summary["act"]["seed_means"] == pytest.approx(pooled["act"])
    assert doc["metrics"]["max_coverage"]["vs"]["act"]["seed_test"]["seeds"] == [2, 3]
    assert doc["arguments"]["variant_seeds"] == [1, 2]
    with pytest.raises(RunDirError, match=r"variant diffusion has no training seed\(s\) \[7\]"):
        verdicts(HEADLINE, "diffusion", ["act"], ["max_coverage"], reps=10, variant_seeds=[1, 7])
    sweep = tmp_path / "headline"
    shutil.copytree(HEADLINE, sweep, ignore=shutil.ignore_patterns("viz", "*.png"))
    files = sorted(p.name for p in sweep.iterdir())
    with pytest.raises(SystemExit) as stop:
        main(["verdicts", str(sweep), "--variant", "diffusion", "--against", "act", "--variant-seeds", "1,x"])
    assert stop.value.code == 2 and "not a comma-separated list of seed numbers" in capsys.readouterr().err
    assert sorted(p.name for p in sweep.iterdir()) == files
