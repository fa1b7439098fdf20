"""The trained runs shipped in weights/ (studies/ctm_act_pusht/weights/README.md): intact, loadable, and the very weights behind their
committed evaluations; `polibench eval` and `polibench viz` run on them from a fresh clone."""

from __future__ import annotations

import json

import pytest

import polibench
from polibench.cli import main
from polibench.evaluation.rollout import evaluate
from polibench.sweep.aggregate import load_episodes
from report_gen.notebooks import SHIPPED, SHIPPED_COMPARE, SHIPPED_RUN, env_compare_dirs, env_run_dir
from tests.test_viz import DETERMINISTIC

RUNS = sorted(p.name for p in SHIPPED.iterdir() if (p / "config.gin").is_file())


def test_the_headline_policies_are_shipped():
    assert set(RUNS) == {"act", "diffusion", "ctm_act_unet", "ctm_act_best"}
    total = sum((SHIPPED / r / "model.safetensors").stat().st_size for r in RUNS)
    assert total < 50e6  # tens of MB in all, never checkpoints
    assert not any((SHIPPED / r / "checkpoints").exists() for r in RUNS)


@pytest.mark.parametrize("name", RUNS)
def test_shipped_weights_reproduce_their_committed_first_episode(name):
    """Checksum verified on load; the first benchmark episode replays exactly as the committed evaluation saw it.

    It replays inside the evaluation's first round as that ran (its first ``n_envs`` starts stepped together, at its
    precision): a sampling policy's noise depends on the batch. Only the first episode is compared, as one in 50
    starts on another CPU model may drift apart over 300 contact-rich steps from a last-bit difference."""
    run = SHIPPED / name
    policy = polibench.load_policy(run)
    saved = json.loads((run / "eval" / "metrics.json").read_text())
    n_envs = saved["summary"]["eval_batch"]
    round_one = load_episodes(run)[:n_envs]
    committed = round_one[0]
    result = evaluate(policy, policy.track, [row["seed"] for row in round_one], n_envs=n_envs,
                      max_steps=saved["config"]["max_steps"], precision=saved["summary"]["eval_precision"],
                      progress=False)
    replayed = result.per_episode[0]
    assert replayed["seed"] == committed["seed"]
    for key in DETERMINISTIC:
        if committed[key] is None:  # not measured for this policy (ticks of a one-pass policy)
            assert replayed[key] is None or replayed[key] != replayed[key], key
        else:
            # Another CPU model (float kernels differ) moves CTM-ACT's and Diffusion Policy's episode by ~2e-6
            # relative (seen on an Intel Xeon replaying episodes recorded on an AMD EPYC); other weights would move
            # it by orders of magnitude more.
            assert replayed[key] == pytest.approx(committed[key], rel=1e-4, abs=1e-9), key


def test_eval_and_viz_run_on_the_shipped_weights(tmp_path, monkeypatch):
    assert main(["eval", str(SHIPPED / "act"), "--episodes", "2", "--max-steps", "40", "--no-progress",
                 "--out", str(tmp_path / "eval")]) == 0
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["summary"]["success_rate"]["n"] == 2
    assert main(["viz", str(SHIPPED_RUN), "--seeds", "100000", "--max-steps", "24", "--out",
                 str(tmp_path / "viz")]) == 0
    captions = [f["caption"] for f in json.loads((tmp_path / "viz" / "figures.json").read_text())["figures"]]
    # the shipped CTM-ACT never halts (its predicted-error rule has no tolerance): no infinite threshold in words
    assert captions and all("halting off: every call runs all ticks" in c and "certainty inf" not in c
                            for c in captions)
    monkeypatch.delenv("POLIBENCH_RUN_DIR", raising=False)
    monkeypatch.delenv("POLIBENCH_COMPARE_DIRS", raising=False)
    assert env_run_dir() == SHIPPED_RUN and env_compare_dirs() == list(SHIPPED_COMPARE)  # the notebooks' defaults
