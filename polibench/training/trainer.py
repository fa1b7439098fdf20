"""The one training loop every policy shares."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import torch
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from polibench.data.windows import WindowSampler
from polibench.interrupts import first_interrupt_only, interrupts_held
from polibench.io import write_text
from polibench.policy import Policy
from polibench.precision import autocast
from polibench.training.checkpoint import (
    load_into,
    load_training_checkpoint,
    newest_intact_checkpoint,
    save_training_checkpoint,
)
from polibench.training.config import TrainConfig

EvalFn = Callable[[Policy, int], dict[str, Any]]
VAL_BATCHES = 8


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training: a checkpoint was saved and ``--resume`` continues from it."""


def _log_step(line: str) -> int | None:
    """The step of one train_log.jsonl line; None for a line that is not a complete record."""
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


def last_logged_step(log_path: Path) -> int:
    """The newest step a train_log.jsonl records (0 for none, or no log)."""
    if not log_path.is_file():
        return 0
    return max((step for ln in log_path.read_text().splitlines() if (step := _log_step(ln)) is not None), default=0)


class Trainer:
    """AdamW + warm-up/cosine schedule + gradient clipping + optional EMA, with atomic, resumable checkpoints.

    Resuming restores the optimiser, scheduler, EMA, the batch-sampling generator and the torch RNG, so a resumed
    run ends with the same weights as an uninterrupted one. That holds for a Ctrl-C anywhere: a step interrupted
    before its update is undone (the generator, RNG and buffer states it had used restored), the update itself
    and the checkpoint written on interrupt are not interruptible, and a step's bookkeeping (its log line,
    validation loss, periodic evaluation) cut short is done again whole on resume, so the log has no gap.
    """

    def __init__(self, policy: Policy, sampler: WindowSampler, cfg: TrainConfig, run_dir: Path, seed: int,
                 val_sampler: WindowSampler | None = None, evaluate_fn: EvalFn | None = None,
                 progress: bool = True) -> None:
        self.policy, self.sampler, self.cfg, self.run_dir = policy, sampler, cfg, Path(run_dir)
        self.val_sampler, self.evaluate_fn, self.progress = val_sampler, evaluate_fn, progress
        self.device = policy.device
        self.optimizer = torch.optim.AdamW(policy.parameters(), lr=cfg.lr, betas=tuple(cfg.betas),
                                           weight_decay=cfg.weight_decay)
        self.scheduler = get_cosine_schedule_with_warmup(self.optimizer, cfg.warmup_steps, cfg.steps)
        self.ema = (EMAModel(policy.parameters(), decay=cfg.ema_decay, use_ema_warmup=True, power=cfg.ema_power)
                    if cfg.ema_decay else None)
        self.generator = torch.Generator().manual_seed(seed)
        self.step = 0
        self._before_step: dict[str, Any] | None = None  # what a step in progress may change before its update
        self._running: dict[str, float] = {}  # loss sums over the steps since the last log line
        self._n_running = 0
        self._pending = False  # self.step's update is done, its bookkeeping (log, evaluation) not yet
        self._due_record: dict[str, Any] | None = None  # the log line self.step owes, once its update is done
        self._last_losses: dict[str, float] = {}  # the losses of the newest log line
        self._n_timed, self._t_log = 0, time.perf_counter()  # steps and start of the current log interval
        self.wall_s_before = 0.0  # training wall time of earlier sessions of this run (resume adds it up)
        self._t0 = time.perf_counter()  # start of this session's training
        self.log_path = self.run_dir / "train_log.jsonl"
        self.ckpt_root = self.run_dir / "checkpoints"

    # ----- checkpoints -----
    def _trainer_state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "wall_s": self.wall_s_before + time.perf_counter() - self._t0,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "running": dict(self._running), "n_running": self._n_running,
            "pending": self._pending, "due_record": self._due_record, "last_losses": self._last_losses,
        }

    def _snapshot(self) -> dict[str, Any]:
        """What drawing a batch and the forward pass change before the update: the generator, the RNGs (dropout,
        noise) and the buffers (BatchNorm statistics)."""
        return {"generator": self.generator.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "buffers": {name: b.detach().clone() for name, b in self.policy.named_buffers()}}

    def _undo_unfinished_step(self) -> None:
        """Back to the state before a step that was interrupted before its update (nothing when none was)."""
        if (before := self._before_step) is None:
            return
        self.generator.set_state(before["generator"])
        torch.set_rng_state(before["torch_rng"])
        if before["cuda_rng"] is not None:
            torch.cuda.set_rng_state_all(before["cuda_rng"])
        with torch.no_grad():
            for name, buffer in self.policy.named_buffers():
                buffer.copy_(before["buffers"][name])
        self._before_step = None

    def save_checkpoint(self) -> Path:
        return save_training_checkpoint(self.ckpt_root, self.step, self.policy.state_dict(), self._trainer_state())

    def resume_from(self, path: Path) -> None:
        """Continue from checkpoint directory ``path`` (one :func:`newest_intact_checkpoint` chose)."""
        weights, state = load_training_checkpoint(path)
        load_into(self.policy, weights, path)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.step = state["step"]
        self.wall_s_before = state.get("wall_s", 0.0)
        # checkpoints written before these keys existed were all taken with the bookkeeping done
        self._running, self._n_running = dict(state.get("running", {})), state.get("n_running", 0)
        self._pending, self._due_record = state.get("pending", False), state.get("due_record")
        self._last_losses = dict(state.get("last_losses", {}))  # run.json's final losses, when no step is left
        self._truncate_log()

    def start_fresh(self) -> None:
        """Train from step 0; log lines an earlier attempt left (one that died before its first checkpoint) go."""
        self.step = 0
        self._truncate_log()

    def _truncate_log(self) -> None:
        """Drop log lines written after the step we start from (and that step's own, when its bookkeeping is to be
        done again), so the log reads as one clean run; a line a killed process left half-written goes too."""
        if self.log_path.exists():
            last = self.step - 1 if self._pending else self.step
            lines = [(ln, _log_step(ln)) for ln in self.log_path.read_text().splitlines()]
            kept = [ln for ln, step in lines if step is not None and step <= last]
            write_text(self.log_path, "".join(ln + "\n" for ln in kept))

    def _log(self, record: dict[str, Any]) -> None:
        with open(self.log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    # ----- evaluation helpers -----
    def swap_in_ema(self) -> None:
        """Copy the EMA weights into the policy (for evaluation and the final save)."""
        if self.ema is not None:
            self.ema.copy_to(self.policy.parameters())

    @torch.no_grad()
    def validation_loss(self) -> float:
        assert self.val_sampler is not None
        gen = torch.Generator().manual_seed(0)
        was_training = self.policy.training
        self.policy.eval()
        with torch.random.fork_rng(devices=[]):
            batches = (self.policy.sample_batch(self.val_sampler, self.cfg.batch_size, gen) for _ in range(VAL_BATCHES))
            losses = [self._loss(self._to_device(batch))["loss"].item() for batch in batches]
        self.policy.train(was_training)
        return sum(losses) / len(losses)

    def _periodic_eval(self) -> dict[str, Any]:
        assert self.evaluate_fn is not None
        if self.ema is not None:
            self.ema.store(self.policy.parameters())
            self.ema.copy_to(self.policy.parameters())
        with torch.random.fork_rng(devices=[]):
            summary = self.evaluate_fn(self.policy, self.step)
        if self.ema is not None:
            self.ema.restore(self.policy.parameters())
        self.policy.train()
        return summary

    def _loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The policy's loss terms under the training precision's autocast, returned in fp32."""
        with autocast(self.device, self.cfg.precision):
            out = self.policy.compute_loss(batch)
        return {k: v.float() for k, v in out.items()}

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    # ----- the loop -----
    def fit(self) -> dict[str, Any]:
        """Train from ``self.step`` to ``cfg.steps``; returns wall time and final losses."""
        cfg = self.cfg
        self.policy.train()
        start_step = self.step
        self._t0 = self._t_log = time.perf_counter()
        self._n_timed = 0  # steps since the last log line in this session, for steps_per_s
        columns = (TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                   TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, disable=not self.progress, transient=False) as bar, first_interrupt_only():
            task = bar.add_task("train", total=cfg.steps, completed=self.step, info="")
            try:
                if self._pending:  # a resumed run first finishes the bookkeeping its interrupted step left
                    self._bookkeeping()
                while self.step < cfg.steps:
                    self._before_step = self._snapshot()
                    loss = self._train_step()
                    bar.update(task, advance=1, info=f"loss {loss:.4f}")
                    self._bookkeeping()
            except KeyboardInterrupt:  # later signals are dropped (first_interrupt_only): the checkpoint is whole
                self._undo_unfinished_step()
                self.save_checkpoint()
                raise TrainingInterrupted(
                    f"interrupted at step {self.step}; checkpoint saved in {self.ckpt_root}. Continue with --resume."
                ) from None
        elapsed = time.perf_counter() - self._t0
        return {"steps_trained": self.step - start_step, "wall_s": self.wall_s_before + elapsed,
                "s_per_step": elapsed / max(self.step - start_step, 1), "final_losses": self._last_losses}

    def _bookkeeping(self) -> None:
        """What step ``self.step`` calls for after its update: its log line (with the validation loss), the
        periodic evaluation, the checkpoint. An interrupt here leaves ``_pending`` set, and resume does it all
        again (the validation loss and evaluation are deterministic), dropping the half of it already logged."""
        cfg, step = self.cfg, self.step
        if self._due_record is not None:
            record = dict(self._due_record)
            if self.val_sampler is not None and (step % cfg.val_every == 0 or step == cfg.steps):
                record["val_loss"] = self.validation_loss()
            self._log(record)
        if self.evaluate_fn is not None and cfg.eval_every and step % cfg.eval_every == 0:
            self._log({"step": step, "eval": self._periodic_eval()})
        with interrupts_held():
            self._pending, self._due_record = False, None
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            self.save_checkpoint()

    def _account(self, losses: dict[str, float]) -> None:
        """Add a finished step's losses to the running sums; on a log step, fix its log line (called with
        interrupts held, together with the update, so the sums always match ``self.step``)."""
        cfg = self.cfg
        for k, v in losses.items():
            self._running[k] = self._running.get(k, 0.0) + v
        self._n_running += 1
        self._n_timed += 1
        self._pending = True
        if self.step % cfg.log_every == 0 or self.step == cfg.steps:
            now = time.perf_counter()
            self._last_losses = {k: v / self._n_running for k, v in self._running.items()}
            self._due_record = {"step": self.step, **self._last_losses, "lr": self.scheduler.get_last_lr()[0],
                                "steps_per_s": self._n_timed / (now - self._t_log),
                                "wall_s": self.wall_s_before + now - self._t0}
            self._running, self._n_running, self._n_timed, self._t_log = {}, 0, 0, now

    def _train_step(self) -> float:
        """One optimisation step, counted in ``self.step`` together with its update and its losses' accounting,
        which no signal interrupts; returns the loss."""
        self.policy.set_training_progress(self.step, self.cfg.steps)
        batch = self._to_device(self.policy.sample_batch(self.sampler, self.cfg.batch_size, self.generator))
        out = self._loss(batch)
        loss = out["loss"]
        if not torch.isfinite(loss):
            bad = [k for k, v in out.items() if not torch.isfinite(v).all()]
            last, _ = newest_intact_checkpoint(self.ckpt_root)
            raise TrainingDiverged(
                f"loss is {loss.item()} at step {self.step + 1} (non-finite terms: {bad}; lr "
                f"{self.scheduler.get_last_lr()[0]:.3g}). Lower the learning rate or check the data/normalisation. "
                f"Last good checkpoint: {last or 'none yet'} (kept)."
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        with interrupts_held():
            grad_norm = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            if self.ema is not None:
                self.ema.step(self.policy.parameters())
            self.step += 1
            self._before_step = None
            self._account({**{k: v.item() for k, v in out.items()}, "grad_norm": float(grad_norm)})
        return out["loss"].item()
