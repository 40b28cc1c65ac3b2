"""The one Trainer every learned method uses.

The loop owns the step budget, optimisers and LR schedules (from the method's TrainConfig),
gradient clipping, EMA, AMP (bf16 autocast, CUDA only), validation, checkpoints and the NaN guard.
The step count: with a budget in FLOPs (`smoke` and `quick`, or `--budget`), the Trainer counts one
real step of each of the method's phases (bench/run/flops.py) and sets the fewest steps whose FLOPs
reach the budget; without one (`paper`), the config's own count, whose FLOPs are recorded all the same.
Validation runs at 1/8, 1/4, 1/2 and all of the steps: the anytime curve of the record.

A method only says what one step is (`training_step`, which may drive several optimisers through
`OptimizerSet.step`), so a GAN and a plain regression net run through the same loop.

Determinism: the batch of step s is a pure function of (cell seed, s), and the checkpoint holds
the torch RNG state, so a cell killed mid-training and run again resumes from its last checkpoint
and ends with the same weights as an uninterrupted run (on CPU).
"""
from __future__ import annotations

import copy
import csv
import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from bench.core.files import atomic_write, load_checkpoint, write_json
from bench.data import Pairs
from bench.metrics import spectral
from bench.run.batches import PairSampler
from bench.run.flops import ANYTIME_FRACTIONS, StepCost, measure_step_cost
from bench.run.inference import super_resolve
from methods.api import LearnedMethod, TrainConfig, lr_factor

CHECKPOINT = "checkpoint.pt"
TRAIN_LOG = "train_log.csv"
PROGRESS = "progress.json"
PROGRESS_EVERY_S = 2.0


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or infinite; the message names the step and the term."""


class OptimizerSet:
    """What `training_step` drives: `step(name, loss)` = zero grad, backward, clip, optimiser step."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], grad_clip: float | None) -> None:
        self.optimizers, self.grad_clip = optimizers, grad_clip
        self.step_index = 0

    def step(self, name: str, loss: torch.Tensor, terms: dict[str, torch.Tensor] | None = None) -> None:
        if not torch.isfinite(loss).all():
            bad = [k for k, v in (terms or {}).items() if not torch.isfinite(v).all()] or [name]
            raise NonFiniteLossError(f"non-finite loss at step {self.step_index}: term(s) {', '.join(bad)} "
                                     f"= {float(loss.detach())} (optimiser {name!r}); lower the LR or check the data")
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
        optimizer.step()


class EMA:
    """Exponential moving average of the inference networks' floating-point state."""

    def __init__(self, method: LearnedMethod, decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in self._state(method).items()}

    @staticmethod
    def _state(method: LearnedMethod) -> dict[str, torch.Tensor]:
        return {f"{n}.{k}": v for n, net in method.inference_networks().items() for k, v in net.state_dict().items()}

    @torch.no_grad()
    def update(self, method: LearnedMethod) -> None:
        for k, v in self._state(method).items():
            if v.dtype.is_floating_point:
                self.shadow[k].lerp_(v, 1 - self.decay)
            else:
                self.shadow[k].copy_(v)


@dataclass
class TrainResult:
    train_steps: int
    train_s: float
    steps_per_s: float
    best_valid_lsd: float
    best_step: int
    resumed_from: int
    # Share of train_s spent making batches (crop + copy to the device), the rest being the method's
    # forward/backward/optimiser steps: the check that data never bottlenecks training.
    data_fraction: float
    train_flops: float                     # FLOPs of all the steps made (bench/run/flops.py)
    train_budget_flops: float | None       # the budget that set the step count; None: the config's count
    train_flops_per_step: dict[str, int]   # phase -> FLOPs of one step
    train_audio_s: float                   # HR audio seconds seen: steps x batch x crop
    anytime: list[dict[str, float]] = field(default_factory=list)  # fraction, step, flops, valid_lsd


def anytime_steps(steps: int) -> dict[int, float]:
    """The steps validated for the anytime curve -> their share of the budget."""
    return {max(1, round(f * steps)): f for f in ANYTIME_FRACTIONS}


