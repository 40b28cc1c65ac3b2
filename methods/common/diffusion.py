"""The diffusion core NU-Wave and NU-Wave 2 share: noise schedules, continuous-noise-level training,
the reverse sampler (with the `start_step` option) and the sinusoidal noise-level embedding.

Notation (variance preserving, as both papers): a noise level is abar in (0, 1], the signal's share of
the variance, and a noisy signal is

    y = sqrt(abar) * x0 + sqrt(1 - abar) * eps,      eps ~ N(0, I),  x0, y, eps: (B, 1, T).

The network predicts eps from (y, noise level, LR conditioning).

What was read where:
- maum-ai/nuwave, hparameter.yaml and lightning_model.py: training schedule `linspace(1e-6, 0.006,
  1000)` of betas; continuous noise level = sqrt(abar) drawn uniformly between the sqrt(abar) of two
  neighbouring discrete steps (`sample_continuous_noise_level`, WaveGrad style); inference with the
  8-step beta schedule (1e-6, 2e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 0.9) and the DDPM posterior
  (ancestral: fresh noise every step but the last); the network is conditioned on sqrt(abar); loss
  `lognorm` = mean over the batch of log(mean |eps_hat - eps|); `sample(start_step, init_noise=False)`
  starts from the conditioning signal diffused to the level of step `start_step` instead of pure noise.
- maum-ai/nuwave2, diffusion.py and lightning_model.py: a continuous-time schedule in log-SNR,
  logsnr(t) = -2 log tan(a t + b) between logsnr_min and logsnr_max (abar = sigmoid(logsnr)); training
  times are stratified over the batch, ((1 - u) + i / B) mod 1; the network is conditioned on the
  normalised negative log-SNR (logsnr_max - logsnr) / (logsnr_max - logsnr_min); the 8-step inference
  walks a given log-SNR list with the deterministic DDIM update and ends at logsnr_max; loss plain L1;
  maum-ai/nuwave2, hparameter.yaml: logsnr range (-20, 20) and the 8-step list
  (-2.6, -0.8, 2.0, 6.4, 9.8, 12.9, 14.4, 17.2).
  NU-Wave 2 is the same family (variance-preserving, eps prediction, continuous levels); only the
  parametrisation of abar differs, so both are one `NoiseSchedule` interface below.

One sampler for both: the generalised DDIM step from level abar_t to abar_s,

    x0_hat = (y - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t)
    sigma  = eta * sqrt((1 - abar_s) / (1 - abar_t)) * sqrt(1 - abar_t / abar_s)
    y_s    = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - sigma^2) eps_hat + sigma z,

is NU-Wave's DDPM posterior (mean and variance) for eta = 1 and NU-Wave 2's DDIM update for eta = 0.

Sampling noise never comes from the global RNG: `DiffusionMethod.reseed(seed)` sets the sampling
seed (the harness derives it from the cell seed and the evaluation repeat), and every `enhance` call
draws from a fresh `torch.Generator` seeded with it, so an output is a pure function of (weights,
input, seed): re-runs, resumed trainings and chunked files give bit-identical samples.
"""
from __future__ import annotations

import math
from typing import Any, Callable, ClassVar

import torch
from torch import nn

from bench.signal.degrade import upsample
from methods.api import Batch, LearnedMethod, TrainConfig
from methods.baselines.dsp import highpass_above_nyquist


