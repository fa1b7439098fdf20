"""Layout and life cycle of a run directory.

    RUN_DIR/
      config.gin              operative gin config (what was actually built)
      run.json                seeds, splits, versions, git commit, machine, training summary, config.gin's SHA-256
      train_log.jsonl         one line per log interval (losses, lr, speed, validation, quick evals)
      checkpoints/            resumable training checkpoints (latest.json points at the newest complete one)
      model.safetensors       final weights + normalisation stats (+ .sha256); present only once training ended
      eval/metrics.json       protocol summary with 95% bootstrap intervals
      eval/episodes.jsonl     one line per evaluation episode
      .polibench.lock         only while a process writes the directory (polibench.locking)
"""

from __future__ import annotations

import hashlib
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from polibench.gin_check import added_defaults
from polibench.io import read_json, read_text, write_json, write_text
from polibench.locking import LOCK_FILE, exclusive

log = logging.getLogger(__name__)


#: The run's own (protocol) evaluation, inside the run directory.
EVAL_SUBDIR = "eval"
#: The files of an evaluation directory (``RUN/eval`` or any ``polibench eval --out``).
METRICS_FILE = "metrics.json"
EPISODES_FILE = "episodes.jsonl"


class RunDirError(RuntimeError):
    """The run directory is in a state the requested command cannot use."""


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


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
        return self.path / EVAL_SUBDIR

    @property
    def metrics_path(self) -> Path:
        """The summary of the run's protocol evaluation."""
        return self.eval_dir / METRICS_FILE

    @property
    def episodes_path(self) -> Path:
        """One line per episode of the run's protocol evaluation."""
        return self.eval_dir / EPISODES_FILE

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @contextmanager
    def writing(self, resume: bool) -> Iterator[None]:
        """Hold the directory for this process while it writes the run (creating it). Refused: an ``--out`` that is
        a file, a second writer, overwriting a run without ``resume``, and resuming anything but a polibench run."""
        check_directory_target(self.path)
        if resume and not self.path.exists():
            raise RunDirError(f"--resume: {self.path} does not exist, so there is nothing to resume. Drop --resume to "
                              "start a new run there, or give the run directory that was interrupted.")
        with held(self.path, "run directory"):
            self._check_contents(resume)
            yield

    def _check_contents(self, resume: bool) -> None:
        """Refuse to overwrite a run unless resuming, and to resume anything but a polibench run."""
        content = [p for p in self.path.iterdir() if p.name != LOCK_FILE]
        if content and not resume:
            finished = self.metrics_path.exists()
            raise RunDirError(
                f"{self.path} already holds a {'finished' if finished else 'started'} run. Pass --resume to continue "
                "it (a finished run is only re-evaluated) or choose another --out."
            )
        if resume and not self.config_path.exists():
            what = "is empty" if not content else "holds no polibench run (no config.gin)"
            raise RunDirError(f"--resume: {self.path} {what}, so there is nothing to resume. Drop --resume to start a "
                              "new run, or give the run directory that was interrupted.")

    def write_config(self, text: str, resume: bool) -> None:
        """Save the operative config and its hash; on resume it must equal the saved one (else the run would mix
        two configs)."""
        if resume and self.config_path.exists() and (saved := read_text(self.config_path)) != text:
            added = added_defaults(saved, text)
            if added is None:
                raise RunDirError(
                    f"the config differs from the one {self.path} was started with ({self.config_path}); "
                    "resume with the same gin files and bindings, or start a new run with another --out"
                )
            log.info("%s: resuming across code changes since the run started (parameters added at their defaults, "
                     "components renamed); the saved config is rewritten with them. Added: %s", self.path,
                     "; ".join(added) or "none")
        write_text(self.config_path, text)
        self.write_run_info({"config_sha256": text_sha256(text)})

    def warn_if_config_edited(self, text: str) -> None:
        """Warn when ``text``, the config.gin about to be loaded, is not the one training recorded in run.json: an
        edit that still parses (e.g. ``n_action_steps``) silently changes behaviour. Runs from before the hash was
        recorded cannot be checked."""
        recorded = self.read_run_info().get("config_sha256")
        if recorded is not None and recorded != text_sha256(text):
            log.warning("%s was edited after training (its SHA-256 differs from the one in %s): the policy loads with "
                        "the edited settings, not the trained ones", self.config_path, self.info_path)

    def read_run_info(self) -> dict[str, Any]:
        info = read_json(self.info_path) if self.info_path.exists() else {}
        if not isinstance(info, dict):
            raise RunDirError(f"{self.info_path} holds {type(info).__name__}, not the JSON object polibench writes")
        return info

    def write_run_info(self, info: dict[str, Any]) -> None:
        """Merge ``info`` into run.json (atomically)."""
        previous = self.read_run_info()
        write_json(self.info_path, {**previous, **info})

    def evaluated(self, eval_subdir: str = EVAL_SUBDIR) -> bool:
        """Whether the evaluation ``eval_subdir`` is complete (metrics and episodes written; metrics readable)."""
        eval_dir = self.path / eval_subdir
        if not ((eval_dir / METRICS_FILE).exists() and (eval_dir / EPISODES_FILE).exists()):
            return False
        read_json(eval_dir / METRICS_FILE)  # an unreadable one is named here, not deep inside the aggregation
        return True


