"""Quiet-machine speed benchmarks: pytest-benchmark JSON files (``python -m pytest benchmarks --benchmark-json=F``).

Each file is one session on one machine, so a benchmark is compared with ACT only within its own file: inference
rows against ACT's model call (chunk 8), training rows against ACT's training step. ``benchmarks/ratios.py``
uses the same ratio and number formats, so a value reads the same in its markdown and in the PDF.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from polibench.config import CONFIG_DIR
from report_gen.report.inputs import ReportError, config_value

#: The ACT benchmark (parameter of the test) that each group is compared with; other groups have no ratio.
REFERENCE = {"inference": "act_chunk8", "training": "act", "training_bf16": "act"}
#: Where the CTM-ACT benchmarks' tick count T was configured, for files written before the benchmarks recorded
#: it (``extra_info["ticks"]``; ``*_fixed_T`` runs all T ticks).
CTM_BASE_GIN = CONFIG_DIR / "include" / "ctm_act_base.gin"
_INFERENCE = "(model call, batch 1)"
_TRAINING = "(training step, batch 64)"
_TRAINING_BF16 = "(training step, batch 64, bf16)"
#: Readable row labels of benchmarks/test_speed.py's benchmarks, in table order; ``{T}`` is the tick count.
LABELS = {
    "test_model_call_latency_batch1[act_chunk8]": f"ACT, chunk of 8 {_INFERENCE}",
    "test_model_call_latency_batch1[act_ensembled]": f"ACT, temporal ensembling {_INFERENCE}",
    "test_model_call_latency_batch1[ctm_act_unet_fixed_T]": f"CTM-ACT unet, {{T}} ticks {_INFERENCE}",
    "test_model_call_latency_batch1[ctm_act_mlp_fixed_T]": f"CTM-ACT mlp, {{T}} ticks {_INFERENCE}",
    "test_model_call_latency_batch1[ctm_act_tick_sync_fixed_T]": f"CTM-ACT tick_sync, {{T}} ticks {_INFERENCE}",
    "test_model_call_latency_batch1[diffusion_ddim10]": f"Diffusion Policy, DDIM-10 {_INFERENCE}",
    "test_model_call_latency_batch1[diffusion_ddpm100]": f"Diffusion Policy, DDPM-100 {_INFERENCE}",
    "test_training_step_batch64[act]": f"ACT {_TRAINING}",
    "test_training_step_batch64_bf16[act]": f"ACT {_TRAINING_BF16}",
    **{f"test_training_step_batch64{suffix}[{name}]": f"{text} {tail}"
       for suffix, tail in (("", _TRAINING), ("_bf16", _TRAINING_BF16))
       for name, text in (("ctm_act_unet", "CTM-ACT unet"), ("ctm_act_mlp", "CTM-ACT mlp"),
                          ("ctm_act_tick_sync", "CTM-ACT tick_sync"), ("diffusion", "Diffusion Policy"),
                          ("lerobot_act", "LeRobot ACT"), ("lerobot_diffusion", "LeRobot Diffusion Policy"))},
    "test_bare_env_steps": "gym-pusht environment step (no policy)",
    "test_evaluation_episode_with_act": "evaluation episode with ACT (100 steps)",
}


@dataclass(frozen=True)
class Benchmark:
    name: str
    group: str
    median_s: float
    ratio: float | None
    device: str | None
    ticks: int | None = None

    @property
    def param(self) -> str | None:
        return param(self.name)


@dataclass(frozen=True)
class SpeedFile:
    """One pytest-benchmark session: where it ran and its benchmarks with their ratio against ACT."""

    path: Path
    tag: str
    machine: str
    benchmarks: dict[str, Benchmark]

    def reference(self, group: str) -> Benchmark | None:
        """The ACT benchmark that ``group``'s ratios divide by, if the session has it."""
        return next((b for b in self.benchmarks.values() if b.group == group and is_reference(group, b.name)), None)

    def family(self, group: str, prefix: str) -> list[Benchmark]:
        """The benchmarks of ``group`` whose parameter starts with ``prefix`` (e.g. every ``ctm_act`` variant)."""
        return [b for b in self.benchmarks.values() if b.group == group and (b.param or "").startswith(prefix)]


