"""Every notebook of the study (studies/ctm_act_pusht/notebooks) runs top to bottom (nbclient, the venv's python3 kernel) against tiny real
runs made here: a CTM-ACT run ($POLIBENCH_RUN_DIR), an ACT run ($POLIBENCH_COMPARE_DIRS) and a tiny sweep
($POLIBENCH_SWEEP_DIR); each notebook gets all three."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from polibench.data.download import ENV_VAR
from tests.conftest import REPO
from tests.test_ablate import ablate_cli
from tests.test_viz import make_tiny_runs

STUDY = REPO / "studies" / "ctm_act_pusht"
NOTEBOOKS = sorted((STUDY / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def notebook_env(tmp_path_factory, zarr_path):
    """The kernel inherits this process's environment: point it at the runs, the sweep and the data."""
    root = tmp_path_factory.mktemp("notebook_runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, str(zarr_path))  # sweep workers find the data through the environment
        ctm, act = make_tiny_runs(root)
        sweep = root / "sweep"
        assert ablate_cli(sweep, seeds=1) == 0
        mp.setenv("POLIBENCH_RUN_DIR", str(ctm))
        mp.setenv("POLIBENCH_COMPARE_DIRS", os.pathsep.join([str(act)]))
        mp.setenv("POLIBENCH_SWEEP_DIR", str(sweep))
        mp.setenv("MPLBACKEND", "Agg")
        mp.setenv("OMP_NUM_THREADS", "1")  # the 2-core machine (DEVELOPERS.md)
        yield


def test_notebooks_exist():
    assert {"ticks_and_attention.ipynb", "adaptive_compute.ipynb", "trajectories.ipynb"} <= {p.name for p in NOTEBOOKS}


def execute(path: Path) -> None:
    """Run a notebook top to bottom and check it was committed clean and displayed a figure."""
    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), f"{path.name} is committed with outputs"
    NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(STUDY)}}).execute()  # the study's code imports from there
    images = [out for cell in notebook.cells for out in cell.get("outputs", []) if "image/png" in out.get("data", {})
              or "image/gif" in out.get("data", {})]
    assert images, f"{path.name} displayed no figure"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, notebook_env) -> None:
    execute(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_committed_results_by_default(path: Path, monkeypatch) -> None:
    """A fresh clone: nothing set, so the notebooks show the study's shipped runs (its weights/) and the committed sweeps and
    evaluations they name (no data needed)."""
    for name in ("POLIBENCH_RUN_DIR", "POLIBENCH_COMPARE_DIRS", "POLIBENCH_SWEEP_DIR", ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    execute(path)
