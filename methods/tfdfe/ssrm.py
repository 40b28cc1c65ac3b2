"""SSRM, the spectrogram super-resolution module of TFDFE-ASR (the TFDFE-ASR paper, section 3.2, Eqs. 4-5).

The LR log-power spectrogram is treated as an image and super-resolved xR along the frequency
axis by a U-Net shaped dual-regression network (DRN, Guo et al. 2020): multi-scale residual blocks
(MSRB, Li et al. 2018) extract features, residual channel attention blocks (RCAB, Zhang et al. 2018)
reconstruct, a 1-D PixelShuffle over frequency makes the R-times-taller image, and a learned
down-sampler D maps the SR spectrogram back to the LR one (the dual regression task).

Grids (R = scale, n = `n_fft_low`, h = the LR hop from `hop_ms`, F = n / 2, N = frames):

    LR STFT:  n-point periodic Hann, hop h, at the low rate      -> (B, F + 1, N) bins 0..low Nyquist
    HR STFT:  (R n)-point periodic Hann, hop R h, at the target rate -> (B, R F + 1, N)
    Both have the same frame times (centred frames, N = 1 + T_low // h), and LR bin k has the
    frequency of HR bin k; for a band-limited signal |X_HR[k]| ~= R |X_LR[k]| (R times more samples
    under a window of the same shape), so the network works in HR units: log10 power + 2 log10 R.

Network H (B = batch, C = channels):

    input  (B, 3, F, N): relative log-power (minus the frame mean), frequency coordinate, frame mean
    head   Conv 3x3 -> (B, C, F, N); MSRB                                    -> skip 0
    level l = 1..D: Conv 3x3 stride 2 + MSRB -> (B, C, F / 2^l, N / 2^l)     -> skip l (bottleneck at D)
    up l = D-1..0: nearest x2 to skip l's size, concat, Conv 1x1 2C -> C, RCAB x n_rcab
    tail   Conv 3x3 C -> R, then pixel_shuffle_1d over frequency -> (B, 1, R F, N)
    output + frame mean (a global residual: quiet frames start quiet)        = H(x), HR log10 power
    composed SR: measured low band (bins < F, from the upsampled input's HR STFT) + H(x) above

Dual model D: Conv (R x 3, stride (R, 1)) + LeakyReLU(0.2) + Conv 3x3: (B, 1, R F, N) -> (B, 1, F, N).
Loss (Eq. 4, Eq. 5's L1 taken as a mean): L1(SR, y) + lambda * L1(D(SR), x) on log10 power; SR is the
composed spectrogram, so its measured low band contributes a constant and the gradient reaches only
the new band.

Training input x (`SSRMConfig.pairs`, README "SSRM"): "audio" = the LR log-power of the batch's LR
crop, what `enhance` sees; "bicubic" = section 4.2's image-SR pairs, the HR log-power spectrogram
shrunk R times along frequency by antialiased bicubic interpolation (`bicubic_downsample`; the time
axis is kept, since the LR and HR grids share their frames). Inference always uses the LR audio.

Phase of the new band (the paper gives none; README "SSRM phase"): standalone, Griffin-Lim from a
fixed random start with the measured band held; inside TFDFE, the SWSRM output's phase.

Geometry note: PixelShuffle xR maps LR pixel f to HR bins fR..fR+R-1, a stretch. That is the
mapping of bicubic pairs, whose LR image is the whole band shrunk; with audio pairs, bandwidth
extension keeps HR bin k at LR bin k and adds bins above F, and the network has to learn that
mapping. The frequency-coordinate input channel (CoordConv-style, our addition) tells each position
where it is, and the low part of the shuffled image is replaced by the measured band anyway.

What was read where (section 3.2 names the parts and cites them): MSRB = Li et al. 2018 (MSRN,
ECCV): two 3x3 / 5x5 branches, crossed concatenation, 1x1 fusion, local residual; RCAB = Zhang et al. 2018 (RCAN, ECCV):
conv-ReLU-conv, channel attention with reduction r (16 there), residual; DRN = Guo et al. 2020
(CVPR): the primal U-Net-like network and a dual model of stride-2 conv + LeakyReLU(0.2) + conv
per x2, dual loss weight lambda = 0.1. Our D does the xR in one strided conv (R x 3 kernel).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

LOG_FLOOR = 1e-8   # log10 power floor, as the LSD metric's


@dataclass(frozen=True)
class SSRMConfig:
    n_fft_low: int = 128        # LR STFT size in LR samples (HR uses R x this at the target rate): F = 64 bins
    hop_ms: float = 8.0         # hop in ms (LR hop = round(hop_ms * low_sr), at most n_fft_low / 2; HR hop = R x it)
    channels: int = 64          # C
    levels: int = 2             # D down-sampling levels of the U-Net
    n_rcab: int = 2             # RCABs per up level
    reduction: int = 8          # channel-attention reduction in RCAB
    dual_channels: int = 16     # hidden channels of the down-sampler D
    dual_weight: float = 0.1    # lambda of Eq. 4 (unstated in the paper; DRN's default)
    # Phase of the new band when SSRM stands alone (inside TFDFE the fusion config chooses; README):
    # griffinlim (from a fixed random start, the measured band held) | random (fixed seed) | input
    phase: str = "griffinlim"
    griffin_lim_iters: int = 8
    # Training input x (README "SSRM"): "audio" (the LR crop's log-power) | "bicubic" (section 4.2:
    # the HR spectrogram shrunk R x along frequency by bicubic interpolation)
    pairs: str = "bicubic"


# --- STFT grids ---------------------------------------------------------------------------------------

def grids(cfg: "SSRMConfig", scale: int, low_sr: int) -> tuple["STFTGrid", "STFTGrid"]:
    """(LR grid, HR grid): n-point at the low rate and (R n)-point at the target rate, hops h and R h."""
    hop = min(cfg.n_fft_low // 2, max(1, round(cfg.hop_ms * 1e-3 * low_sr)))
    return STFTGrid(cfg.n_fft_low, hop), STFTGrid(cfg.n_fft_low * scale, hop * scale)


class STFTGrid:
    """One STFT configuration: periodic Hann, centred frames (reflect padding where possible)."""

    def __init__(self, n_fft: int, hop: int) -> None:
        self.n_fft, self.hop = n_fft, hop

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def window(self, x: torch.Tensor) -> torch.Tensor:
        return torch.hann_window(self.n_fft, periodic=True, device=x.device, dtype=x.dtype)

    def stft(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) real -> (B, n_fft / 2 + 1, 1 + T // hop) complex (float32 or wider, outside autocast)."""
        x = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
        mode = "reflect" if x.shape[-1] > self.n_fft // 2 else "constant"
        with torch.autocast(device_type=x.device.type, enabled=False):
            return torch.stft(x.flatten(0, 1), self.n_fft, self.hop, window=self.window(x), center=True,
                              pad_mode=mode, return_complex=True)

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """(B, n_fft / 2 + 1, N) complex -> (B, 1, length) real."""
        window = torch.hann_window(self.n_fft, periodic=True, device=spec.device, dtype=spec.real.dtype)
        with torch.autocast(device_type=spec.device.type, enabled=False):
            return torch.istft(spec, self.n_fft, self.hop, window=window, center=True,
                               length=length).unsqueeze(1)


