"""Registry: registration, lookup errors with close matches, gin names, plugins via entry points."""

from __future__ import annotations

import inspect
import sys
import textwrap

import gin
import pytest
import torch

from polibench import registry
from polibench.ctm.core import CTMCore
from polibench.ctm.parts import ContractError
from polibench.registry import DuplicateComponentError, UnknownComponentError, register


def test_every_kind_exists_and_builtins_are_listed():
    assert set(registry.kinds()) >= {"policy", "backbone", "encoder", "head", "synapse", "neuron_model", "pairing",
                                   "gating", "halting", "loss", "noise_scheduler", "data_source"}
    assert "act" in registry.names("policy")
    assert "pusht_zarr" in registry.names("data_source")
    assert {"l1_chunk", "kl"} <= set(registry.names("loss"))


def test_unknown_name_lists_valid_names_and_closest():
    with pytest.raises(UnknownComponentError) as err:
        registry.get("loss", "l1_chunkk")
    msg = str(err.value)
    assert "Did you mean 'l1_chunk'?" in msg and "kl" in msg


def test_unknown_kind_suggests_kind():
    with pytest.raises(UnknownComponentError, match="Did you mean 'synapse'"):
        registry.names("synapses")


def test_duplicate_name_raises():
    with pytest.raises(DuplicateComponentError, match="already registered"):
        registry.register("loss", "kl")(type("AnotherKL", (), {}))


def test_registered_component_is_gin_configurable_under_kind_dot_name():
    @registry.register("head", "test_scale_head")
    class ScaleHead:
        """Multiplies by a gin-set factor."""

        def __init__(self, factor: float = 1.0) -> None:
            self.factor = factor

    gin.parse_config("head.test_scale_head.factor = 3.5")
    assert registry.create("head", "test_scale_head").factor == 3.5
    entry = [e for e in registry.entries("head") if e.name == "test_scale_head"][0]
    assert entry.doc == "Multiplies by a gin-set factor."


def test_entry_point_plugin_is_loaded_and_listed(tmp_path, monkeypatch):
    """A user's own package registers a component with one decorator and exposes it through an entry point."""
    pkg = tmp_path / "my_plugin_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from polibench.registry import register

        @register("gating", "plugin_gate")
        class PluginGate:
            """A gate from outside polibench (the gating contract: built with the pair neurons and D)."""

            groups = 1

            def __init__(self, pair_neurons, n_neurons: int, k: int = 1) -> None:
                self.k = k

            def __call__(self, sync_action):
                return sync_action.new_ones(sync_action.shape[0], 1)
    '''))
    dist = tmp_path / "my_plugin_pkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin-pkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[polibench.components]\nmine = my_plugin_pkg\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    try:
        assert "plugin_gate" in registry.names("gating")
        gin.parse_config("gating.plugin_gate.k = 5")
        assert registry.create("gating", "plugin_gate", pair_neurons=None, n_neurons=8).k == 5
    finally:
        sys.modules.pop("my_plugin_pkg", None)
        registry._REGISTRY["gating"].pop("plugin_gate", None)


def test_cli_list_prints_kinds_and_one_kind(capsys):
    from polibench.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for kind in ("policy", "synapse", "noise_scheduler", "data_source"):
        assert kind in out
    assert "polibench.components.policy.act" in out
    assert main(["list", "loss"]) == 0
    out = capsys.readouterr().out
    assert "l1_chunk" in out and "policy.act" not in out


@pytest.mark.parametrize("kind, body", [
    ("synapse", "def __init__(self, width: int = 256): super().__init__()\n    def forward(self, attn, z, tick, sync): return z"),
    ("synapse", "def __init__(self, d_input, d_model, n_sync_action): super().__init__()\n    def forward(self, x): return x"),
    ("neuron_model", "def __init__(self, d_model): super().__init__()\n    def forward(self, history): return history[..., -1]"),
    ("halting", "def __init__(self, n_sync_out, threshold=0.9): super().__init__()\n    def forward(self, sync_out): return {}"),
])
def test_ctm_parts_that_break_the_core_contract_are_refused_at_registration(kind, body):
    """The README's original synapse example (width only) is the first case: refused, naming the contract."""
    namespace: dict = {}
    exec(f"from torch import nn\nclass Part(nn.Module):\n    {body}\n", namespace)
    with pytest.raises(ContractError, match=rf"{kind} 'broken_part'.*Expected: a {kind} is built as factory\("):
        register(kind, "broken_part")(namespace["Part"])
    assert "broken_part" not in registry.names(kind)


def test_a_package_declares_its_own_kind_with_a_contract_checked_at_every_registration(monkeypatch):
    """How the CTM declares its part kinds, open to any policy family: the registry knows only the declaration."""
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))  # the kind is gone again after the test
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_CONTRACTS", dict(registry._CONTRACTS))

    def needs_rate(name, obj):
        if "rate" not in inspect.signature(obj).parameters:
            raise TypeError(f"planner {name!r} must take a rate")

    registry.declare_kind("planner", "plans a path", needs_rate)
    assert registry.kinds()["planner"] == "plans a path"
    with pytest.raises(TypeError, match="planner 'bad' must take a rate"):
        register("planner", "bad")(lambda: None)
    register("planner", "good")(lambda rate=1.0: rate)
    assert registry.names("planner") == ["good"]
    registry.declare_kind("planner", "plans a path")  # the same declaration again (a module imported twice)
    with pytest.raises(DuplicateComponentError, match="already declared as 'plans a path'"):
        registry.declare_kind("planner", "something else")


def test_a_built_part_lacking_an_attribute_the_loop_reads_is_refused():
    class NoGroups(torch.nn.Module):
        def __init__(self, pair_neurons, n_neurons):
            super().__init__()

        def forward(self, sync_action):
            return sync_action[:, :1]

    with pytest.raises(ContractError, match="gating .*NoGroups lacks groups"):
        CTMCore(d_input=8, heads=2, out_shape=(2, 2), d_model=16, memory=3, n_action_pairs=4, n_out_pairs=4,
                synapse=registry.get("synapse", "mlp"), neuron_model=registry.get("neuron_model", "deep"),
                pairing=registry.create("pairing", "random_pairing"), gating=NoGroups,
                halting=registry.get("halting", "variance"))