# What NU-Wave's and NU-Wave 2's quick/smoke profiles share (NOT published; see DiffusionMethod). They
# condition on the protocol's upsampler (`condition_upsampler` None) and keep the batch maker's defaults
# (no peak normalisation, no random gain): their measured numbers were made so.
# `residual_gain` 30: about 1 / RMS of HR - LR on synth-speech (39 / 27 / 24 at R = 2 / 4 / 6), so the
# diffused residual has roughly the unit variance of the noise. R = 2 LSD with 10 / 30 / 100: 1.21 / 1.10 /
# 1.15 (nuwave quick, keep_low_band, 16 test files).
# Training (when quick was set in steps): 200 steps of batch 8 x 0.125 s took 9-13 s (nuwave) and 15-21 s (nuwave2) per cell in the
# main command; the 8-step sampler over the 48 s of test audio another 7-13 s and 10-22 s.
QUICK_TRAIN = TrainConfig(batch_size=8, crop_seconds=0.125, optimizer="adam", lr=2e-3,
                          betas=(0.9, 0.999), schedule="cosine", warmup=0.05, grad_clip=1.0,
                          checkpoint_every=100, valid_items=2)
SMOKE_TRAIN = TrainConfig(batch_size=4, crop_seconds=0.1, optimizer="adam", lr=2e-3,
                          betas=(0.9, 0.999), grad_clip=1.0, checkpoint_every=15, valid_items=1)
QUICK_OVERRIDES = {"residual_gain": 30.0, "keep_low_band": True, "condition_upsampler": None, "train": QUICK_TRAIN}
SMOKE_OVERRIDES = {**QUICK_OVERRIDES, "train": SMOKE_TRAIN}

Projection = Callable[[torch.Tensor], torch.Tensor]  # (B, 1, T) clean-signal estimate -> (B, 1, T)


class NoiseSchedule:
    """Where noise levels come from, in training and at inference. Levels are abar in (0, 1]."""

    def training_levels(self, batch: int, device: torch.device) -> torch.Tensor:
        """(batch,) continuous noise levels abar for one training batch (global torch RNG)."""
        raise NotImplementedError

    def inference_levels(self) -> torch.Tensor:
        """(N + 1,) float64 abar of the reverse process, noisiest first; the last is the end level."""
        raise NotImplementedError

    def network_input(self, abar: torch.Tensor) -> torch.Tensor:
        """(B,) abar -> (B,) the scalar the network's noise-level embedding sees."""
        raise NotImplementedError


class LinearBetaSchedule(NoiseSchedule):
    """NU-Wave: discrete linear betas for training, a short beta list for inference; the network sees
    sqrt(abar) (the "continuous noise level" of WaveGrad)."""

    def __init__(self, beta_start: float, beta_end: float, train_steps: int,
                 infer_betas: tuple[float, ...]) -> None:
        betas = torch.linspace(beta_start, beta_end, train_steps, dtype=torch.float64)
        # sqrt(abar) before step s, s = 0..T (index 0: clean)
        self.sqrt_abar = torch.cat([torch.ones(1, dtype=torch.float64), (1 - betas).cumprod(0).sqrt()])
        self.infer_betas = torch.tensor(infer_betas, dtype=torch.float64)

    def training_levels(self, batch: int, device: torch.device) -> torch.Tensor:
        step = torch.randint(1, len(self.sqrt_abar), (batch,))
        u = torch.rand(batch, dtype=torch.float64)
        level = self.sqrt_abar[step - 1] * u + self.sqrt_abar[step] * (1 - u)
        return level.square().to(device)

    def inference_levels(self) -> torch.Tensor:
        abar = (1 - self.infer_betas).cumprod(0)            # abar after inference step 1..N
        return torch.cat([abar.flip(0), torch.ones(1, dtype=torch.float64)])

    def network_input(self, abar: torch.Tensor) -> torch.Tensor:
        return abar.sqrt()