def log_power(spec: torch.Tensor) -> torch.Tensor:
    """Complex STFT -> log10(max(|X|^2, 1e-8)), the LSD metric's log-power."""
    return torch.log10(spec.abs().square().clamp_min(LOG_FLOOR))


def unit_phase(spec: torch.Tensor) -> torch.Tensor:
    """Complex STFT -> exp(i angle(X)), 1 where |X| is (numerically) zero."""
    mag = spec.abs()
    return torch.where(mag > 1e-12, spec / mag.clamp_min(1e-12), torch.ones_like(spec))


def bicubic_downsample(hr_logp: torch.Tensor, scale: int) -> torch.Tensor:
    """Section 4.2's LR image: (B, 1, R F [+ 1], N) HR log-power -> (B, 1, F, N), shrunk R times along
    frequency by antialiased bicubic interpolation (a trailing HR Nyquist bin is dropped first); the
    time axis keeps its N frames (a bicubic kernel at scale 1 samples at its nodes: the identity).
    Frequency is resized as the last axis: torch's antialiased path mishandles a last axis of size 1."""
    bins = hr_logp.shape[2] // scale
    image = hr_logp[:, :, :bins * scale].transpose(2, 3)                     # (B, 1, N, R F)
    return F.interpolate(image, size=(image.shape[2], bins), mode="bicubic", align_corners=False,
                         antialias=True).transpose(2, 3)


