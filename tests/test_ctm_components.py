"""CTM components: shapes and gradients of every registered part, and the properties each one promises."""

from __future__ import annotations

import pytest
import torch

from polibench import registry
from polibench.ctm.core import CTMCore, CTMState
from polibench.ctm.synchronisation import Synchronisation
from tests.ctm_reference import reference_forward

B, D, M, PA, PO, D_IN = 5, 32, 6, 12, 20, 16


def grads_of(module: torch.nn.Module) -> dict[str, torch.Tensor | None]:
    return {name: p.grad for name, p in module.named_parameters()}


# ----- synchronisation -----
def test_synchronisation_matches_the_direct_decayed_sum_and_trains_its_decay():
    left, right = torch.tensor([0, 1, 2]), torch.tensor([3, 1, 0])
    sync = Synchronisation(left, right)
    sync.decay.data = torch.tensor([0.0, 0.5, 2.0])
    zs = [torch.randn(2, 4) for _ in range(4)]
    rate, state = sync.rate(), None
    for z in zs:
        s, state = sync(z, state, rate)
    r = torch.exp(-sync.decay.detach())
    weights = torch.stack([r ** (len(zs) - 1 - k) for k in range(len(zs))])  # [ticks, pairs]
    products = torch.stack([z[:, left] * z[:, right] for z in zs])  # [ticks, 2, pairs]
    expected = (weights[:, None] * products).sum(0) / weights.sum(0).sqrt()
    torch.testing.assert_close(s, expected)
    s.sum().backward()
    assert sync.decay.grad is not None and (sync.decay.grad[1:] != 0).all()


def test_decay_is_clamped_outside_autograd_and_keeps_its_gradient_at_the_bound():
    sync = Synchronisation(torch.tensor([0, 1]), torch.tensor([1, 0]))
    sync.decay.data = torch.tensor([-3.0, 40.0])
    rate = sync.rate()
    assert sync.decay.tolist() == [0.0, 15.0]
    state = None
    for _ in range(3):
        s, state = sync(torch.randn(4, 2), state, rate)
    s.sum().backward()
    assert sync.decay.grad[0] != 0  # at d = 0 (the init) the gradient is alive


# ----- pairing -----
@pytest.mark.parametrize("kind", ["first_last", "dense_random_subset", "independent_pairs"])
@pytest.mark.parametrize("n_pairs", [1, 7, 45, 200])
@pytest.mark.parametrize("role", ["action", "out"])
def test_pairings_give_the_requested_number_of_distinct_pairs(kind, n_pairs, role):
    left, right = registry.create("pairing", kind)(D, n_pairs, role)
    assert left.shape == right.shape == (n_pairs,)
    assert left.dtype == torch.long and 0 <= int(left.min()) and int(torch.maximum(left, right).max()) < D
    unordered = set(zip(torch.minimum(left, right).tolist(), torch.maximum(left, right).tolist()))
    assert len(unordered) == n_pairs
    if kind == "independent_pairs":
        assert (left != right).all()


def test_pairings_are_seeded_and_roles_differ():
    for kind in ("dense_random_subset", "independent_pairs"):
        first = registry.create("pairing", kind, seed=3)(D, 40, "out")
        again = registry.create("pairing", kind, seed=3)(D, 40, "out")
        action = registry.create("pairing", kind, seed=3)(D, 40, "action")
        other_seed = registry.create("pairing", kind, seed=4)(D, 40, "out")
        assert all(torch.equal(a, b) for a, b in zip(first, again))
        assert not torch.equal(torch.stack(first), torch.stack(action))
        assert not torch.equal(torch.stack(first), torch.stack(other_seed))
    out = registry.create("pairing", "first_last")(D, 10, "out")
    action = registry.create("pairing", "first_last")(D, 10, "action")
    assert int(torch.cat(out).max()) < 4 and int(torch.cat(action).min()) >= D - 4  # a dense block of 4 neurons


@pytest.mark.parametrize("kind", ["first_last", "dense_random_subset", "independent_pairs"])
def test_pairings_reject_impossible_requests(kind):
    with pytest.raises(ValueError, match="at least one pair"):
        registry.create("pairing", kind)(D, 0, "action")
    with pytest.raises(ValueError, match="neurons"):
        registry.create("pairing", kind)(4, 11, "out")


