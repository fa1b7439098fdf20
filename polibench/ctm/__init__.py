"""The Continuous Thought Machine, in one place: the tick loop (:mod:`.core`), the contracts of its swappable
parts (:mod:`.parts`, which declares the part kinds synapse, neuron_model, pairing, gating and halting),
neuron-pair synchronisation (:mod:`.synchronisation`) and the calibration of halting budgets (:mod:`.calibration`,
`polibench calibrate`).

polibench's core knows nothing of it: CTM policies reach the registry through their kinds' contracts and the
evaluation through :meth:`polibench.policy.Policy.prepare_for_evaluation`.
"""