class Trainer:
    """Trains one method; checkpoints and the step log go to `train_dir` (results/.train/<training key>/),
    the step count for the progress display to `progress_path` (default: the same folder)."""

    def __init__(self, cfg: TrainConfig, train_dir: Path, seed: int, device: str = "cpu",
                 log: Callable[[str], None] = print, progress_path: Path | None = None,
                 budget: float | None = None) -> None:
        self.cfg, self.train_dir, self.seed, self.budget = cfg, Path(train_dir), seed, budget
        self.progress_path = progress_path or self.train_dir / PROGRESS
        self.device = torch.device(device)
        self.log = log
        self.amp = self.device.type == "cuda"

    # --- checkpoints ---------------------------------------------------------------------------
    def _save(self, state: dict[str, Any]) -> None:
        atomic_write(self.train_dir / CHECKPOINT, lambda tmp: torch.save(state, tmp))

    def load_checkpoint(self) -> dict[str, Any] | None:
        path = self.train_dir / CHECKPOINT
        return load_checkpoint(path) if path.is_file() else None

    # --- validation ------------------------------------------------------------------------------
    def validate(self, method: LearnedMethod, valid: Pairs) -> float:
        n = len(valid) if self.cfg.valid_items is None else min(self.cfg.valid_items, len(valid))
        scores = []
        for lr, hr in zip(valid.lr[:n], valid.hr[:n]):
            est = super_resolve(method, lr, method.protocol, device=str(self.device))
            scores.append(spectral.lsd(est, hr)[0])
        return float(np.mean(scores))

    # --- the step count ------------------------------------------------------------------------------
    def _plan_steps(self, method: LearnedMethod, sampler: PairSampler) -> tuple[int, StepCost]:
        """Count one step of each phase; the step count that meets the budget (or the config's).
        Sets the count into the method's config, so its own phase bounds and schedules follow it."""
        cost = measure_step_cost(method, sampler.batch(0, self.device),
                                 lambda probe: OptimizerSet(probe.configure_optimizers(), self.cfg.grad_clip))
        if self.budget is not None:
            steps = cost.steps_for(self.budget)
        elif self.cfg.steps is not None:
            steps = self.cfg.steps
        else:
            raise ValueError(f"{method.name}'s {method.config.__class__.__name__} sets no step count and no training "
                             "budget was given: pass --budget (FLOPs) or set train.steps")
        self.cfg = dataclasses.replace(self.cfg, steps=steps)
        method.config = dataclasses.replace(method.config, train=self.cfg)
        return steps, cost

    # --- the loop --------------------------------------------------------------------------------
    def fit(self, method: LearnedMethod, train: Pairs, valid: Pairs) -> TrainResult:
        proto = method.protocol
        self.train_dir.mkdir(parents=True, exist_ok=True)
        method.to(self.device)
        if len(valid) == 0:
            raise ValueError("the valid split is empty: the Trainer keeps the best checkpoint by validation LSD, "
                             "so a learned method needs validation files")
        ckpt = self.load_checkpoint()
        if ckpt is not None and ckpt["final"]:
            method.load_state_dict(ckpt["weights"])
            method.config = dataclasses.replace(method.config, train=dataclasses.replace(self.cfg, steps=ckpt["step"]))
            self.log(f"training already finished at step {ckpt['step']}: reusing its weights")
            return TrainResult(**ckpt["result"])
        sampler = PairSampler(train, proto.scale, self.cfg.crop_seconds, proto.target_sr, self.cfg.batch_size,
                              self.seed, peak_normalize=self.cfg.peak_normalize, random_gain=self.cfg.random_gain)
        self.log(sampler.describe())
        steps, cost = self._plan_steps(method, sampler)
        cfg = self.cfg
        self.log(f"{steps} steps of {', '.join(f'{n} {f / 1e9:.3g} GFLOP' for n, f in cost.as_dict().items())}: "
                 f"{cost.through(steps, steps) / 1e12:.3g} TFLOP"
                 + (f" (budget {self.budget / 1e12:.3g} TFLOP)" if self.budget is not None else " (the config's steps)"))
        optimizers = method.configure_optimizers()
        opt = OptimizerSet(optimizers, cfg.grad_clip)
        # The schedule scales each optimiser's own LR (a method may give its optimisers different ones).
        param_groups = [g for o in optimizers.values() for g in o.param_groups]
        for group in param_groups:
            group.setdefault("base_lr", group["lr"])
        ema = EMA(method, cfg.ema_decay) if cfg.ema_decay else None
        start, train_s, data_s = 0, 0.0, 0.0
        best = {"lsd": math.inf, "step": -1, "weights": None}
        anytime: list[dict[str, float]] = []
        if ckpt is not None:
            method.load_state_dict(ckpt["weights"])
            for name, o in optimizers.items():
                o.load_state_dict(ckpt["optimizers"][name])
            if ema:
                ema.shadow = ckpt["ema"]
            best, start, train_s, data_s = ckpt["best"], ckpt["step"], ckpt["train_s"], ckpt["data_s"]
            anytime = ckpt["anytime"]
            torch.set_rng_state(ckpt["torch_rng"])
            self.log(f"resuming from checkpoint at step {start}")
        resumed_from = start
        validate_at = anytime_steps(steps)

        log_file = (self.train_dir / TRAIN_LOG).open("a", newline="")
        writer = csv.writer(log_file)
        if start == 0:
            log_file.truncate(0)
        t_last_progress = 0.0
        try:
            for step in range(start, steps):
                t0 = time.perf_counter()
                for group in param_groups:
                    group["lr"] = group["base_lr"] * lr_factor(cfg, step)
                method.train_mode(True)
                opt.step_index = step
                batch = sampler.batch(step, self.device)
                data_s += time.perf_counter() - t0
                with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                    losses = method.training_step(batch, opt)
                values = {k: float(v.detach()) for k, v in losses.items()}
                bad = [k for k, v in values.items() if not math.isfinite(v)]
                if bad:
                    raise NonFiniteLossError(f"non-finite loss at step {step}: term(s) {', '.join(bad)}")
                if ema:
                    ema.update(method)
                train_s += time.perf_counter() - t0
                if step == 0:
                    writer.writerow(["step", "lr", "seconds", *values])
                writer.writerow([step, param_groups[0]["lr"], f"{train_s:.3f}",
                                 *(f"{v:.6g}" for v in values.values())])
                done = step + 1
                if done in validate_at or (cfg.valid_every and done % cfg.valid_every == 0):
                    best, lsd = self._validate_and_keep_best(method, ema, valid, done, best)
                    if done in validate_at:
                        anytime.append({"fraction": validate_at[done], "step": done,
                                        "flops": cost.through(done, steps), "valid_lsd": lsd})
                if done % cfg.checkpoint_every == 0 and done < steps:
                    log_file.flush()
                    self._save({"final": False, "step": done, "train_s": train_s, "data_s": data_s, "best": best,
                                "anytime": anytime, "weights": method.state_dict(),
                                "optimizers": {n: o.state_dict() for n, o in optimizers.items()},
                                "ema": ema.shadow if ema else None, "torch_rng": torch.get_rng_state()})
                if time.monotonic() - t_last_progress > PROGRESS_EVERY_S or done == steps:
                    write_json(self.progress_path, {"step": done, "steps": steps, "loss": values.get("loss")})
                    t_last_progress = time.monotonic()
        finally:
            log_file.close()

        result = TrainResult(train_steps=steps, train_s=train_s, steps_per_s=steps / max(train_s, 1e-9),
                             best_valid_lsd=best["lsd"], best_step=best["step"], resumed_from=resumed_from,
                             data_fraction=data_s / max(train_s, 1e-9), train_flops=cost.through(steps, steps),
                             train_budget_flops=self.budget, train_flops_per_step=cost.as_dict(),
                             train_audio_s=steps * cfg.batch_size * sampler.crop / proto.target_sr, anytime=anytime)
        method.load_state_dict(best["weights"])
        self._save({"final": True, "step": steps, "weights": method.state_dict(), "result": result.__dict__})
        self.log(f"trained {steps} steps in {train_s:.1f} s; best valid LSD {best['lsd']:.3f} at step {best['step']}")
        return result

    def _validate_and_keep_best(self, method: LearnedMethod, ema: EMA | None, valid: Pairs, step: int,
                                best: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """Score the weights that would be evaluated (the EMA ones when EMA is on); keep the best.
        Returns the (possibly updated) best and this step's validation LSD."""
        raw = method.state_dict() if ema else None
        if ema:
            method.load_state_dict({**raw, **ema.shadow})
        lsd = self.validate(method, valid)
        self.log(f"step {step}: valid LSD {lsd:.4f}")
        if lsd < best["lsd"]:
            best = {"lsd": lsd, "step": step, "weights": copy.deepcopy(method.state_dict())}
        if ema:
            method.load_state_dict(raw)
        return best, lsd
