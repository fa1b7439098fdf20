"""Registry: registration, lookup errors with close matches, gin names, plugins via entry points."""

from __future__ import annotations

import inspect
import logging
import sys
import textwrap

import gin
import pytest
import torch

from polibench import registry
from polibench.ctm.core import CTMCore
from polibench.ctm.parts import ContractError
from polibench.registry import DuplicateComponentError, UnknownComponentError, register
from tests.conftest import REPO


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
                pairing=registry.create("pairing", "independent_pairs"), gating=NoGroups,
                halting=registry.get("halting", "variance"))


def test_a_former_name_builds_the_renamed_component_with_its_own_bindings_and_one_warning(monkeypatch, caplog):
    """The alias mechanism for any kind: what a config that names a component by its former name gets."""
    for table in ("_KINDS", "_REGISTRY", "_ALIASES", "_CONTRACTS"):  # the kind is gone again after the test
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))
    registry.declare_kind("renamed_part", "a part renamed once")

    @register("renamed_part", "says_what_it_does", aliases=("vague",))
    class Part:
        """A part with one setting."""

        def __init__(self, rate: float = 1.0) -> None:
            self.rate = rate

    @register("renamed_part", "holder")
    def holder(part: object = None) -> object:
        """Returns the part gin built for it."""
        return part

    assert registry.names("renamed_part") == ["holder", "says_what_it_does"]  # a former name is no component of its own
    assert [e.formerly for e in registry.entries("renamed_part")] == [(), ("vague",)]
    with caplog.at_level(logging.WARNING, logger="polibench.registry"):
        assert registry.get("renamed_part", "vague") is Part
        gin.parse_config("renamed_part.holder.part = @renamed_part.vague()\nvague.rate = 3.0\nsays_what_it_does.rate = 2.0")
        built = registry.create("renamed_part", "holder")
        assert type(built) is Part and built.rate == 3.0  # the alias's own binding, over the new name's
        gin.parse_config("vague.rate = 4.0")
        assert registry.create("renamed_part", "holder").rate == 4.0
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "'vague' is a deprecated name of renamed_part 'says_what_it_does'" in warnings[0]
    gin.clear_config()
    gin.parse_config("renamed_part.holder.part = @renamed_part.vague()\nsays_what_it_does.rate = 2.0")
    assert registry.create("renamed_part", "holder").rate == 2.0  # unbound on the alias: the new name's binding
    assert "vague.rate" not in gin.operative_config_str()  # so reading the saved config again builds the same
    with pytest.raises(ValueError, match="doesn't have a parameter named 'rat'"):
        gin.parse_config("vague.rat = 1.0")
    with pytest.raises(DuplicateComponentError, match="'vague' is already registered"):
        register("renamed_part", "vague")(lambda: None)


def test_committed_runs_that_name_the_former_pairings_load_and_draw_the_same_pairs():
    """weights/ctm_act_unet was trained as @pairing.random_pairing(), results' pairing/random as @pairing.random():
    their configs keep loading through the safe parser, the same pairs are drawn by the renamed components, and
    the trained weights load into the policy built from the old config (strictly: no key missing or extra)."""
    from safetensors.torch import load_file

    import polibench
    from polibench.policy import FeatureSpec
    from polibench.safe_config import parse_run_config
    from polibench.settings import Experiment, build_policy
    from polibench.training.checkpoint import read_metadata

    study = REPO / "studies" / "ctm_act_pusht"
    weights = study / "weights" / "ctm_act_unet"
    stored = load_file(weights / "model.safetensors")
    spec = FeatureSpec.from_json(read_metadata(weights / "model.safetensors")["spec"])
    for run, former, pairing in ((weights, "random_pairing", "independent_pairs"),
                                 (study / "results" / "cpu" / "pairing" / "variants" / "random" / "seed0", "random",
                                  "dense_random_subset")):
        assert f"@pairing.{former}()" in parse_run_config(run / "config.gin")
        core = build_policy(Experiment(), spec).core
        for role, sync in (("action", core.sync_action), ("out", core.sync_out)):
            left, right = registry.create("pairing", pairing, seed=0)(core.d_model, sync.n_pairs, role)
            assert torch.equal(sync.left, left) and torch.equal(sync.right, right), (run, role)
            if run == weights:  # the pairs training saved with the weights
                assert torch.equal(stored[f"core.sync_{role}.left"], left), role
                assert torch.equal(stored[f"core.sync_{role}.right"], right), role
    state = polibench.load_policy(weights, device="cpu").state_dict()
    assert state.keys() == stored.keys() and all(torch.equal(state[k], v) for k, v in stored.items())


def test_the_safe_parser_accepts_former_names_and_checks_their_parameters(tmp_path):
    from polibench.gin_check import ConfigError
    from polibench.safe_config import check_run_config

    check_run_config("policy.ctm_act.pairing = @pairing.random_pairing()\nrandom_pairing.seed = 3\n"
                     "pairing.random.seed = 1\n", tmp_path / "config.gin")
    with pytest.raises(ConfigError, match="has no parameter 'sed'"):
        check_run_config("random_pairing.sed = 3\n", tmp_path / "config.gin")


def test_cli_list_names_the_renamed_pairings_not_their_former_names(capsys):
    from polibench.cli import main

    assert main(["list", "pairing"]) == 0
    out = capsys.readouterr().out
    assert "pairing.independent_pairs" in out and "pairing.dense_random_subset" in out and "pairing.first_last" in out
    assert "pairing.random_pairing" not in out and "pairing.random " not in out  # no rows of their own
    assert "(formerly random_pairing)" in out and "(formerly random)" in out


def test_a_run_interrupted_before_the_rename_resumes_under_the_new_names():
    """Its saved config names the former pairing; the config of the same gin files now names the new one."""
    from polibench.gin_check import added_defaults

    saved = (REPO / "studies" / "ctm_act_pusht" / "weights" / "ctm_act_unet" / "config.gin").read_text()
    now = saved.replace("@pairing.random_pairing()", "@pairing.independent_pairs()").replace(
        "random_pairing.seed = 0", "independent_pairs.seed = 0")
    assert now != saved and added_defaults(saved, now) == []
    assert added_defaults(saved, now.replace("independent_pairs.seed = 0", "independent_pairs.seed = 1")) is None