# ----- synapses -----
@pytest.mark.parametrize("kind", ["mlp", "unet", "tick_sync"])
def test_synapses_map_attention_and_state_to_pre_activations(kind):
    synapse = registry.get("synapse", kind)(d_input=D_IN, d_model=D, n_sync_action=PA)
    attn, z, sync = torch.randn(B, D_IN, requires_grad=True), torch.randn(B, D, requires_grad=True), torch.randn(B, PA)
    a = synapse(attn, z, 3, sync)
    assert a.shape == (B, D)
    a.square().sum().backward()
    assert attn.grad.abs().sum() > 0 and z.grad.abs().sum() > 0
    if kind == "tick_sync":  # FiLM starts at zero (plain mlp); its first step gets a gradient
        assert synapse.film.weight.grad.abs().sum() > 0
    else:
        assert all(g is not None for g in grads_of(synapse).values())


def test_unet_widths_shrink_to_the_bottleneck():
    unet = registry.get("synapse", "unet")(d_input=D_IN, d_model=64, n_sync_action=PA, depth=4, min_width=16)
    assert [block[1].out_features for block in unet.down] == [48, 32, 16]


def test_a_wider_unet_projects_its_outer_level_to_the_neurons():
    unet = registry.get("synapse", "unet")(d_input=D_IN, d_model=64, n_sync_action=PA, depth=3, min_width=16,
                                           width=256)
    assert unet.first[0].out_features == 256 and [block[1].out_features for block in unet.down] == [136, 16]
    assert unet(torch.randn(B, D_IN), torch.randn(B, 64), 0, torch.randn(B, PA)).shape == (B, 64)
    plain = registry.get("synapse", "unet")(d_input=D_IN, d_model=64, n_sync_action=PA)
    assert plain.to_neurons is None  # width None keeps the upstream layout, so earlier runs' weights load
    with pytest.raises(ValueError, match="at least min_width"):
        registry.get("synapse", "unet")(d_input=D_IN, d_model=64, n_sync_action=PA, width=8)


def test_tick_sync_synapse_depends_on_the_tick():
    synapse = registry.get("synapse", "tick_sync")(d_input=D_IN, d_model=D, n_sync_action=PA)
    torch.nn.init.normal_(synapse.film.weight)
    attn, z, sync = torch.randn(B, D_IN), torch.randn(B, D), torch.randn(B, PA)
    assert not torch.allclose(synapse(attn, z, 0, sync), synapse(attn, z, 5, sync))


# ----- neuron-level models -----
@pytest.mark.parametrize("kind", ["deep", "shallow"])
def test_neuron_models_are_private_per_neuron(kind):
    nlm = registry.get("neuron_model", kind)(d_model=D, memory=M)
    history = torch.randn(B, D, M)
    before = nlm(history)
    assert before.shape == (B, D)
    neuron = 7
    with torch.no_grad():
        for p in nlm.parameters():  # weights [D, in, out] and biases [D, out]: perturb neuron 7's slice only
            p[neuron].add_(0.5)
    changed = (nlm(history) - before).abs().amax(dim=0) > 1e-6
    assert changed.tolist() == [i == neuron for i in range(D)]


@pytest.mark.parametrize("kind", ["deep", "shallow", "plain"])
def test_neuron_models_see_only_their_own_history_and_train(kind):
    nlm = registry.get("neuron_model", kind)(d_model=D, memory=M)
    history = torch.randn(B, D, M, requires_grad=True)
    nlm(history)[:, 3].sum().backward()
    touched = history.grad.abs().sum(dim=(0, 2)) > 0
    assert touched.tolist() == [i == 3 for i in range(D)]
    assert all(g is not None for g in grads_of(nlm).values())


def test_the_plain_neuron_model_reads_only_the_latest_pre_activation():
    nlm = registry.get("neuron_model", "plain")(d_model=D, memory=M, activation="tanh")
    history = torch.randn(B, D, M)
    older_changed = history.clone()
    older_changed[..., :-1] = torch.randn(B, D, M - 1)
    assert torch.equal(nlm(history), torch.tanh(history[..., -1]))
    assert torch.equal(nlm(history), nlm(older_changed))
    with pytest.raises(ValueError, match="activation must be one of"):
        registry.get("neuron_model", "plain")(d_model=D, memory=M, activation="relu6")


