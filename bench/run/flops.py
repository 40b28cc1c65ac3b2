"""Training compute in FLOPs: the unit of the shared budget, independent of the machine.

A learned method's training step is counted once per phase (a phase is a span of steps whose step
differs in cost: reconstruction-only vs GAN steps, module vs fusion stages) with torch's
FlopCounterMode, forward and backward of every optimiser step it makes, at the method's own batch and
crop. The step count that meets a budget then follows from the phase shares (`Method.training_phases`).

Not counted: elementwise operations (activations, norms, losses, optimiser updates). torch's table has
matmuls, convolutions and attention; the FFT formulas are registered here (5 N log2 N per complex
transform of length N, half that for a real one), so spectral models are charged for their transforms.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, flop_registry, register_flop_formula

from methods.api import LearnedMethod, phase_start

# Validation points of every training, as shares of its steps: the anytime curve.
ANYTIME_FRACTIONS = (0.125, 0.25, 0.5, 1.0)
# A provisional step count for measuring a phase: any count works whose phases all have a first step.
_MEASURE_STEPS = 1_000_000


def _fft_flops(signal_shape: Any, dims: Any, real: bool) -> int:
    """Cost of the FFTs over `dims` of a signal of `signal_shape` (the real side for r2c / c2r)."""
    n = math.prod(signal_shape[d] for d in dims)
    if n <= 1:
        return 0
    transforms = math.prod(signal_shape) // n
    return int(transforms * (2.5 if real else 5.0) * n * math.log2(n))


def _register_fft_formulas() -> None:
    """Add the FFT ops to torch's FLOP table (once per process; torch refuses duplicates)."""
    aten = torch.ops.aten
    if aten._fft_r2c in flop_registry:
        return

    @register_flop_formula(aten._fft_r2c)
    def _r2c(self_shape, dim, normalization, onesided, *args, out_shape=None, **kwargs) -> int:
        return _fft_flops(self_shape, dim, real=True)

    @register_flop_formula(aten._fft_c2r)
    def _c2r(self_shape, dim, normalization, last_dim_size, *args, out_shape=None, **kwargs) -> int:
        return _fft_flops(out_shape, dim, real=True)

    @register_flop_formula(aten._fft_c2c)
    def _c2c(self_shape, dim, normalization, forward, *args, out_shape=None, **kwargs) -> int:
        return _fft_flops(self_shape, dim, real=False)


_register_fft_formulas()


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of the operations `fn()` runs (forward and, if it calls backward, backward)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


@dataclasses.dataclass(frozen=True)
class StepCost:
    """FLOPs of one training step per phase; `shares` are the phases' first steps as shares of all."""

    names: tuple[str, ...]
    shares: tuple[float, ...]
    flops: tuple[int, ...]

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self.names, self.flops))

    def through(self, step: int, steps: int) -> float:
        """FLOPs spent by the first `step` of `steps` steps."""
        starts = [phase_start(s, steps) for s in self.shares] + [steps]
        return float(sum(f * max(0, min(step, end) - start)
                         for f, start, end in zip(self.flops, starts, starts[1:])))

    def steps_for(self, budget: float) -> int:
        """The fewest steps whose FLOPs reach `budget`: at most one step over it."""
        mean = sum(f * (end - start) for f, start, end in zip(self.flops, self.shares, [*self.shares[1:], 1.0]))
        if mean <= 0:
            raise ValueError(f"the training step counts 0 FLOPs per step ({self.as_dict()}): a FLOP budget "
                             "cannot set its step count; give the method's config a step count and no budget")
        steps = max(1, math.ceil(budget / mean))
        while self.through(steps, steps) < budget:
            steps += 1
        while steps > 1 and self.through(steps - 1, steps - 1) >= budget:
            steps -= 1
        return steps


def measure_step_cost(method: LearnedMethod, batch: Any, make_optimizers: Callable[[LearnedMethod], Any]) -> StepCost:
    """Count one real training step of each of `method`'s phases on `batch`.

    Runs on a deep copy (the method's weights, optimiser states and buffers stay untouched) and
    restores the RNG, so measuring changes nothing of the training that follows.
    `make_optimizers(copy)` returns the object `training_step` drives (the Trainer's OptimizerSet)."""
    phases = method.training_phases()
    flops = []
    cuda = [method.device.index or 0] if method.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        for share in phases.values():
            probe = copy.deepcopy(method)
            probe.config = dataclasses.replace(probe.config,
                                               train=dataclasses.replace(probe.config.train, steps=_MEASURE_STEPS))
            opt = make_optimizers(probe)
            opt.step_index = phase_start(share, _MEASURE_STEPS)
            probe.train_mode(True)
            flops.append(count_flops(lambda: probe.training_step(batch, opt)))
    return StepCost(tuple(phases), tuple(phases.values()), tuple(flops))
