"""RFD-Net (Jiang, Hou, Wang, Lu, Zhang, Lu, "Recursive Feature Diversity Network for audio
super-resolution", Speech Communication 144 (2022) 57-66), rebuilt from its description.

What was read where: no public code is known, and neither the paper's text nor a summary of its
layers was found (the `search` tool's page, code and docs corpora, queried 2026-11-25). What is
known comes from the seed paper's related-work summary: "a recursive structure that refines
hierarchical features iteratively with up- and down-sampling learners between the LR and HR
feature spaces". Everything else below is OUR design, modelled on the two image-SR networks that
description points to: iterative up/down back-projection units (DBPN, Haris et al., CVPR 2018) and
a recursive feedback block with shared weights whose hierarchical outputs are fused (SRFBN, Li et
al., CVPR 2019), moved to 1-D audio.

Shapes (B = batch, T_l = LR length, R = scale, C = channels):

    lr (B, 1, T_l) --head conv--> F0 (B, C, T_l)                 LR feature space
    recursion t = 1..K, ONE set of weights shared by every t:
      z_t = PReLU(1x1 conv [F0, h_{t-1}])  (B, C, T_l)           h_0 = F0
      L_0 = z_t; for g = 1..G:
        H_g = UpProj_g(1x1 [L_0..L_{g-1}])    (B, C, T_l R)      HR feature space
        L_g = DownProj_g(1x1 [H_1..H_g])      (B, C, T_l)
      h_t = 1x1 conv [L_1..L_G] + F0         (B, C, T_l)         hierarchical features of step t
    fused = 1x1 conv [h_1..h_K]             (B, C, T_l)          "feature diversity": every step's features
    residual = conv(PReLU(subpixel(conv(fused))))  (B, 1, T_l R)
    output = spline(lr) + residual          (B, 1, T_l R)

Learners (what moves features between the two spaces):
    up   (B, C, n)   -> (B, C, n R): conv k_up to R C channels, subpixel1d (AudioUNet's), PReLU
    down (B, C, n R) -> (B, C, n):   conv kernel 2R + 1, stride R, padding R (centred on LR samples), PReLU
    UpProj(L)   = H0 + up(down(H0) - L),    H0 = up(L)        (DBPN's up-projection unit)
    DownProj(H) = L0 + down(up(L0) - H),    L0 = down(H)      (DBPN's down-projection unit)

Choices (all ours, none published):
- K (`recursions`) steps share all weights, so K changes compute, not parameters; G (`groups`)
  projection pairs per step with DBPN's dense connections (1x1 compressions of all earlier maps).
- Fusion of every step's features at the end (rather than SRFBN's per-step outputs and losses).
- A global residual from the cubic-spline upsample (as AudioUNet), so the net learns the residual.
- Loss: mean squared error (the objective of the AudioUNet/TFiLM baselines the paper compares with;
  the paper's own loss is not known to us) plus `Config.spectral_weight` x the multi-resolution
  log-STFT loss of methods/baselines/audiounet.py (0 in `paper`): an L2-only net leaves the upper
  band nearly empty and loses to `noisefill` on LSD (see AudioUNet's docstring for measurements).
- `paper` sizes are SRFBN's defaults (64 channels, 6 groups, 4 steps) with AudioUNet's training
  settings, documented as our stand-in for the unknown published values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from bench.signal.degrade import upsample
from methods.api import Batch, LearnedMethod, TrainConfig
from methods.baselines.audiounet import SubPixel1d
from methods.common.losses import log_power_stft_loss


def up_learner(channels: int, scale: int, kernel: int) -> nn.Module:
    """(B, C, n) -> (B, C, n R): conv to R C channels + subpixel + PReLU."""
    return nn.Sequential(nn.Conv1d(channels, scale * channels, kernel, padding=kernel // 2),
                         SubPixel1d(scale), nn.PReLU(channels))


def down_learner(channels: int, scale: int) -> nn.Module:
    """(B, C, n R) -> (B, C, n): strided conv, kernel 2R + 1 centred on every R-th sample, + PReLU."""
    return nn.Sequential(nn.Conv1d(channels, channels, 2 * scale + 1, stride=scale, padding=scale),
                         nn.PReLU(channels))


class UpProjection(nn.Module):
    """DBPN up-projection, LR (B, C, n) -> HR (B, C, n R): H0 + up(down(H0) - L), H0 = up(L)."""

    def __init__(self, channels: int, scale: int, kernel: int) -> None:
        super().__init__()
        self.up0, self.down, self.up1 = (up_learner(channels, scale, kernel), down_learner(channels, scale),
                                         up_learner(channels, scale, kernel))

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        high = self.up0(low)
        return high + self.up1(self.down(high) - low)


class DownProjection(nn.Module):
    """DBPN down-projection, HR (B, C, n R) -> LR (B, C, n): L0 + down(up(L0) - H), L0 = down(H)."""

    def __init__(self, channels: int, scale: int, kernel: int) -> None:
        super().__init__()
        self.down0, self.up, self.down1 = (down_learner(channels, scale), up_learner(channels, scale, kernel),
                                           down_learner(channels, scale))

    def forward(self, high: torch.Tensor) -> torch.Tensor:
        low = self.down0(high)
        return low + self.down1(self.up(low) - high)


def compress(c_in: int, c_out: int) -> nn.Module:
    """1x1 conv + PReLU: (B, c_in, n) -> (B, c_out, n)."""
    return nn.Sequential(nn.Conv1d(c_in, c_out, 1), nn.PReLU(c_out))


class RecursiveBlock(nn.Module):
    """One refinement step (weights shared across steps): (F0, h_prev) (B, C, T_l) each -> h (B, C, T_l)."""

    def __init__(self, channels: int, scale: int, groups: int, kernel: int) -> None:
        super().__init__()
        c = channels
        self.entry = compress(2 * c, c)
        self.up = nn.ModuleList(UpProjection(c, scale, kernel) for _ in range(groups))
        self.down = nn.ModuleList(DownProjection(c, scale, kernel) for _ in range(groups))
        # dense connections: group g sees every LR map before it (g + 1 of them) and every HR map so far
        self.low_in = nn.ModuleList(compress((g + 1) * c, c) if g else nn.Identity() for g in range(groups))
        self.high_in = nn.ModuleList(compress((g + 1) * c, c) if g else nn.Identity() for g in range(groups))
        self.exit = nn.Conv1d(groups * c, c, 1)

    def forward(self, first: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        lows = [self.entry(torch.cat([first, previous], dim=1))]
        highs: list[torch.Tensor] = []
        for up, down, low_in, high_in in zip(self.up, self.down, self.low_in, self.high_in):
            highs.append(up(low_in(torch.cat(lows, dim=1))))
            lows.append(down(high_in(torch.cat(highs, dim=1))))
        return self.exit(torch.cat(lows[1:], dim=1)) + first


class RFDNetwork(nn.Module):
    """lr (B, 1, T_l) -> HR residual (B, 1, T_l R); see the module docstring for the data flow."""

    def __init__(self, scale: int, channels: int, groups: int, recursions: int, head_kernel: int,
                 up_kernel: int, tail_kernel: int) -> None:
        super().__init__()
        if recursions < 1 or groups < 1:
            raise ValueError(f"need recursions >= 1 and groups >= 1, got {recursions} and {groups}")
        c = channels
        self.recursions = recursions
        self.head = nn.Sequential(nn.Conv1d(1, c, head_kernel, padding=head_kernel // 2), nn.PReLU(c))
        self.block = RecursiveBlock(c, scale, groups, up_kernel)
        self.fuse = compress(recursions * c, c)
        self.tail = nn.Sequential(up_learner(c, scale, up_kernel),
                                  nn.Conv1d(c, 1, tail_kernel, padding=tail_kernel // 2))

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        first = self.head(lr)
        state, steps = first, []
        for _ in range(self.recursions):
            state = self.block(first, state)
            steps.append(state)
        return self.tail(self.fuse(torch.cat(steps, dim=1)))


# Our stand-in for the unknown published schedule: AudioUNet's (8192-sample patches at 16 kHz, Adam 1e-4).
PAPER_TRAIN = TrainConfig(steps=50_000, batch_size=32, crop_seconds=8192 / 16000, optimizer="adam", lr=1e-4,
                          betas=(0.9, 0.999), schedule="constant", grad_clip=None, valid_every=1000,
                          checkpoint_every=1000, valid_items=8)

# quick: ~30 s of one CPU thread; not published.
QUICK_TRAIN = TrainConfig(batch_size=8, crop_seconds=0.25, optimizer="adam", lr=2e-3,
                          betas=(0.9, 0.999), schedule="cosine", warmup=0.05, grad_clip=1.0,
                          checkpoint_every=100, valid_items=4)

SMOKE_TRAIN = TrainConfig(batch_size=4, crop_seconds=0.1, optimizer="adam", lr=3e-3,
                          betas=(0.9, 0.999), grad_clip=1.0, checkpoint_every=15, valid_items=1)


class RFDNet(LearnedMethod):
    """RFD-Net (Jiang et al. 2022) as rebuilt here: recursive up/down back-projection between LR and HR
    feature spaces with shared weights, every step's features fused, residual on the spline input.

    forward: lr (B, 1, T_low) -> (B, 1, T_low * R). Loss: MSE + `spectral_weight` x multi-resolution
    log-STFT loss (not published).

    Profiles (channels / groups / recursions, parameters at R = 2, 4, 6):
    - paper: 64 / 6 / 4, `PAPER_TRAIN`, MSE only.
    - quick: 16 / 2 / 3 (22 k / 39 k / 56 k), spectral_weight 0.01, `QUICK_TRAIN`.
    - smoke: 4 / 1 / 2.

    Measured with `python -m bench run --methods rfdnet,sfsrnet --scales 2,4,6 --num-cpus 1` (synth-speech,
    quick, one thread; load average 1-2.5 on 2 cores), two runs (a cell's seed follows its key, which
    follows the source, so every edit re-draws it), R = 2 / 4 / 6: SNR 14.68-14.76 / 11.30-11.77 /
    10.89-11.03 dB, LSD 0.763-0.785 / 1.163-1.254 / 1.206-1.351 (noisefill 1.158 / 1.422 / 1.687,
    spline 2.793 / 4.416 / 4.732), training 39 / 32 / 45-49 s. LSD-LF rises with R (0.29-0.30 /
    0.50-0.73 / 0.56-0.72; spline 0.19 / 0.23 / 0.23): the residual is not confined to the empty band,
    and SNR ends below spline's at every R.
    """

    name = "rfdnet"

    @dataclass(frozen=True)
    class Config:
        channels: int = 64
        groups: int = 6              # up/down projection pairs per recursion
        recursions: int = 4          # refinement steps sharing one set of weights
        head_kernel: int = 9
        up_kernel: int = 3
        tail_kernel: int = 9
        spectral_weight: float = 0.0  # NOT published: weight of a multi-resolution log-STFT term (0 = off)
        spectral_ffts: tuple[int, ...] = (512, 1024, 2048)
        train: TrainConfig = PAPER_TRAIN

    profile_overrides: ClassVar[dict] = {
        "smoke": {"channels": 4, "groups": 1, "recursions": 2, "spectral_weight": 0.01, "train": SMOKE_TRAIN},
        "quick": {"channels": 16, "groups": 2, "recursions": 3, "spectral_weight": 0.01, "train": QUICK_TRAIN},
        "paper": {},
    }

    def build_networks(self) -> dict[str, nn.Module]:
        c = self.config
        return {"rfd": RFDNetwork(self.protocol.scale, c.channels, c.groups, c.recursions, c.head_kernel,
                                  c.up_kernel, c.tail_kernel)}

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) at protocol.low_sr -> (B, 1, T_low * R) at protocol.target_sr."""
        return upsample(lr, self.protocol.scale, "spline") + self.networks["rfd"](lr)

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        est = self.forward(batch.lr)
        mse = (est - batch.hr).square().mean()
        if not self.config.spectral_weight:
            return {"loss": mse}
        spectral = log_power_stft_loss(est, batch.hr, self.config.spectral_ffts)
        return {"loss": mse + self.config.spectral_weight * spectral, "mse": mse, "spectral": spectral}
