"""Readable names for sweep axes and variants, so the paper's appendix never prints gin bindings as prose.

A sweep records its axis as the binding it varied (``policy.ctm_act.ticks``) and its variants as the values'
directory names (``10``, ``True``, ``'studies/ctm_act_pusht/weights/act'``); a reader wants "ticks per call T" and
"T = 10". Whole policies are named by :mod:`report_gen.paper.style`, which also draws them. Unknown axes and values
fall back to the recorded text (escaped where it is set, like any other text).
"""

from __future__ import annotations

from polibench.sweep.inference import TOLERANCE_PREFIX
from report_gen.paper.style import label

#: Axis (binding or component kind) -> (short name, how one value reads; ``{}`` is the value's own label).
AXES: dict[str, tuple[str, str]] = {
    "policy": ("policy", "{}"),
    "reevaluate": ("policy", "{}"),
    "policy.ctm_act.ticks": ("ticks at training", "T = {}"),
    "ticks_inference": ("ticks at inference", "{} ticks"),
    "synapse": ("synapse", "{} synapse"),
    "gating": ("sync gating", "{} gating"),
    "pairing": ("neuron pairing", "{} pairing"),
    "neuron_model": ("neuron-level models", "{} neuron models"),
    "policy.ctm_act.memory": ("trace memory M", "M = {}"),
    "policy.ctm_act.read_out": ("read-out", "read-out from {}"),
    "policy.ctm_act.train_windows": ("state across calls", "{}"),
    "policy.ctm_act.temporal_ensemble_coeff": ("a call every step", "{}"),
    "policy.ctm_act.n_action_steps": ("actions per call", "{} actions per call"),
    "policy.ctm_act.curriculum_fraction": ("tick curriculum", "curriculum over {} of training"),
    "loss.tick_penalty.weight": ("tick penalty", "tick penalty {}"),
    "loss.chunk_smoothness.weight": ("chunk-smoothness prior", "chunk-smoothness prior {}"),
    "polibench.Experiment.init_from": ("initialisation", "{}"),
    "halting": ("halting rule", "{} halting"),
    "halting.variance.enabled": ("halting at inference", "{}"),
    "halting.predicted_error.max_error": ("predicted-error budget", "error budget {}"),
    "halting.convergence.max_change": ("convergence budget", "change budget {}"),
    "polibench.TrainConfig.precision": ("training precision", "{}"),
    "loss.diffusion_mse.mask_padding": ("Diffusion Policy loss over padded steps", "{}"),
}

#: Value labels that read better than the value itself, per axis (None: any axis).
VALUES: dict[tuple[str | None, str], str] = {
    ("ticks_inference", "1"): "1 tick",
    ("halting.variance.enabled", "True"): "halting on",
    ("halting.variance.enabled", "False"): "halting off (all ticks)",
    ("halting.predicted_error.max_error", "None"): "never halting (tick predicted best)",
    ("halting.predicted_error.tolerance", "None"): "never halting (tick predicted best)",
    ("halting.predicted_error.tolerance", "0.04"): "halting within tolerance 0.04",
    ("polibench.Experiment.init_from", "weights_act"): "from trained ACT weights",
    ("polibench.Experiment.init_from", "None"): "from scratch",
    ("policy.ctm_act.train_windows", "1"): "state reset per call",
    ("policy.ctm_act.train_windows", "4"): "state carried (trained on 4 consecutive windows)",
    ("policy.ctm_act.n_action_steps", "8"): "chunks of 8",
    ("policy.ctm_act.n_action_steps", "1"): "a call every step, newest chunk's first action",
    ("policy.ctm_act.temporal_ensemble_coeff", "None"): "newest chunk's first action",
    ("policy.ctm_act.temporal_ensemble_coeff", "0.01"): "temporal ensemble of chunks (0.01)",
    ("policy.ctm_act.read_out", "sync"): "synchronisation",
    ("policy.ctm_act.read_out", "activations"): "post-activations",
    ("loss.diffusion_mse.mask_padding", "True"): "padded steps masked",
    ("loss.diffusion_mse.mask_padding", "False"): "padded steps in the loss",
    ("policy.ctm_act.curriculum_fraction", "0.0"): "no tick curriculum",
    ("polibench.TrainConfig.precision", "bf16"): "bf16 autocast",
    ("polibench.TrainConfig.precision", "fp32"): "fp32",
    # pairings by what they pick: independent random pairs (the default), or every pair of a block of neurons,
    # fixed (the first / last neurons) or drawn at random; committed sweeps name them by their former names
    ("pairing", "independent_pairs"): "random pairs",
    ("pairing", "random_pairing"): "random pairs",
    ("pairing", "first_last"): "dense pairs of a fixed block",
    ("pairing", "dense_random_subset"): "dense pairs of a random subset",
    ("pairing", "random"): "dense pairs of a random subset",
    # rivals paired across sweeps (`polibench verdicts --also`), named for the comparison they stand in
    (None, "best_halting_inference/None"): "the screened configuration (unet synapse), never halting",
    (None, "inference_steps_long/8"): "CTM-ACT (unet) in chunks of 8, 30000 steps",
    (None, "inference_steps_long_act/8"): "ACT in chunks of 8, 30000 steps",
    (None, "inference_ensemble_long_act/0.01"): "ACT ensembled every step (0.01), 30000 steps",
    (None, "first_last"): "first-last",
    (None, "tick_sync"): "tick-sync",
    (None, "predicted_error"): "predicted-error",
    (None, "none"): "no",
}


#: Inference-sweep axes over a halting rule's calibrated budget (printed to full float precision in directory
#: names), and the rule's name in prose.
BUDGET_AXES = {"halting.predicted_error.max_error": "predicted-error", "halting.convergence.max_change": "convergence"}


def _significant(value: str, digits: int = 3) -> str:
    """A calibrated budget such as ``0.0893561`` as a reader writes it (``0.0894``); other text unchanged."""
    try:
        return f"{float(value):.{digits}g}"
    except ValueError:
        return value


def axis_name(axis: str) -> str:
    """The short name of a sweep axis ("ticks at training")."""
    return AXES.get(axis, (axis.rsplit(".", 1)[-1].replace("_", " "), "{}"))[0]


def variant_name(axis: str, variant: str) -> str:
    """A variant as a reader names it ("T = 10", "halting off (all ticks)", "CTM-ACT (unet)")."""
    if (axis, variant) in VALUES:
        return VALUES[(axis, variant)]
    if variant.startswith(TOLERANCE_PREFIX):  # `ablate-inference --tolerances`: each seed at its own budget
        return f"tolerance {variant[len(TOLERANCE_PREFIX):]} (budget per seed)"
    own = VALUES.get((None, variant), label(variant) if variant.isidentifier() else variant)
    if axis in BUDGET_AXES:
        own = _significant(own)
    pattern = AXES.get(axis, ("", "{}"))[1]
    return pattern.format(own)
