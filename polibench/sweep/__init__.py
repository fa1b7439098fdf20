"""Ablation sweeps: one variant per value of an axis, trained and evaluated with equal budget, data and seeds."""
