"""Registry: registration, lookup errors with close matches, gin names, plugins via entry points."""

from __future__ import annotations

import sys
import textwrap

import gin
import pytest

from polibench import registry
from polibench.registry import DuplicateComponentError, UnknownComponentError


def test_every_kind_exists_and_builtins_are_listed():
    assert set(registry.KINDS) >= {"policy", "backbone", "encoder", "head", "synapse", "neuron_model", "pairing",
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
            """A gate from outside polibench."""

            def __init__(self, k: int = 1) -> None:
                self.k = k
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
        assert registry.create("gating", "plugin_gate").k == 5
    finally:
        sys.modules.pop("my_plugin_pkg", None)
        registry._REGISTRY["gating"].pop("plugin_gate", None)


def test_cli_list_prints_kinds_and_one_kind(capsys):
    from polibench.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for kind in ("policy", "synapse", "noise_scheduler", "data_source"):
        assert kind in out
    assert "components.policy.act" in out
    assert main(["list", "loss"]) == 0
    out = capsys.readouterr().out
    assert "l1_chunk" in out and "policy.act" not in out
