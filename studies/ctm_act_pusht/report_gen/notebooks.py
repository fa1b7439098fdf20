"""What the study's notebooks show unless told otherwise: the shipped runs and the committed evaluations.

Each notebook reads an environment variable first (``$POLIBENCH_RUN_DIR``, ``$POLIBENCH_SWEEP_DIR``,
``$POLIBENCH_COMPARE_DIRS``), so the same notebook shows a researcher's own runs.
"""

from __future__ import annotations

import os
from pathlib import Path

RUN_DIR_ENV = "POLIBENCH_RUN_DIR"
COMPARE_DIRS_ENV = "POLIBENCH_COMPARE_DIRS"
SWEEP_DIR_ENV = "POLIBENCH_SWEEP_DIR"


#: The study's folder (studies/ctm_act_pusht).
STUDY = Path(__file__).resolve().parents[1]
#: The trained runs shipped with the study (studies/ctm_act_pusht/weights/README.md): what the notebooks show by
#: default.
SHIPPED = STUDY / "weights"
SHIPPED_RUN, SHIPPED_COMPARE = SHIPPED / "ctm_act_best", (SHIPPED / "act", SHIPPED / "diffusion")


def env_run_dir() -> Path:
    """The run a notebook shows: ``$POLIBENCH_RUN_DIR``, else the shipped CTM-ACT run."""
    value = os.environ.get(RUN_DIR_ENV)
    if value:
        return Path(value)
    if (SHIPPED_RUN / "model.safetensors").is_file():
        return SHIPPED_RUN
    raise RuntimeError(f"set {RUN_DIR_ENV} to a trained run directory (one with model.safetensors), e.g. "
                       f"`{RUN_DIR_ENV}=runs/ctm jupyter lab` (the shipped {SHIPPED_RUN} is missing)")


#: What the adaptive-compute notebook shows by default: the report's ticks-by-difficulty evaluation, committed with
#: its episodes (the predicted-error CTM-ACT, 3 training seeds, halting at tolerance 0.04 on 100 check starts each).
#: The shipped CTM-ACT run evaluates with halting off, so its every call runs all ticks.
COMPUTE_DEFAULT = STUDY / "results/cpu/halting_pe3_inference/variants/tolerance_0.04"


def env_compute_source() -> Path:
    """The evaluation the adaptive-compute notebook reads: ``$POLIBENCH_RUN_DIR``, else :data:`COMPUTE_DEFAULT`."""
    return Path(os.environ.get(RUN_DIR_ENV) or COMPUTE_DEFAULT)


#: The sweep the results notebook shows by default: the headline at the long budget (README "Results").
SWEEP_DEFAULT = STUDY / "results/cpu/headline_long"


def env_sweep_dir() -> Path:
    """The sweep the results notebook reads: ``$POLIBENCH_SWEEP_DIR``, else :data:`SWEEP_DEFAULT`."""
    return Path(os.environ.get(SWEEP_DIR_ENV) or SWEEP_DEFAULT)


def env_compare_dirs() -> list[Path]:
    """Runs to compare with, ``$POLIBENCH_COMPARE_DIRS`` (colon-separated); unset: the shipped ACT and Diffusion
    Policy runs when the notebook shows the shipped CTM-ACT run, else none."""
    value = os.environ.get(COMPARE_DIRS_ENV)
    if value is not None:
        return [Path(p) for p in value.split(os.pathsep) if p]
    shipped = not os.environ.get(RUN_DIR_ENV) and all((d / "model.safetensors").is_file() for d in SHIPPED_COMPARE)
    return list(SHIPPED_COMPARE) if shipped else []