def ratios_vs_act(benchmarks: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Each benchmark's median over the median of its group's ACT reference in the same session (None: no
    reference for the group, or the reference is missing from the session)."""
    refs = {_group(b): b["stats"]["median"] for b in benchmarks if is_reference(_group(b), b["name"])}
    return {b["name"]: b["stats"]["median"] / refs[_group(b)] if refs.get(_group(b)) else None for b in benchmarks}


def is_reference(group: str, name: str) -> bool:
    """Whether benchmark ``name`` is the ACT benchmark that ``group``'s ratios divide by."""
    return group in REFERENCE and param(name) == REFERENCE[group]


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def param(name: str) -> str | None:
    """The parametrize id of a benchmark name, ``act`` in ``test_training_step_batch64[act]``."""
    match = re.search(r"\[(.+)\]$", name)
    return match.group(1) if match else None


def label(name: str, ticks: int | None = None) -> str:
    """A readable row label with the tick count the benchmark ran (``ticks``; older files did not record it);
    benchmarks this module does not know keep their pytest name."""
    return LABELS.get(name, name).replace("{T}", str(ticks) if ticks else _configured_ticks())


def load_speed(paths: Sequence[Path]) -> list[SpeedFile]:
    """Read and check every file up front; raise :class:`ReportError` naming the first bad one and the fix."""
    stems = [Path(p).stem for p in paths]
    return [_load_one(Path(p), _tag(Path(p), stems)) for p in paths]


def _tag(path: Path, stems: Sequence[str]) -> str:
    """The file's name in the table's header: its stem, with its folder where two files share a stem."""
    return path.stem if stems.count(path.stem) == 1 else f"{path.parent.name}/{path.stem}"


def _load_one(path: Path, tag: str) -> SpeedFile:
    fix = f"give the file written by `python -m pytest benchmarks --benchmark-json={path}`"
    if not path.is_file():
        raise ReportError(f"--speed {path} is not a file: {fix}")
    try:
        doc = json.loads(path.read_text())
        benches = doc["benchmarks"]
        medians = [float(b["stats"]["median"]) for b in benches]
        names = [str(b["name"]) for b in benches]
        machine = describe_machine(doc["machine_info"], benches)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        why = f"missing key {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
        raise ReportError(f"--speed {path} is not a pytest-benchmark JSON ({why}): {fix}") from exc
    if not benches or not all(math.isfinite(m) and m > 0 for m in medians):
        raise ReportError(f"--speed {path} has no benchmarks or a median that is not a positive time: {fix}")
    ratios = ratios_vs_act(benches)
    return SpeedFile(path, tag, machine, {n: Benchmark(n, _group(b), m, ratios[n], _device(b), _ticks(b))
                                          for n, m, b in zip(names, medians, benches)})


def describe_machine(info: Mapping[str, Any], benchmarks: Sequence[Mapping[str, Any]]) -> str:
    """Processor and core count from pytest-benchmark's machine_info, and the torch device the benchmarks
    recorded (pytest-benchmark records no GPU, so a GPU run is known by its device, e.g. ``cuda``)."""
    cpu = info.get("cpu", {})
    text = f"{cpu.get('brand_raw') or info.get('processor') or 'unknown processor'}, {cpu.get('count', '?')} CPU cores"
    gpu = info.get("gpu")  # written by benchmarks/conftest.py's machine-info hook
    devices = sorted({d for d in map(_device, benchmarks) if d})
    if gpu:
        text += f", GPU {gpu}"
    if not devices:
        return text + "; no device recorded (the benchmarks' default, the CPU)"
    unnamed = not gpu and any(not d.startswith("cpu") for d in devices)
    return text + f"; models on device {', '.join(devices)}" + (" (the file names no GPU model)" if unnamed else "")


def _configured_ticks() -> str:
    """T of the shipped CTM-ACT configs, for files that did not record it; ``all`` where the gin file is absent."""
    text = CTM_BASE_GIN.read_text() if CTM_BASE_GIN.is_file() else ""
    return config_value(text, "ctm_act.ticks") or "all"


def _group(bench: Mapping[str, Any]) -> str:
    return str((bench.get("extra_info") or {}).get("group", ""))


def _ticks(bench: Mapping[str, Any]) -> int | None:
    ticks = (bench.get("extra_info") or {}).get("ticks")
    return int(ticks) if ticks else None


def _device(bench: Mapping[str, Any]) -> str | None:
    device = (bench.get("extra_info") or {}).get("device")
    return str(device) if device else None
