"""Classic interpolation baselines: the LR signal upsampled to the target rate, nothing added.

`spline` is the seed paper's "unprocessed input" row; `sinc` and `linear` bracket it. All three are
`bench.signal.degrade.upsample` behind the Method interface, so the leaderboard row and the input that
interpolating methods see come from the same code.
"""
from __future__ import annotations

from typing import ClassVar

import torch

from bench.signal.degrade import upsample
from methods.api import Method


class Interpolator(Method):
    """Upsample with `bench.signal.degrade.upsample(lr, R, kind)`; a subclass only names its kind."""

    kind: ClassVar[str]

    def enhance(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) at protocol.low_sr -> (B, 1, T_low * R) float32 at protocol.target_sr."""
        return upsample(lr, self.protocol.scale, self.kind).float()


class Spline(Interpolator):
    name = "spline"
    kind = "spline"


class Sinc(Interpolator):
    name = "sinc"
    kind = "sinc"


class Linear(Interpolator):
    name = "linear"
    kind = "linear"
