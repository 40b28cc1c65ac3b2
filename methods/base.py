"""The Method interface every row of the leaderboard implements.

The harness hands a method the low-rate signal at its native low rate and expects the target-rate
estimate back:

    enhance(lr: Tensor (B, 1, T_low) float32 at protocol.low_sr) -> Tensor (B, 1, T_low * R) float32

A method that wants interpolated input calls `bench.degrade.upsample` itself. Learned methods also
implement `training_step`, and the shared Trainer (bench/train.py) owns the loop. Each method carries
its configs per profile (`smoke` for tests, `quick` for a CPU laptop, `paper` for published settings).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from bench.spec import Protocol


@dataclass(frozen=True)
class NoConfig:
    """Config of a method without settings."""


class Method:
    """Base class: a non-trainable method only overrides `enhance` (and optionally `Config`)."""

    name: ClassVar[str]
    trainable: ClassVar[bool] = False
    Config: ClassVar[type] = NoConfig
    # profile -> keyword overrides of Config's defaults; a profile not listed uses the defaults.
    profile_overrides: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, config: Any, protocol: Protocol) -> None:
        self.config = config
        self.protocol = protocol

    @classmethod
    def config_for(cls, profile: str) -> Any:
        return cls.Config(**cls.profile_overrides.get(profile, {}))

    @classmethod
    def config_dict(cls, config: Any) -> dict[str, Any]:
        return dataclasses.asdict(config)

    @classmethod
    def resources(cls, profile: str) -> dict[str, float]:
        """What one cell of this method asks the executor for."""
        return {"num_cpus": 1, "num_gpus": 0}

    def fit(self, train: Any, valid: Any, trainer: Any) -> None:
        """Non-trainable methods have nothing to fit."""

    def enhance(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) float32 at protocol.low_sr -> (B, 1, T_low * R) float32 at protocol.target_sr."""
        raise NotImplementedError

    def num_parameters(self) -> int:
        return 0

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if state:
            raise ValueError(f"{self.name} has no weights, but a non-empty state was given")
