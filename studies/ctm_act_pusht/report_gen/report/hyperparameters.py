"""The hyperparameter table: every headline policy's settings, read from its runs' operative configs.

One column per headline variant, one row per setting; a setting a policy does not have reads "-". Values come
from the first training seed's config.gin (the seeds of a variant differ only in the seed) and are shown as
words, not gin syntax (``@synapse.unet`` reads "unet").
"""

from __future__ import annotations

import re
from typing import NamedTuple

from report_gen.report.format import Tex, escape
from report_gen.report.inputs import RunFacts, Sweep
from report_gen.report.names import policy_name
from report_gen.report.tables import Table


class Row(NamedTuple):
    """One setting: binding suffixes (``{p}``: the policy's registered name) tried in order for the first one a
    config binds, or, with ``joined``, all shown together as "a / b"."""

    label: str
    suffixes: tuple[str, ...]
    joined: bool = False


ROWS: tuple[Row, ...] = tuple(Row(*r) for r in (
    ("optimiser steps", ("TrainConfig.steps",)),
    ("batch size", ("TrainConfig.batch_size",)),
    ("learning rate (AdamW)", ("TrainConfig.lr",)),
    ("weight decay", ("TrainConfig.weight_decay",)),
    ("warm-up steps (then cosine)", ("TrainConfig.warmup_steps",)),
    ("gradient clip (norm)", ("TrainConfig.grad_clip",)),
    ("EMA decay", ("TrainConfig.ema_decay",)),
    ("training precision", ("TrainConfig.precision",)),
    ("observation steps", ("{p}.n_obs_steps",)),
    ("chunk length (actions)", ("{p}.horizon",)),
    ("actions executed per call", ("{p}.n_action_steps",)),
    ("transformer width", ("{p}.dim",)),
    ("attention heads", ("{p}.heads",)),
    ("feed-forward width", ("{p}.ff_dim",)),
    ("encoder layers", ("{p}.encoder_layers",)),
    ("decoder layers", ("{p}.decoder_layers",)),
    ("CVAE encoder layers", ("{p}.vae_layers",)),
    ("latent size", ("{p}.latent_dim",)),
    ("KL weight", ("kl.weight",)),
    ("dropout", ("{p}.dropout",)),
    ("U-Net widths", ("unet1d.down_dims",)),
    ("noise scheduler", ("{p}.noise_scheduler",)),
    ("denoising steps in training", ("DIFFUSION_STEPS", "{p}.num_train_timesteps")),
    ("neurons D", ("{p}.neurons",)),
    ("trace length M", ("{p}.memory",)),
    ("ticks T", ("{p}.ticks",)),
    ("action / output pairs", ("{p}.action_pairs", "{p}.out_pairs"), True),
    ("synapse", ("{p}.synapse",)),
    ("neuron-level model", ("{p}.neuron_model",)),
    ("pairing", ("{p}.pairing",)),
    ("sync gating", ("{p}.gating",)),
    ("certainty head (halting rule)", ("{p}.halting",)),
    ("tick curriculum (fraction)", ("{p}.curriculum_fraction",)),
    ("tick penalty weight", ("tick_penalty.weight",)),
))


def readable(value: str | None) -> str:
    """A gin value as words: references lose their ``@kind.`` and ``()``, strings their quotes."""
    if value is None or value == "None":
        return "-"
    value = re.sub(r"@\w+\.(\w+)(\(\))?", r"\1", value)
    return value.strip("'\"").replace("_", " ") if not re.fullmatch(r"[\d.e+-]+", value) else value


def _cell(facts: RunFacts, row: Row) -> str:
    """The row's value in the run's config ("-" where it binds none of the suffixes)."""
    values = [facts.binding(s.format(p=facts.policy)) for s in row.suffixes]
    if all(v is None for v in values):
        return "-"
    if row.joined:
        return " / ".join(readable(v) for v in values)
    return next(readable(v) for v in values if v is not None)


def hyperparameter_table(sweep: Sweep) -> Table:
    """Rows of :data:`ROWS` that at least one variant sets, plus the parameter count, one column per variant."""
    first = {v["name"]: sweep.runs[v["name"]][0] for v in sweep.variants}
    rows = [[row.label, *(_cell(f, row) for f in first.values())] for row in ROWS]
    rows = [r for r in rows if any(c != "-" for c in r[1:])]
    rows.append(["parameters", *(f"{f.n_params / 1e6:.2f}M" if f.n_params else "-" for f in first.values())])
    return Table("Hyperparameters of the headline policies, read from each variant's operative config (first "
                 "training seed); - where a policy has no such setting.", "tab:hyperparameters",
                 ["setting", *map(policy_name, first)], [[Tex(escape(c)) for c in r] for r in rows], compact=True)