class LogSNRSchedule(NoiseSchedule):
    """NU-Wave 2: abar = sigmoid(logsnr(t)), logsnr(t) = -2 log tan(a t + b), t in [0, 1]; the
    network sees (logsnr_max - logsnr) / (logsnr_max - logsnr_min) in [0, 1]."""

    def __init__(self, logsnr_min: float, logsnr_max: float, infer_logsnr: tuple[float, ...]) -> None:
        self.logsnr_min, self.logsnr_max = logsnr_min, logsnr_max
        self.b = math.atan(math.exp(-logsnr_max / 2))
        self.a = math.atan(math.exp(-logsnr_min / 2)) - self.b
        self.infer_logsnr = torch.tensor([*infer_logsnr, logsnr_max], dtype=torch.float64)

    def logsnr(self, t: torch.Tensor) -> torch.Tensor:
        """(B,) times in [0, 1] -> (B,) log-SNR, logsnr_max at t = 0, logsnr_min at t = 1."""
        return -2 * torch.log(torch.tan(self.a * t + self.b))

    def training_levels(self, batch: int, device: torch.device) -> torch.Tensor:
        # Stratified: one uniform draw shifted by i / B, so every batch covers [0, 1) evenly.
        t = ((1 - torch.rand(1, dtype=torch.float64)) + torch.arange(batch, dtype=torch.float64) / batch) % 1
        return torch.sigmoid(self.logsnr(t)).to(device)

    def inference_levels(self) -> torch.Tensor:
        return torch.sigmoid(self.infer_logsnr)

    def network_input(self, abar: torch.Tensor) -> torch.Tensor:
        logsnr = torch.log(abar) - torch.log1p(-abar)
        return (self.logsnr_max - logsnr) / (self.logsnr_max - self.logsnr_min)


