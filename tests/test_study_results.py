"""The study's RESULTS.md and the README's headline table equal what the committed results generate, and every
claim of studies/ctm_act_pusht/claims.json agrees with the committed verdict it cites."""

from __future__ import annotations

import copy
import json

from report_gen import results


def test_results_md_and_the_readme_headline_are_generated_from_the_committed_results(capsys):
    assert results.main(["--check"]) == 0, capsys.readouterr().out


def test_a_claim_the_verdicts_contradict_fails_and_names_the_sentence(tmp_path, monkeypatch):
    doc = json.loads(results.CLAIMS.read_text())
    flipped = copy.deepcopy(doc)
    flipped["claims"][0]["verdict"] = "better"
    (tmp_path / "claims.json").write_text(json.dumps(flipped))
    monkeypatch.setattr(results, "CLAIMS", tmp_path / "claims.json")
    failures = results.claim_failures()
    assert len(failures) == 1 and doc["claims"][0]["text"] in failures[0] and "rewrite" in failures[0]


def test_the_readme_table_lists_every_policy_of_the_headline_sweep():
    block = results.readme_block()
    sweep = results.load_sweep(results.RESULTS_DIR / results.README_HEADLINE[0])
    assert all(f"| {v['name']} |" in block for v in sweep.results["variants"])


def test_the_study_readme_states_the_recipe_and_every_committed_screen():
    from report_gen.paper.screens import load_screens

    text = results.STUDY_README.read_text()
    screens = load_screens(results.RESULTS_DIR / "parity_screens")
    assert screens and all(f"| {s.label} | {s.base} |" in text and f"`{s.path.name}`" in text for s in screens)
    for heading, sweep, name in results.recipe.COLUMNS:
        run = results.RESULTS_DIR / sweep / "variants" / name / "seed0"
        assert f"{json.loads((run / 'run.json').read_text())['n_params'] / 1e6:.2f}M" in text, heading
