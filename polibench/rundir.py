"""Layout and life cycle of a run directory.

    RUN_DIR/
      config.gin              operative gin config (what was actually built)
      run.json                seeds, splits, versions, git commit, machine, training summary
      train_log.jsonl         one line per log interval (losses, lr, speed, validation, quick evals)
      checkpoints/            resumable training checkpoints (latest.json points at the newest complete one)
      model.safetensors       final weights + normalisation stats (+ .sha256); present only once training ended
      eval/metrics.json       protocol summary with 95% bootstrap intervals
      eval/episodes.jsonl     one line per evaluation episode
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from polibench.io import write_json, write_text


class RunDirError(RuntimeError):
    """The run directory is in a state the requested command cannot use."""


class RunDir:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.gin"

    @property
    def info_path(self) -> Path:
        return self.path / "run.json"

    @property
    def model_path(self) -> Path:
        return self.path / "model.safetensors"

    @property
    def eval_dir(self) -> Path:
        return self.path / "eval"

    def prepare(self, resume: bool) -> None:
        """Refuse to overwrite a run unless resuming; create the directory."""
        if self.path.exists() and any(self.path.iterdir()) and not resume:
            finished = (self.eval_dir / "metrics.json").exists()
            raise RunDirError(
                f"{self.path} already holds a {'finished' if finished else 'started'} run. Pass --resume to continue "
                "it (a finished run is only re-evaluated) or choose another --out."
            )
        self.path.mkdir(parents=True, exist_ok=True)

    def write_config(self, text: str, resume: bool) -> None:
        """Save the operative config; on resume it must equal the saved one (else the run would mix two configs)."""
        if resume and self.config_path.exists() and self.config_path.read_text() != text:
            raise RunDirError(
                f"the config differs from the one {self.path} was started with ({self.config_path}); "
                "resume with the same gin files and bindings, or start a new run with another --out"
            )
        write_text(self.config_path, text)

    def read_run_info(self) -> dict[str, Any]:
        return json.loads(self.info_path.read_text()) if self.info_path.exists() else {}

    def write_run_info(self, info: dict[str, Any]) -> None:
        """Merge ``info`` into run.json (atomically)."""
        previous = self.read_run_info()
        write_json(self.info_path, {**previous, **info})
