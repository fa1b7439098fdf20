"""The parity round's recipe and sizes as its committed runs trained them, read once for the paper's table
(``tab_recipe.tex``) and the study README's (markdown), so the two cannot state different settings.

Each cell is read from a run's operative ``config.gin`` (every binding the run used, defaults included) and its
``run.json``, never from the config file that meant to set it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from report_gen.paper import configs
from report_gen.paper.screens import SWEEP as SCREENS_SWEEP
from report_gen.paper.sources import CPU, read

#: The columns: (heading, sweep, variant whose first run's operative config is read).
COLUMNS = (("ACT", SCREENS_SWEEP, "parity_act"), ("CTM-ACT", SCREENS_SWEEP, "parity_ctm_act"),
           ("Diffusion Policy", "headline_long", "diffusion"))
#: The rows: (label, bindings printed joined by " / "); ``{p}`` is the run's policy.
ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("token width / feed-forward", ("{p}.dim", "{p}.ff_dim")),
    ("encoder / decoder layers", ("{p}.encoder_layers", "{p}.decoder_layers")),
    ("CTM neurons / ticks per call", ("ctm_act.neurons", "ctm_act.ticks")),
    ("CTM synapse", ("ctm_act.synapse",)),
    ("denoiser / noise scheduler", ("diffusion.denoiser", "diffusion.noise_scheduler")),
    ("observation steps", ("{p}.n_obs_steps",)),
    ("horizon / actions run per call", ("{p}.horizon", "{p}.n_action_steps")),
    ("EMA decay of the weights", ("TrainConfig.ema_decay",)),
    ("training precision", ("TrainConfig.precision",)),
    ("steps / batch / warm-up", ("TrainConfig.steps", "TrainConfig.batch_size", "TrainConfig.warmup_steps")),
    ("learning rate / weight decay", ("TrainConfig.lr", "TrainConfig.weight_decay")),
    ("Adam betas", ("TrainConfig.betas",)),
)

#: One cell: its parts as the config states them (readable), ``None`` where the policy has no such binding;
#: ``()`` where it has none of the row's bindings.
Cell = tuple[str | None, ...]


@dataclass(frozen=True)
class Column:
    """One policy of the table: its heading, the gin file its run was trained from, and the run directory."""

    heading: str
    gin: str
    run: Path


@dataclass(frozen=True)
class Recipe:
    columns: tuple[Column, ...]
    parameters: tuple[int, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]


def columns(study: Path) -> tuple[Column, ...]:
    found = []
    for heading, sweep, name in COLUMNS:
        path = study / CPU / sweep
        run = path / next(v for v in read(path / "results.json")["variants"] if v["name"] == name)["runs"][0]
        gin = Path(read(path / "sweep.json")["variants"][name]["gin_files"][0]).name
        found.append(Column(heading, gin, run))
    return tuple(found)


def recipe(study: Path) -> Recipe:
    cols = columns(study)
    settings = [configs.bindings(c.run / "config.gin") for c in cols]
    infos = [read(c.run / "run.json") for c in cols]
    rows = []
    for label, names in ROWS:
        cells = []
        for config, info in zip(settings, infos):
            parts = tuple(config.get(n.format(p=info["policy"])) for n in names)
            cells.append(() if all(p is None for p in parts) else
                         tuple(None if p is None else configs.readable(p) for p in parts))
        rows.append((label, tuple(cells)))
    return Recipe(cols, tuple(int(i["n_params"]) for i in infos), tuple(rows))


def cell_text(cell: Cell, dash: str, show: Callable[[str], str] = str) -> str:
    """A cell's parts joined by " / ", each through ``show`` (escaping), ``dash`` for what is missing."""
    return dash if not cell else " / ".join(dash if p is None else show(p) for p in cell)
