"""Batch-1 model-call time of several policies, with its spread over processes as well as over calls.

The pytest-benchmark latencies (``test_speed.py``) time many calls in one process, so their interval says nothing
about what moves between processes: memory layout, thread placement, a neighbour's load. Here each policy is timed
in ``--processes`` fresh interpreters, taken in turn (policy A's first process, B's first, ..., A's second, ...), so
drift on the machine reaches every policy alike. Each process builds its policy, warms it up, and times ``--calls``
calls of ``predict_chunk`` on one real observation on one thread; the table gives the median over processes of each
process's median call, and the smallest and largest process median beside it.

A policy is ``LABEL=SOURCE`` with SOURCE a run directory (its trained weights) or a gin file (untrained weights,
normalised on real data: the time of a fixed-compute call does not depend on the weights), and optional
``--gin_param`` bindings given as ``LABEL:BINDING``::

    G=studies/ctm_act_pusht/gin
    python benchmarks/latency_spread.py --out studies/ctm_act_pusht/results/cpu/latency_parity \\
        --policy act=$G/parity_act.gin --policy ctm_act=$G/parity_ctm_act.gin \\
        --policy dp_ddpm100=$G/parity_diffusion.gin --policy dp_ddim10=$G/parity_diffusion.gin \\
        --gin_param "dp_ddim10:policy.diffusion.noise_scheduler = @noise_scheduler.ddim" ...

with one ``--gin_param`` for each binding of ``polibench/configs/diffusion_ddim.gin``.

Run it on a quiet machine (no training beside it) and say which machine in the text that cites it; the JSON records
the CPU, torch's version and the thread count.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from polibench.api import load_policy
from polibench.components.data_source.pusht_zarr import PushTZarr
from polibench.config import parse
from polibench.io import write_json, write_text
from polibench.normalize import data_stats
from polibench.policy import FeatureSpec, Policy
from polibench.settings import Experiment, build_policy
from polibench.tracks import TRACKS

REPO = Path(__file__).resolve().parents[1]


def time_calls(source: str, bindings: list[str], calls: int, warmup: int) -> dict[str, object]:
    """One process's measurement: ``calls`` timed batch-1 model calls after ``warmup`` untimed ones."""
    torch.set_num_threads(1)
    data = PushTZarr(max_episodes=20).load()  # normalisation statistics, and the observation the calls take
    policy = _build(Path(source), bindings, data)
    obs = _one_observation(policy, data)
    with torch.inference_mode():
        for _ in range(warmup):
            policy.predict_chunk(obs)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            policy.predict_chunk(obs)
            times.append(time.perf_counter() - start)
    return {"median_ms": 1000 * statistics.median(times), "p95_ms": 1000 * float(np.percentile(times, 95)),
            "n_params": sum(p.numel() for p in policy.parameters()), "calls": calls}


def _build(source: Path, bindings: list[str], data: Any) -> Policy:
    if source.is_dir():
        return load_policy(source, device="cpu", gin_params=bindings)
    parse([source], bindings)
    features = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)
    policy = build_policy(Experiment(), features)
    policy.normalizer.set_stats(data_stats(data, features.vector_keys))
    return policy.eval()


def _one_observation(policy: Policy, data: Any) -> dict[str, torch.Tensor]:
    """The first frame of the first demonstration, repeated over the policy's observation steps."""
    return {k: torch.as_tensor(v[:1])[:, None].expand(1, policy.n_obs_steps, *v.shape[1:])
            for k, v in data.obs.items()}


def _machine() -> dict[str, object]:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in flags.splitlines() if line.startswith("model name")),
                 platform.processor())
    return {"cpu": model, "avx512_bf16": "avx512_bf16" in flags, "torch": torch.__version__, "threads": 1,
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def measure(policies: dict[str, str], bindings: dict[str, list[str]], processes: int, calls: int,
            warmup: int) -> dict[str, object]:
    """Every policy in ``processes`` fresh interpreters, taken in turn; returns the JSON document."""
    runs: dict[str, list[dict[str, object]]] = {label: [] for label in policies}
    for k in range(processes):
        for label, source in policies.items():
            argv = [sys.executable, __file__, "--worker", source, "--calls", str(calls), "--warmup", str(warmup),
                    *(x for b in bindings.get(label, []) for x in ("--binding", b))]
            done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{label} ({source}) failed in process {k + 1}:\n{done.stderr[-2000:]}")
            runs[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"process {k + 1}/{processes} {label}: {runs[label][-1]['median_ms']:.2f} ms", flush=True)
    rows = {}
    for label, measured in runs.items():
        medians = [float(m["median_ms"]) for m in measured]
        rows[label] = {"source": policies[label], "bindings": bindings.get(label, []),
                       "n_params": measured[0]["n_params"], "median_ms": statistics.median(medians),
                       "process_min_ms": min(medians), "process_max_ms": max(medians),
                       "process_medians_ms": medians, "p95_ms": [m["p95_ms"] for m in measured]}
    return {"machine": _machine(), "processes": processes, "calls": calls, "warmup": warmup, "policies": rows}


def to_markdown(doc: dict[str, object]) -> str:
    machine = doc["machine"]
    lines = [f"Batch-1 model call (`predict_chunk`), one thread, {machine['cpu']}, torch {machine['torch']}, "
             f"{machine['date']}: median over {doc['processes']} processes of each process's median of "
             f"{doc['calls']} calls, with the smallest and largest process median.", "",
             "| policy | parameters | median ms | process medians, min - max |", "|---|---|---|---|"]
    for label, row in doc["policies"].items():
        lines.append(f"| {label} | {row['n_params'] / 1e6:.2f}M | {row['median_ms']:.2f} | "
                     f"{row['process_min_ms']:.2f} - {row['process_max_ms']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", action="append", default=[], metavar="LABEL=SOURCE",
                        help="a label and a run directory or gin file (repeatable)")
    parser.add_argument("--gin_param", action="append", default=[], metavar="LABEL:BINDING",
                        help="a binding for one policy, e.g. 'dp_ddim10:policy.diffusion.num_inference_steps = 10'")
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", type=Path, help="directory for latency.json and latency.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--binding", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(time_calls(args.worker, args.binding, args.calls, args.warmup)))
        return 0
    policies = dict(_split(p, "=", "--policy", "LABEL=SOURCE") for p in args.policy)
    if not policies or args.out is None:
        parser.error("give --out and at least one --policy LABEL=SOURCE")
    bindings: dict[str, list[str]] = {}
    for given in args.gin_param:
        label, binding = _split(given, ":", "--gin_param", "LABEL:BINDING")
        if label not in policies:
            parser.error(f"--gin_param {given!r} names {label!r}, which no --policy gives")
        bindings.setdefault(label, []).append(binding)
    doc = measure(policies, bindings, args.processes, args.calls, args.warmup)
    write_json(args.out / "latency.json", doc)
    write_text(args.out / "latency.md", to_markdown(doc))
    print(to_markdown(doc))
    return 0


def _split(text: str, sep: str, option: str, form: str) -> tuple[str, str]:
    label, found, rest = text.partition(sep)
    if not found or not label.strip() or not rest.strip():
        raise SystemExit(f"{option} {text!r} is not {form}")
    return label.strip(), rest.strip()


if __name__ == "__main__":
    sys.exit(main())