# --- 1-D PixelShuffle ---------------------------------------------------------------------------------

def pixel_shuffle_1d(x: torch.Tensor, r: int) -> torch.Tensor:
    """(B, C r, F, N) -> (B, C, F r, N) along frequency: out[b, c, f r + i, t] = x[b, c r + i, f, t]
    (torch.nn.PixelShuffle's channel order with the width factor set to 1)."""
    b, cr, f, n = x.shape
    if cr % r:
        raise ValueError(f"pixel_shuffle_1d: {cr} channels are not divisible by r={r}")
    return x.view(b, cr // r, r, f, n).permute(0, 1, 3, 2, 4).reshape(b, cr // r, f * r, n)


# --- blocks -------------------------------------------------------------------------------------------

class MSRB(nn.Module):
    """Multi-scale residual block (MSRN, Li et al. 2018, Eqs. 1-4 there), (B, C, H, W) -> same:
    S1 = ReLU(conv3(M)), P1 = ReLU(conv5(M)); S2 = ReLU(conv3([S1, P1])), P2 = ReLU(conv5([P1, S1]));
    out = conv1x1([S2, P2]) + M."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.s1, self.p1 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 5, padding=2)
        self.s2, self.p2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.Conv2d(2 * c, 2 * c, 5, padding=2)
        self.fuse = nn.Conv2d(4 * c, c, 1)

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        s1, p1 = F.relu(self.s1(m)), F.relu(self.p1(m))
        s2, p2 = F.relu(self.s2(torch.cat([s1, p1], 1))), F.relu(self.p2(torch.cat([p1, s1], 1)))
        return self.fuse(torch.cat([s2, p2], 1)) + m


class RCAB(nn.Module):
    """Residual channel attention block (RCAN, Zhang et al. 2018), (B, C, H, W) -> same:
    x + CA(conv3(ReLU(conv3(x)))), CA = global average pool -> 1x1 C -> C/r -> ReLU -> 1x1 -> sigmoid."""

    def __init__(self, c: int, reduction: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1))
        hidden = max(1, c // reduction)
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, hidden, 1), nn.ReLU(),
                                       nn.Conv2d(hidden, c, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return x + h * self.attention(h)


class SSRMNet(nn.Module):
    """H: (B, 3, F, N) features of the LR log-power -> (B, 1, R F, N) HR log10 power (before the
    frame-mean residual is added)."""

    def __init__(self, scale: int, cfg: SSRMConfig) -> None:
        super().__init__()
        c = cfg.channels
        self.head = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), MSRB(c))
        self.down = nn.ModuleList(nn.Sequential(nn.Conv2d(c, c, 3, stride=2, padding=1), MSRB(c))
                                  for _ in range(cfg.levels))
        self.merge = nn.ModuleList(nn.Conv2d(2 * c, c, 1) for _ in range(cfg.levels))
        self.up = nn.ModuleList(nn.Sequential(*(RCAB(c, cfg.reduction) for _ in range(cfg.n_rcab)))
                                for _ in range(cfg.levels))
        self.tail = nn.Conv2d(c, scale, 3, padding=1)
        nn.init.normal_(self.tail.weight, std=1e-3)
        nn.init.zeros_(self.tail.bias)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        skips = [h]
        for block in self.down:
            h = block(h)
            skips.append(h)
        skips.pop()  # the bottleneck is h itself
        for merge, up, skip in zip(self.merge, self.up, reversed(skips)):
            h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = up(merge(torch.cat([h, skip], 1)))
        return pixel_shuffle_1d(self.tail(h), self.scale)


class DualDownsampler(nn.Module):
    """D of Eq. 4's dual term: (B, 1, R F [+ 1], N) SR log-power -> (B, 1, F, N) LR log-power estimate
    (a trailing HR Nyquist bin, if present, is dropped first)."""

    def __init__(self, scale: int, hidden: int) -> None:
        super().__init__()
        self.scale = scale
        self.body = nn.Sequential(nn.Conv2d(1, hidden, (scale, 3), stride=(scale, 1), padding=(0, 1)),
                                  nn.LeakyReLU(0.2), nn.Conv2d(hidden, 1, 3, padding=1))

    def forward(self, sr: torch.Tensor) -> torch.Tensor:
        bins = sr.shape[2] - sr.shape[2] % self.scale
        return self.body(sr[:, :, :bins])


class SSRM(nn.Module):
    """Spectrogram SR module H; `forward` returns the composed HR log-power and what the loss needs.

    x (B, 1, F, N) the LR log-power in HR units (`lr_logpower` of the LR audio, or in training with
    bicubic pairs `bicubic_downsample` of the HR one), up (B, 1, T_low R) the upsampled input (for the
    measured low band) -> dict(sr (B, 1, R F + 1, N) HR log10 power, lr_logp (B, 1, F, N) = x, the
    input of Eq. 4's dual term, low (B, F, N) complex measured low band of the HR STFT).
    The dual down-sampler D is a separate network (`DualDownsampler`): it is used by the loss only.
    """

    def __init__(self, cfg: SSRMConfig, scale: int, low_sr: int) -> None:
        super().__init__()
        if cfg.n_fft_low % 2 or cfg.n_fft_low // 2 % (2 ** cfg.levels):
            raise ValueError(f"SSRM n_fft_low={cfg.n_fft_low} must be even with n_fft_low/2 divisible by 2^levels")
        self.cfg, self.scale = cfg, scale
        self.lr_grid, self.hr_grid = grids(cfg, scale, low_sr)
        self.net = SSRMNet(scale, cfg)
        self.offset = 2.0 * math.log10(scale)   # LR -> HR log10-power units

    def lr_logpower(self, lr: torch.Tensor) -> torch.Tensor:
        """lr (B, 1, T_low) -> x (B, 1, F, N): LR log10 power in HR units, the LR Nyquist bin dropped."""
        return log_power(self.lr_grid.stft(lr))[:, :-1].unsqueeze(1) + self.offset

    @staticmethod
    def features(x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, F, N) -> net input (B, 3, F, N): x minus its frame mean, frequency coordinate, frame mean."""
        mean = x.mean(dim=2, keepdim=True)
        coord = torch.linspace(0.0, 1.0, x.shape[2], device=x.device, dtype=x.dtype).view(1, 1, -1, 1)
        return torch.cat([x - mean, coord.expand_as(x), mean.expand_as(x) / 4.0], dim=1)

    def forward(self, x: torch.Tensor, up: torch.Tensor) -> dict[str, torch.Tensor]:
        feats, f = self.features(x), x.shape[2]
        pred = self.net(feats) + x.mean(dim=2, keepdim=True)                      # (B, 1, R F, N)
        low = self.hr_grid.stft(up)[:, :f]                                        # (B, F, N) complex
        high = pred[:, :, f:]
        sr = torch.cat([log_power(low).unsqueeze(1), high, high[:, :, -1:]], dim=2)  # + HR Nyquist bin
        return {"sr": sr, "lr_logp": x, "low": low}

    def spectrum(self, out: dict[str, torch.Tensor], phase: torch.Tensor) -> torch.Tensor:
        """Composed complex HR STFT (B, R F + 1, N): the measured low band, and above it the
        predicted magnitude with the unit phasors `phase` (B, R F + 1, N) of a chosen source."""
        f = out["low"].shape[1]
        mag = 10.0 ** (0.5 * out["sr"][:, 0, f:].float().clamp(max=6.0))
        return torch.cat([out["low"], mag * phase[:, f:]], dim=1)


def griffin_lim(spec: torch.Tensor, keep: int, grid: STFTGrid, length: int, iters: int) -> torch.Tensor:
    """Griffin & Lim (1984) phase for bins >= keep, bins < keep (the measured band) held fixed:
    spec (B, K, N) complex, its phases the start -> (B, K, N) complex with the same magnitudes."""
    mag = spec[:, keep:].abs()
    for _ in range(iters):
        again = grid.stft(grid.istft(spec, length))
        spec = torch.cat([spec[:, :keep], mag * unit_phase(again[:, keep:])], dim=1)
    return spec
