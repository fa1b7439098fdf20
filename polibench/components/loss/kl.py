"""KL divergence of ACT's CVAE posterior from the unit Gaussian prior."""

from __future__ import annotations

import torch

from polibench.policy import LossTerm
from polibench.registry import register


@register("loss", "kl")
class KLDivergence(LossTerm):
    """KL(q(z|a,s) || N(0, I)), summed over latent dims and averaged over the batch; zero without a CVAE."""

    name = "kl"

    def __init__(self, weight: float = 10.0) -> None:
        super().__init__(weight)

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if "mu" not in outputs:
            return outputs["actions"].new_zeros(())
        mu, logvar = outputs["mu"], outputs["logvar"]
        return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(-1).mean()
