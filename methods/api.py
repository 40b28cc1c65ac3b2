"""The Method interface every row of the leaderboard implements.

The harness hands a method the low-rate signal at its native low rate and expects the target-rate
estimate back:

    enhance(lr: Tensor (B, 1, T_low) float32 at protocol.low_sr) -> Tensor (B, 1, T_low * R) float32

A method that wants interpolated input calls `bench.signal.degrade.upsample` itself. Learned methods also
implement `training_step`, and the shared Trainer (bench/run/train.py) owns the loop. Each method carries
its configs per profile (`smoke` for tests, `quick` for a CPU laptop, `paper` for published settings).

Every hook the harness calls is declared here with its default; a method overrides what it needs:

    enhance(lr)            the mapping above (required)
    Config, profile_overrides, resources(profile)
    stochastic, reseed(seed), inference_steps     sampling methods (methods/common/diffusion.py)
    build_networks, forward, losses, configure_optimizers, training_phases, training_step   learned methods

Methods import from bench/ only `bench.core.spec` types and `bench.signal` helpers; the optimiser and
LR-schedule helpers they share with the Trainer live here, so no model imports the engine.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable

import torch

from bench.core.spec import Protocol


def _dataclass_from_dict(kind: type, values: dict[str, Any]) -> Any:
    """Rebuild a (possibly nested) config dataclass from its asdict() form; JSON lists become tuples."""
    hints = typing.get_type_hints(kind)
    kwargs = {}
    for f in dataclasses.fields(kind):
        if f.name in values:
            value, hint = values[f.name], hints[f.name]
            if dataclasses.is_dataclass(hint):
                value = _dataclass_from_dict(hint, value)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[f.name] = value
    return kind(**kwargs)


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
    def config_from_dict(cls, values: dict[str, Any]) -> Any:
        """Inverse of `config_dict` (as stored in a cell's spec)."""
        return _dataclass_from_dict(cls.Config, values)

    @classmethod
    def resources(cls, profile: str) -> dict[str, float]:
        """What one cell of this method asks the executor for."""
        return {"num_cpus": 1, "num_gpus": 0}

    # Sampling methods draw noise at inference: the harness evaluates them `--eval-repeats` times,
    # calling `reseed` before each pass so each pass has its own noise, fixed by the cell seed.
    stochastic: ClassVar[bool] = False

    def reseed(self, seed: int) -> None:
        """Set the seed of the noise later `enhance` calls draw (deterministic methods: nothing to do)."""

    @property
    def inference_steps(self) -> int | None:
        """Network evaluations per enhanced chunk, shown on the cost table; None where not meaningful."""
        return None

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


@dataclass(frozen=True)
class TrainConfig:
    """What the shared Trainer needs from a learned method's config (its `train` field).

    `steps` None: the harness sets the step count from the profile's training budget in FLOPs (every
    learned method of `smoke` and `quick` gets the same compute); `paper` configs give the published
    count. Schedules are written as shares of the steps, so they stretch to whatever count is set."""

    steps: int | None = None
    batch_size: int = 16
    crop_seconds: float = 0.5          # HR crop length; rounded down to a multiple of R samples
    optimizer: str = "adam"            # adam | adamw | sgd
    lr: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9              # sgd only
    weight_decay: float = 0.0
    schedule: str = "constant"         # constant | cosine (to 0 at `steps`), after linear warm-up
    warmup: float = 0.0                # linear warm-up, as a share of the steps
    grad_clip: float | None = 1.0      # max global grad norm per optimiser; None = off
    ema_decay: float | None = None     # keep an EMA of the inference networks and evaluate it
    # Validation LSD on the valid split at 1/8, 1/4, 1/2 and all of the steps (the anytime curve), and
    # every `valid_every` steps besides where set (long runs); the best validated step is kept.
    valid_every: int | None = None
    checkpoint_every: int = 200        # resumable training state, written atomically
    valid_items: int | None = 8        # valid files scored per validation (None = all)
    # Data options of the batch maker (bench/run/batches.py PairSampler), off by default. Both scale an
    # HR crop and its LR crop by the same factor, so LR = degrade(HR) still holds for every pair.
    peak_normalize: bool = False       # divide each training file by the peak |x| of its whole HR signal
    random_gain: tuple[float, float] | None = None  # (lo, hi): each crop times a gain ~ U(lo, hi); None = off


def phase_start(share: float, steps: int) -> int:
    """First step of a training phase that starts at `share` of `steps` (GAN start, fusion stage)."""
    return min(steps, max(0, round(share * steps)))


@dataclass
class Batch:
    """A training batch of aligned random crops."""

    lr: torch.Tensor  # (B, 1, L / R) at protocol.low_sr
    hr: torch.Tensor  # (B, 1, L) at protocol.target_sr


class LearnedMethod(Method):
    """A method with weights trained by the shared Trainer (bench/run/train.py).

    A subclass builds its networks in `build_networks`, computes its losses in `losses` (the entry
    "loss" is what is minimised) and maps LR to SR in `forward`. Methods with several optimisers
    (GANs) override `configure_optimizers` and `training_step`, calling `opt.step(name, loss)` once
    per optimiser; the Trainer's loop never special-cases them.
    """

    trainable = True
    training_only: ClassVar[tuple[str, ...]] = ()  # networks not used by enhance (e.g. discriminators)

    def __init__(self, config: Any, protocol: Protocol) -> None:
        super().__init__(config, protocol)
        self.networks: dict[str, torch.nn.Module] = self.build_networks()
        self.device = torch.device("cpu")

    # --- to implement -------------------------------------------------------------------------
    def build_networks(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) -> (B, 1, T_low * R), differentiable (used by losses and enhance)."""
        raise NotImplementedError

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Scalar loss terms; "loss" is the total that the default training_step minimises."""
        raise NotImplementedError

    # --- defaults that fit single-optimiser methods -------------------------------------------
    @classmethod
    def resources(cls, profile: str) -> dict[str, float]:
        return {"num_cpus": 1, "num_gpus": 1 if profile == "paper" else 0}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = [p for name, net in self.networks.items() if name not in self.training_only
                  for p in net.parameters()]
        return {"main": make_optimizer(self.config.train, params)}

    def training_phases(self) -> dict[str, float]:
        """Spans of steps whose step differs in cost, by name -> share of the steps where each starts
        (increasing, the first at 0). The Trainer counts one step of each to meet a FLOP budget."""
        return {"train": 0.0}

    def training_step(self, batch: Batch, opt: Any) -> dict[str, torch.Tensor]:
        losses = self.losses(batch)
        opt.step("main", losses["loss"], terms=losses)
        return losses

    # --- shared machinery -------------------------------------------------------------------
    def inference_networks(self) -> dict[str, torch.nn.Module]:
        return {k: v for k, v in self.networks.items() if k not in self.training_only}

    def to(self, device: str | torch.device) -> "LearnedMethod":
        self.device = torch.device(device)
        for net in self.networks.values():
            net.to(self.device)
        return self

    def train_mode(self, training: bool) -> None:
        for net in self.networks.values():
            net.train(training)

    @torch.no_grad()
    def enhance(self, lr: torch.Tensor) -> torch.Tensor:
        self.train_mode(False)
        return self.forward(lr.to(self.device)).float()

    def num_parameters(self) -> int:
        return sum(p.numel() for net in self.inference_networks().values() for p in net.parameters())

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f"{name}.{k}": v.detach().clone() for name, net in self.networks.items()
                for k, v in net.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, net in self.networks.items():
            prefix = f"{name}."
            net.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})


def make_optimizer(cfg: TrainConfig, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The optimiser `cfg` names over `params` (a method with several optimisers calls this once per set)."""
    params = list(params)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose adam, adamw or sgd")


def lr_factor(cfg: TrainConfig, step: int) -> float:
    """Multiplier of the base LR at `step` of `cfg.steps`: linear warm-up, then constant or cosine to 0."""
    warmup = round(cfg.warmup * cfg.steps)
    if step < warmup:
        return (step + 1) / warmup
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "cosine":
        span = max(1, cfg.steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / span)))
    raise ValueError(f"unknown schedule {cfg.schedule!r}; choose constant or cosine")