def diffuse(x0: torch.Tensor, abar: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """q(y | x0): (B, 1, T) signal, (B,) levels, (B, 1, T) noise -> (B, 1, T) noisy signal.

    The coefficients are computed in float64 before the cast: NU-Wave 2's quietest training levels
    (log-SNR up to 20, abar = 1 - 2e-9) round to abar = 1 in float32, which would zero the noise."""
    a = abar.double().view(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt().to(x0.dtype) * x0 + (1 - a).sqrt().to(x0.dtype) * noise


def reverse_step(y: torch.Tensor, eps_hat: torch.Tensor, abar_t: float, abar_s: float, eta: float,
                 generator: torch.Generator | None, project: Projection | None = None) -> torch.Tensor:
    """One generalised DDIM step from level abar_t to the less noisy abar_s (module docstring).

    y, eps_hat: (B, 1, T) -> (B, 1, T). eta = 1: DDPM posterior sample; eta = 0: deterministic DDIM.
    `project` maps the clean-signal estimate x0_hat onto the signals consistent with the observation
    (low-band consistency: the measured band replaced, `DiffusionMethod.Config.keep_low_band`); eps_hat
    is then recomputed from the projected x0_hat so the step stays on the same noisy signal y."""
    x0_hat = (y - math.sqrt(1 - abar_t) * eps_hat) / math.sqrt(abar_t)
    if project is not None:
        x0_hat = project(x0_hat)
        eps_hat = (y - math.sqrt(abar_t) * x0_hat) / math.sqrt(1 - abar_t)
    sigma = eta * math.sqrt((1 - abar_s) / (1 - abar_t) * (1 - abar_t / abar_s))
    out = math.sqrt(abar_s) * x0_hat + math.sqrt(max(1 - abar_s - sigma ** 2, 0.0)) * eps_hat
    if sigma > 0:
        out = out + sigma * torch.randn(y.shape, generator=generator, device=y.device, dtype=y.dtype)
    return out


def sample(denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], start: torch.Tensor, levels: torch.Tensor,
           eta: float, generator: torch.Generator, start_step: int | None = None,
           project: Projection | None = None) -> torch.Tensor:
    """Run the reverse process. denoise(y (B, 1, T), abar (B,)) -> eps_hat (B, 1, T).

    `start` (B, 1, T) is the signal the process starts near: the LR signal at the target rate, or
    zeros when the model diffuses the residual over it (`DiffusionMethod.Config.residual_gain`).
    `levels` (N + 1,) from `NoiseSchedule.inference_levels`. start_step None: start from pure noise
    and take all N steps; start_step = k: start from `start` diffused to the level of the k-th-last
    step and take k steps (NU-Wave's `sample(start_step=k, init_noise=False)`). `project` (optional)
    is applied to every step's clean-signal estimate (`reverse_step`)."""
    n = len(levels) - 1
    first = 0 if start_step is None else n - start_step
    if not 0 <= first < n:
        raise ValueError(f"start_step {start_step} must be in 1..{n} (the inference schedule has {n} steps)")
    z = torch.randn(start.shape, generator=generator, device=start.device, dtype=start.dtype)
    y = z if start_step is None else diffuse(start, levels[first].expand(len(start)), z)
    for i in range(first, n):
        abar_t, abar_s = float(levels[i]), float(levels[i + 1])
        eps_hat = denoise(y, torch.full((len(y),), abar_t, dtype=torch.float64, device=y.device))
        y = reverse_step(y, eps_hat, abar_t, abar_s, eta, generator, project)
    return y


def noise_loss(eps_hat: torch.Tensor, eps: torch.Tensor, kind: str) -> torch.Tensor:
    """(B, 1, T) each -> scalar. "lognorm": NU-Wave's mean over the batch of log(mean |error|);
    "l1": NU-Wave 2's mean absolute error."""
    err = (eps_hat - eps).abs().flatten(1).mean(1)
    if kind == "lognorm":
        return err.clamp_min(1e-20).log().mean()
    if kind == "l1":
        return err.mean()
    raise ValueError(f"unknown diffusion loss {kind!r}; choose lognorm or l1")


class NoiseLevelEmbedding(nn.Module):
    """(B,) scalar noise-level input -> (B, dim): sinusoids of scale * value at `channels` // 2
    geometric frequencies 1 .. 1e-4, then two SiLU-activated linear layers (DiffWave/NU-Wave).

    Frequency k is 1e-4 ** (k / span): NU-Wave divides by span = half = channels // 2 (the last
    frequency stops short of 1e-4), NU-Wave 2 by half - 1 (`inclusive`: it reaches 1e-4)."""

    def __init__(self, channels: int, dim: int, scale: float, inclusive: bool) -> None:
        super().__init__()
        half = channels // 2
        span = half - 1 if inclusive else half
        self.register_buffer("freqs", torch.exp(-math.log(1e4) * torch.arange(half, dtype=torch.float32) / span),
                             persistent=False)
        self.scale = scale
        self.net = nn.Sequential(nn.Linear(2 * half, dim), nn.SiLU(), nn.Linear(dim, dim), nn.SiLU())

    def forward(self, value: torch.Tensor) -> torch.Tensor:
        x = self.scale * value.float().unsqueeze(1) * self.freqs.unsqueeze(0)
        return self.net(torch.cat([x.sin(), x.cos()], dim=1))


def kaiming_conv1d(*args: Any, **kwargs: Any) -> nn.Conv1d:
    """Conv1d with Kaiming-normal weights, the init of the DiffWave/NU-Wave code."""
    conv = nn.Conv1d(*args, **kwargs)
    nn.init.kaiming_normal_(conv.weight)
    return conv


class DiffusionMethod(LearnedMethod):
    """A conditional waveform diffusion model (eps prediction) behind the LearnedMethod interface.

    A subclass builds its networks, its `schedule()`, and implements
      - `denoise(y, abar, cond)`: (B, 1, T) noisy, (B,) levels, conditioning -> (B, 1, T) eps_hat;
      - `training_condition(batch)`: the conditioning of one training batch;
      - `condition(lr)`: the conditioning of an LR input at the protocol's rate.
    Its Config has `loss`, `eta`, `start_step`, `clip_output`, `residual_gain`, `keep_low_band`,
    `condition_upsampler`, `train`:
      - `condition_upsampler`: how the LR input is put on the target grid for the conditioning, in
        training and at test alike (a kind of bench.signal.degrade.upsample); None = the protocol's;
      - `residual_gain` None: diffuse the HR waveform (both papers); g: diffuse g * (HR - LR at the
        target rate) and add the LR signal back after sampling (NOT published; see `quick` below);
      - `keep_low_band`: every step's clean-signal estimate keeps the LR signal's DFT bins below the
        low-rate Nyquist and only the band above it from the model (NOT published).
    Why `quick` uses both (measured in methods/baselines/nuwave.py): a network of a few ten thousand
    weights trained for 200 CPU steps does not learn the low-noise levels, so its samples keep a white
    noise floor across the whole band; the residual (RMS 0.026-0.041 on synth-speech, ~1/30 of the unit
    noise) scaled to about unit variance is what it can learn in that time, and the measured band
    need not be re-generated at all.

    Harness hooks (declared in methods/api.py): `stochastic`, `reseed(seed)`, `inference_steps`.
    """

    stochastic: ClassVar[bool] = True

    def __init__(self, config: Any, protocol: Any) -> None:
        super().__init__(config, protocol)
        self.noise_schedule = self.schedule()
        self.sampling_seed = 0

    # --- to implement ---------------------------------------------------------------------------
    def schedule(self) -> NoiseSchedule:
        raise NotImplementedError

    def denoise(self, y: torch.Tensor, abar: torch.Tensor, cond: Any) -> torch.Tensor:
        raise NotImplementedError

    def training_condition(self, batch: Batch) -> Any:
        raise NotImplementedError

    def condition(self, lr: torch.Tensor) -> Any:
        raise NotImplementedError

    # --- shared -----------------------------------------------------------------------------------
    def upsampled(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) -> (B, 1, T_low * R): the LR signal on the target grid (the config's
        `condition_upsampler`, else the protocol's upsampler)."""
        return upsample(lr, self.protocol.scale, self.config.condition_upsampler or self.protocol.upsampler)

    def reseed(self, seed: int) -> None:
        """Set the seed every later `enhance` call samples its noise from."""
        self.sampling_seed = int(seed)

    @property
    def inference_steps(self) -> int:
        """Network evaluations per enhanced signal."""
        n = len(self.noise_schedule.inference_levels()) - 1
        return n if self.config.start_step is None else self.config.start_step

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        cond = self.training_condition(batch)
        x0 = self.diffused_target(batch.hr, cond)
        abar = self.noise_schedule.training_levels(len(x0), x0.device)
        eps = torch.randn_like(x0)
        eps_hat = self.denoise(diffuse(x0, abar, eps), abar, cond)
        return {"loss": noise_loss(eps_hat, eps, self.config.loss)}

    def diffused_target(self, hr: torch.Tensor, cond: Any) -> torch.Tensor:
        """(B, 1, T) HR -> what the model diffuses: HR itself (published), or with `residual_gain` g the
        residual g * (HR - LR at the target rate)."""
        gain = self.config.residual_gain
        return hr if gain is None else gain * (hr - self.signal_of(cond))

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) -> (B, 1, T_low * R): one reverse-process sample (noise from `sampling_seed`)."""
        cond = self.condition(lr)
        signal, gain = self.signal_of(cond), self.config.residual_gain
        start = signal if gain is None else torch.zeros_like(signal)  # the LR signal's own residual is 0
        project = None
        if self.config.keep_low_band:
            project = lambda x0: start + highpass_above_nyquist(x0 - start, self.protocol.scale)  # noqa: E731
        generator = torch.Generator(device=lr.device).manual_seed(self.sampling_seed)
        out = sample(lambda y, abar: self.denoise(y, abar, cond), start, self.noise_schedule.inference_levels(),
                     self.config.eta, generator, self.config.start_step, project)
        out = out if gain is None else signal + out / gain
        return out.clamp(-1.0, 1.0) if self.config.clip_output else out

    def signal_of(self, cond: Any) -> torch.Tensor:
        """The (B, 1, T) LR-at-target-rate signal inside a conditioning."""
        return cond
