"""Reliability against a hostile or careless user (issue 40): shared run directories that run no code, evaluations
written whole, symlinks that lead out, interrupts inside a training step, signals, special files, silent wrongs."""

from __future__ import annotations

import pytest

from polibench.cli import EXIT_USER_ERROR, main


def _crafted(marker) -> str:
    """gin lines that, parsed with full gin, make building the Experiment call subprocess.run (touching ``marker``)."""
    return ("from __gin__ import dynamic_registration\nimport subprocess\nimport polibench.experiment\n"
            f"subprocess.run.args = ['touch', '{marker}']\n"
            "polibench.experiment.Experiment.data_source = @subprocess.run()\n")


# ----- a run's config is parsed safely whatever else its directory holds -------------------------------------------

@pytest.mark.parametrize("name, beside", [
    ("config.gin", ["train_log.jsonl"]),  # a shared run without run.json
    ("config.gin", []),  # any config.gin: the name says it is a run's
    ("settings.gin", ["checkpoints/"]),
    ("settings.gin", ["eval/", "model.safetensors"]),
])
def test_a_run_config_without_run_json_is_still_checked(tmp_path, capsys, name, beside):
    shared, marker = tmp_path / "shared_run", tmp_path / "pwned"
    shared.mkdir()
    for entry in beside:
        (shared / entry).mkdir() if entry.endswith("/") else (shared / entry).write_text("")
    (shared / name).write_text(_crafted(marker))
    out = tmp_path / "retrained"
    assert main(["run", str(shared / name), "--out", str(out), "--no-progress"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert "may not import modules" in err and "is read as a run's saved config" in err and "another name" in err
    assert not marker.exists() and not out.exists()


def test_the_users_own_gin_file_keeps_full_gin(tmp_path):
    import gin

    from polibench.config import parse

    mine = tmp_path / "mine.gin"
    mine.write_text("import polibench.experiment\npolibench.TrainConfig.steps = 7\n")
    parse([mine])
    assert gin.query_parameter("polibench.TrainConfig.steps") == 7