# ----- gating -----
def make_gate(kind: str, **kw):
    pair_neurons = torch.arange(PA) * (D // PA)  # spread the pairs over all groups
    return registry.get("gating", kind)(pair_neurons=pair_neurons, n_neurons=D, **kw)


@pytest.mark.parametrize("kind", ["none", "threshold", "sigmoid", "topk"])
def test_gates_give_one_value_per_group_in_unit_range(kind):
    gate = make_gate(kind)
    out = gate(torch.randn(B, PA))
    assert out.shape == (B, gate.groups) and D % gate.groups == 0
    assert ((out >= 0) & (out <= 1)).all()


@pytest.mark.parametrize("kind", ["threshold", "topk"])
def test_hard_gates_are_binary_but_pass_gradient_straight_through(kind):
    gate = make_gate(kind, groups=8)
    sync = torch.randn(B, PA, requires_grad=True)
    out = gate(sync)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    if kind == "topk":
        assert (out.sum(dim=1) == gate.k).all()
    (out * torch.randn_like(out)).sum().backward()
    assert sync.grad.abs().sum() > 0
    if kind == "threshold":
        assert gate.threshold.grad.abs().sum() > 0


def test_threshold_gate_fires_groups_above_their_threshold():
    gate = make_gate("threshold", groups=4)
    sync = torch.zeros(1, PA)
    sync[0, : PA // 4] = 2.0  # the pairs of group 0
    assert gate(sync).tolist() == [[1.0, 0.0, 0.0, 0.0]]


def test_sigmoid_gate_is_soft_and_differentiable():
    gate = make_gate("sigmoid")
    sync = torch.randn(B, PA, requires_grad=True)
    out = gate(sync)
    assert ((out > 0) & (out < 1)).all()
    out.sum().backward()
    assert sync.grad.abs().sum() > 0 and gate.threshold.grad.abs().sum() > 0


# ----- halting -----
def test_variance_halting_certainty_follows_the_predicted_error_scale():
    halting = registry.get("halting", "variance")(n_sync_out=PO)
    assert halting.enabled and 0 < halting.threshold < 1
    sync = torch.randn(B, PO, requires_grad=True)
    out = halting(sync, torch.randn(B, 4, 2), None)
    assert out["certainty"].shape == out["log_variance"].shape == (B,)
    sigma = (0.5 * out["log_variance"]).exp()
    torch.testing.assert_close(out["certainty"], 1 / (1 + sigma))
    out["certainty"].sum().backward()
    assert sync.grad.abs().sum() > 0


def test_convergence_halting_certainty_grows_as_the_chunk_settles():
    halting = registry.get("halting", "convergence")(n_sync_out=PO, scale=0.1)
    chunk = torch.randn(B, 4, 2)
    assert (halting(None, chunk, None)["certainty"] == 0).all()
    torch.testing.assert_close(halting(None, chunk, chunk)["certainty"], torch.ones(B))
    near, far = halting(None, chunk + 0.01, chunk)["certainty"], halting(None, chunk + 0.5, chunk)["certainty"]
    assert (far < near).all() and (near < 1).all()
    torch.testing.assert_close(halting(None, chunk + 0.01, chunk)["chunk_change"], torch.full((B,), 0.01))
    budget = registry.get("halting", "convergence")(n_sync_out=PO, scale=0.1, max_change=0.05)
    assert halting.threshold == 0.5 and budget.threshold == pytest.approx(1 / 1.5)
    assert (budget(None, chunk + 0.04, chunk)["certainty"] >= budget.threshold).all()
    assert (budget(None, chunk + 0.06, chunk)["certainty"] < budget.threshold).all()
    huge = registry.get("halting", "convergence")(n_sync_out=PO, scale=0.01, max_change=1e6)
    assert huge.threshold > 0 and (huge(None, chunk, None)["certainty"] < huge.threshold).all()  # tick 1 never halts
    assert (huge(None, chunk + 50.0, chunk)["certainty"] >= huge.threshold).all()  # a large change within budget

# ----- losses -----
def tick_outputs(errors: list[float], certainty: list[float]) -> tuple[dict, dict]:
    """One sample, ticks whose chunks are off by ``errors``, with the given certainties."""
    action = torch.zeros(1, 3, 2)
    ticks = torch.stack([action + e for e in errors], dim=1).requires_grad_()
    batch = {"action": action, "action_is_pad": torch.zeros(1, 3, dtype=torch.bool)}
    return {"tick_actions": ticks, "certainty": torch.tensor([certainty])}, batch


def test_tick_loss_is_half_best_tick_half_most_certain_tick():
    outputs, batch = tick_outputs([0.4, 0.1, 0.8], [0.2, 0.3, 0.9])
    loss = registry.create("loss", "ctm_tick")(outputs, batch)
    torch.testing.assert_close(loss, torch.tensor(0.5 * 0.1 + 0.5 * 0.8))
    loss.backward()
    assert outputs["tick_actions"].grad[0, 0].abs().sum() == 0  # only the selected ticks learn


def test_tick_loss_ignores_padded_steps():
    outputs, batch = tick_outputs([0.1, 0.2], [0.0, 1.0])
    base = registry.create("loss", "ctm_tick")(outputs, batch)
    batch["action_is_pad"][0, -1] = True
    outputs["tick_actions"].data[0, :, -1] += 100.0
    torch.testing.assert_close(registry.create("loss", "ctm_tick")(outputs, batch), base)


def test_tick_penalty_is_the_expected_fraction_of_ticks_run():
    penalty = registry.create("loss", "tick_penalty")
    assert penalty({"certainty": torch.ones(2, 4)}, {}).item() == pytest.approx(0.25)  # halts after tick 1
    assert penalty({"certainty": torch.zeros(2, 4)}, {}).item() == pytest.approx(1.0)
    certainty = torch.full((1, 4), 0.5, requires_grad=True)
    value = penalty({"certainty": certainty}, {})
    assert value.item() == pytest.approx((1 + 0.5 + 0.25 + 0.125) / 4)
    value.backward()
    assert (certainty.grad[0, :3] < 0).all()  # more certainty early -> fewer expected ticks


def test_variance_nll_is_minimal_at_the_observed_error():
    outputs, batch = tick_outputs([0.5], [0.0])
    nll = registry.create("loss", "variance_nll")
    values = {lv: nll(outputs | {"log_variance": torch.tensor([[lv]])}, batch).item() for lv in (-3.0, 2 * -0.693, 0.0)}
    assert min(values, key=values.get) == 2 * -0.693  # log(0.5^2)
    assert nll(outputs, batch).item() == 0.0  # no variance head -> no term


# ----- core -----
@pytest.mark.parametrize("gating", ["none", "threshold", "topk", "sigmoid"])
def test_core_shapes_and_every_parameter_learns(gating):
    core = CTMCore(d_input=D_IN, heads=2, out_shape=(4, 2), d_model=D, memory=M, n_action_pairs=PA, n_out_pairs=PO,
                   synapse=registry.get("synapse", "unet"), neuron_model=registry.get("neuron_model", "deep"),
                   pairing=registry.create("pairing", "independent_pairs"), gating=registry.get("gating", gating),
                   halting=registry.get("halting", "variance"))
    kv = torch.randn(B, 3, D_IN)
    out = core(kv, ticks=4)
    assert out.predictions.shape == (B, 4, 4, 2) and out.certainty.shape == (B, 4)
    assert out.extras["log_variance"].shape == (B, 4) and out.chunk.shape == (B, 4, 2)
    assert out.ticks_used.tolist() == [4] * B and out.state.trace.shape == (B, D, M)
    (out.predictions.square().sum() + out.certainty.sum()).backward()
    grads = grads_of(core)
    assert all(g is not None for g in grads.values())
    for name in ("sync_action.decay", "sync_out.decay", "start_trace", "start_activation", "query.weight",
                 "readout.weight", "neuron_model.w1", "halting.head.weight"):
        assert grads[name].abs().sum() > 0, name


# ----- the optimised core against the plain loop -----
@pytest.mark.parametrize("synapse", ["unet", "mlp", "tick_sync"])
@pytest.mark.parametrize("gating", ["none", "sigmoid"])
@pytest.mark.parametrize("neuron_model", ["deep", "shallow", "plain"])
def test_core_matches_the_reference_loop_on_the_same_weights(synapse, gating, neuron_model):
    torch.manual_seed(0)
    core = CTMCore(d_input=D_IN, heads=2, out_shape=(4, 2), d_model=D, memory=M, n_action_pairs=PA, n_out_pairs=PO,
                   synapse=registry.get("synapse", synapse), neuron_model=registry.get("neuron_model", neuron_model),
                   pairing=registry.create("pairing", "independent_pairs"), gating=registry.get("gating", gating),
                   halting=registry.get("halting", "variance")).eval()
    with torch.no_grad():  # trained-looking weights: non-zero FiLM, decays off their zero init
        for p in core.parameters():
            p.add_(0.1 * torch.randn_like(p))
        core.sync_action.decay.uniform_(0.0, 2.0)
        core.sync_out.decay.uniform_(0.0, 2.0)
    kv = torch.randn(B, 3, D_IN)
    start = CTMState(torch.randn(B, D, M), torch.randn(B, D))
    # 1e-4: the two paths sum in different orders (SDPA, one baddbmm) and 7 ticks compound it; on an Intel Xeon one
    # element of 960 drifted 1.2e-5. A wrong tick, pairing or decay moves them by ~1e-1.
    tol = {"atol": 1e-4, "rtol": 1e-4}
    for state in (None, start):
        with torch.no_grad():
            out = core(kv, ticks=7, state=state)
            predictions, certainty, final = reference_forward(core, kv, 7, state)
        torch.testing.assert_close(out.predictions, predictions, **tol)
        torch.testing.assert_close(out.certainty, certainty, **tol)
        torch.testing.assert_close(out.state.trace, final.trace, **tol)
        torch.testing.assert_close(out.state.activation, final.activation, **tol)


@pytest.mark.parametrize("kind", ["deep", "shallow"])
def test_neuron_models_equal_a_loop_over_neurons(kind):
    """The batched per-neuron product against each neuron's own small MLP, one neuron at a time."""
    nlm = registry.get("neuron_model", kind)(d_model=D, memory=M).eval()
    with torch.no_grad():
        for p in nlm.parameters():
            p.add_(0.1 * torch.randn_like(p))
    history = torch.randn(B, D, M)
    layers = [(nlm.w1, nlm.b1), (nlm.w2, nlm.b2)] if kind == "deep" else [(nlm.w, nlm.b)]
    expected = []
    for d in range(D):
        x = history[:, d]
        for w, b in layers:
            x = torch.nn.functional.glu(x @ w[d] + b[d], dim=-1)
        expected.append(x[:, 0])
    torch.testing.assert_close(nlm(history), torch.stack(expected, dim=1), atol=1e-6, rtol=1e-5)


def test_reading_chunks_from_the_activations_builds_no_output_pairs_and_learns():
    core = CTMCore(d_input=D_IN, heads=2, out_shape=(4, 2), d_model=D, memory=M, n_action_pairs=PA, n_out_pairs=PO,
                   synapse=registry.get("synapse", "mlp"), neuron_model=registry.get("neuron_model", "deep"),
                   pairing=registry.create("pairing", "independent_pairs"), gating=registry.get("gating", "none"),
                   halting=registry.get("halting", "variance"), read_out="activations")
    assert core.sync_out is None and core.readout.in_features == D and core.halting.head.in_features == D
    out = core(torch.randn(B, 3, D_IN), ticks=3, trace=True)
    assert out.predictions.shape == (B, 3, 4, 2) and "sync_out" not in out.trace
    out.predictions.square().sum().backward()
    assert all(g is not None and g.abs().sum() > 0 for n, g in grads_of(core).items() if n.startswith("readout"))
    with pytest.raises(ValueError, match="read_out must be one of"):
        CTMCore(d_input=D_IN, heads=2, out_shape=(4, 2), d_model=D, memory=M, n_action_pairs=PA, n_out_pairs=PO,
                synapse=registry.get("synapse", "mlp"), neuron_model=registry.get("neuron_model", "deep"),
                pairing=registry.create("pairing", "independent_pairs"), gating=registry.get("gating", "none"),
                halting=registry.get("halting", "variance"), read_out="pairs")


def test_chunk_smoothness_is_zero_on_lines_and_ignores_padding():
    term = registry.create("loss", "chunk_smoothness")
    line = torch.linspace(0, 1, 6)[None, :, None].expand(2, 6, 2).clone()
    pad = torch.zeros(2, 6, dtype=torch.bool)
    assert term({"actions": line}, {"action_is_pad": pad}).item() == pytest.approx(0.0, abs=1e-12)
    kinked = line.clone()
    kinked[:, 5] += 1.0
    assert term({"actions": kinked}, {"action_is_pad": pad}).item() > 0
    pad[:, 5] = True  # the kink is at a padded step: not the policy's plan
    assert term({"actions": kinked}, {"action_is_pad": pad}).item() == pytest.approx(0.0, abs=1e-12)
