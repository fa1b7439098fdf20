"""Every registered component of every kind, built into a policy that has a slot for it and run through real
training steps and real model calls in gym-pusht. The cases come from the registry itself, so registering a
component is all it takes to have it tested: a new synapse, loss or policy joins this test by existing.

A component is placed the way ``polibench ablate --axis <kind>`` places it (:mod:`polibench.sweep.axes`): into the
slot a host policy declares for its kind. Hosts are tried in turn (ACT, CTM-ACT, Diffusion Policy, the MLP
floor); a loss joins the host's own loss terms. The case passes on the first host that trains and evaluates with
the component, and fails with every host's error if none does.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from polibench import registry
from polibench.cli import main
from polibench.config import ConfigError
from polibench.sweep.axes import AxisError, load_base, resolve
from tests.tiny_run import TINY

BUDGET = [b for b in TINY if not b.startswith("policy.act.")] + ["polibench.EvalConfig.max_steps = 12",
                                                                   "polibench.EvalConfig.episodes = 1",
                                                                   "polibench.TrainConfig.steps = 2"]
#: Host configs, each with bindings that make it tiny (seconds per run).
HOSTS: dict[str, tuple[str, list[str]]] = {
    "act": ("act", [b for b in TINY if b.startswith("policy.act.")]),
    "ctm_act": ("ctm_act_unet", [
        "policy.ctm_act.dim = 32", "policy.ctm_act.ff_dim = 64", "policy.ctm_act.encoder_layers = 1",
        "policy.ctm_act.vae_layers = 1", "policy.ctm_act.neurons = 32", "policy.ctm_act.memory = 4",
        "policy.ctm_act.ticks = 3", "policy.ctm_act.action_pairs = 8", "policy.ctm_act.out_pairs = 16",
        "policy.ctm_act.horizon = 8"]),
    "diffusion": ("diffusion", ["head.unet1d.down_dims = (16, 32)", "head.unet1d.step_embed_dim = 16",
                                "DIFFUSION_STEPS = 4"]),
    "mlp_chunk": ("mlp_chunk", ["policy.mlp_chunk.hidden = 32"]),
}
#: The whole config of each registered policy (the policy kind is tested by its own config, made tiny).
POLICY_CONFIGS = {"act": "act", "ctm_act": "ctm_act_unet", "diffusion": "diffusion", "mlp_chunk": "mlp_chunk",
                  "lerobot_act": "lerobot_act", "lerobot_diffusion": "lerobot_diffusion"}
LEROBOT = importlib.util.find_spec("lerobot") is not None
#: Components that need something no test data set holds; where each is trained instead.
ELSEWHERE = {("data_source", "lerobot_dataset"): "needs a LeRobotDataset on disk: tests/test_lerobot.py trains from one"}
CASES = [(e.kind, e.name) for e in registry.entries()]


def trained_and_evaluated(out: Path, config: str, bindings: list[str]) -> str | None:
    """None if `polibench run` trained and evaluated; else why not."""
    args = ["run", config, "--out", str(out), "--no-progress"]
    for binding in bindings:
        args += ["--gin_param", binding]
    try:
        code = main(args)
    except Exception as exc:  # a bug inside the component: keep going to the next host, report all
        return f"{type(exc).__name__}: {exc}"
    if code != 0:
        return f"exit {code}"
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    episodes = (out / "eval" / "episodes.jsonl").read_text().splitlines()
    assert log and all(r.get("loss") is not None for r in log if "eval" not in r) and len(episodes) == 1
    return None


def placements(kind: str, name: str) -> list[tuple[str, str, list[str]]]:
    """(host, config, bindings) for every host with a slot of ``kind`` (its own, or one its config binds, such as
    the Experiment's data source) that ``name`` can fill."""
    found = []
    for host, (config, tiny) in HOSTS.items():
        base = load_base([config], [*BUDGET, *tiny])
        slots = [slot.component for slot in base.slots().values() if slot.kind == kind]
        if len(slots) != 1 or name in slots[0].unfit:
            continue
        value = "+".join(dict.fromkeys([*slots[0].default, name])) if slots[0].form == "list" else name
        try:
            axis = resolve(kind, [value], base)
        except (AxisError, ConfigError):
            continue  # the slot serves entries this track does not have, or the value does not fit it
        found.append((host, config, [*BUDGET, *tiny, *axis.variants[0].gin_params]))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("kind, name", CASES, ids=[f"{k}.{n}" for k, n in CASES])
def test_every_registered_component_trains_and_acts(kind, name, tmp_path):
    if (kind, name) in ELSEWHERE:
        pytest.skip(ELSEWHERE[kind, name])
    if name.startswith("lerobot") and not LEROBOT:
        pytest.skip("LeRobot is not installed (optional extra: see docs/lerobot.md)")
    if kind == "policy":
        config = POLICY_CONFIGS.get(name)
        assert config, f"policy {name!r} has no whole config to test it with: add it to POLICY_CONFIGS"
        tiny = HOSTS.get(name, (None, []))[1]
        why = trained_and_evaluated(tmp_path / "run", config, [*BUDGET, *tiny])
        assert why is None, why
        return
    tried = placements(kind, name)
    if not tried:
        pytest.skip(f"no host here has a {kind} slot that {name!r} fits on the keypoints track (image components: "
                    f"the pixels-track tests in tests/test_act.py)")
    errors = {}
    for host, config, bindings in tried:
        why = trained_and_evaluated(tmp_path / host, config, bindings)
        if why is None:
            return
        errors[host] = why
    pytest.fail(f"{kind}.{name} trained with no host: {errors}")