#: polibench's own code: no command writes there (results would mix with the package and go with a reinstall).
CODE_DIRS = (Path(__file__).resolve().parent,)


def check_directory_target(path: Path) -> None:
    """A directory a command writes (``--out``) must not be an existing file, nor inside polibench's code."""
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path} is a file, not a directory: give --out a directory path (new or existing)")
    if code := next((d for d in CODE_DIRS if Path(path).resolve().is_relative_to(d)), None):
        raise RunDirError(f"{path} is inside polibench's installed code ({code}): results there would mix with the "
                          "package and go with a reinstall. Choose an --out outside it")


@contextmanager
def held(path: Path, what: str) -> Iterator[None]:
    """Write directory ``path`` (``what``: "run directory", "sweep directory", ...) as its one writer: refused when
    it is a file, when another process holds it (:func:`polibench.locking.exclusive`), or when a symbolic link
    inside it leads out (:func:`refuse_links_out`)."""
    check_directory_target(path)
    with exclusive(path, what):
        refuse_links_out(path, what)
        yield


def refuse_links_out(root: Path, what: str) -> None:
    """Refuse (RunDirError) a symbolic link anywhere under ``root`` that leads outside it: writing or pruning
    through it (an evaluation directory, ``checkpoints/``, a sweep's run slot) would change files elsewhere."""
    base = Path(root).resolve()
    for folder, dirs, files in os.walk(root):  # links to folders are listed, not followed
        for name in dirs + files:
            link = Path(folder) / name
            if link.is_symlink() and not link.resolve().is_relative_to(base):
                raise RunDirError(f"{link} is a symbolic link to {link.resolve()}, outside the {what} {root}: writing "
                                  "there would change files elsewhere. Replace the link with a copy of what it points "
                                  "at, or choose another --out.")


def check_inside(path: Path, root: Path, what: str) -> None:
    """A directory written inside ``root`` (e.g. a run's evaluation) must stay inside it once links are followed."""
    if Path(os.path.abspath(path)).is_relative_to(os.path.abspath(root)) and \
            not Path(path).resolve().is_relative_to(Path(root).resolve()):
        raise RunDirError(f"{path} leads to {Path(path).resolve()}, outside the {what} {root} (a symbolic link): "
                          "writing there would change files elsewhere. Remove the link, or choose another --out.")


def calibration_file(rule: str) -> str:
    """Where `polibench calibrate` keeps halting rule ``rule``'s calibration inside a run directory: one file per
    rule, so rules calibrated on the same weights (the trained one, a parameter-free one swapped in) sit side by
    side."""
    return f"calibration_{rule}.json"
