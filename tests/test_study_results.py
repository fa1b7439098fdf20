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
