"""SWSRM, the sound-wave super-resolution module of TFDFE-ASR (the TFDFE-ASR paper, section 3.1, Eqs. 1-3).

A variational autoencoder whose layers are 1-D conv + ReLU + batch norm (encoder) and 1-D transposed
conv + ReLU + batch norm (decoder), trained on alpha * RMSE + KL. Two readings of what it encodes,
switched by `SWSRMConfig.domain` (README "SWSRM"):

`spectrum` (section 3.1 as written; the default, `paper` and `quick`): the VAE encodes the frequency
vector of each windowed, overlapping LR frame and decodes the frequency vector of the HR frame; the
output is synthesised from that vector, the frame's amplitude (its level) and a phase extrapolated
with a von Mises estimate of the measured band's group delay. Shapes (B = batch, T_low LR samples,
T = R T_low, n = LR frame length, F = n / 2, K = R F + 1 HR bins, N = frames, M = B N, Z = latent,
C_D = last encoder channels, D = levels):

    lr (B, 1, T_low) --LR STFT (n-point periodic Hann, hop h)--> log10 power + 2 log10 R (B, F, N)
      (the LR Nyquist bin is dropped; + 2 log10 R puts it in HR units: |X_HR[k]| ~ R |X_LR[k]|)
      level (B, 1, N) = the frame's mean log-power: the amplitude sequence, subtracted here, added back
    vectors (M, 1, F) --encoder--> (M, C_D, F / 2^D) --flatten, Linear--> mu, logvar (M, Z)
      --z = mu + sigma eps (training) / mu (inference)--> Linear, ReLU, BN --> (M, C_D, R F / 2^D)
      --decoder--> (M, 1, R F) relative HR log-power; + level
    composed (B, K, N): bins < F the measured HR STFT of the upsampled input (complex, kept), bins >= F
      the decoded log-power with the von Mises phase; the HR Nyquist bin copies the top bin
    --HR iSTFT ((R n)-point Hann, hop R h, the LR frames' times)--> y (B, 1, T)

`waveform` (the reading made before the paper's text was available): the VAE runs on windowed,
overlapping frames of the spline-upsampled waveform at the target rate and adds a residual to them:

    up (B, 1, T) --frame (left pad L - H, right pad to a whole frame, reflect)--> (B, N, L)
      --sqrt-Hann analysis window--> (M, 1, L) --encoder--> (M, C_D, L / 2^D)
      --1x1 convs--> mu, logvar (M, Z, L / 2^D) --z--> decoder --> residual r (M, 1, L)
      y_i = frame_i + r_i --Hann synthesis window, overlap-add / summed window--> y (B, 1, T)
    With r = 0 the overlap-add gives back the input exactly, edges included (tests/unit/test_tfdfe.py).

Loss (both): alpha * RMSE + KL (Eq. 3). RMSE (Eq. 1) is over the N points of one vector: a frame's
K log-power values (spectrum) or a crop's samples (waveform). KL (Eq. 2) is the closed form against
N(0, I): summed over the latent dimensions as Eq. 2 says, averaged over frames (spectrum); averaged
over latent elements (waveform, whose latent keeps a time axis, so a sum would scale with the frame).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from methods.tfdfe.ssrm import STFTGrid, log_power

DOMAINS = ("spectrum", "waveform")


@dataclass(frozen=True)
class SWSRMConfig:
    # What the VAE encodes (README "SWSRM"): spectrum = section 3.1 (frequency vectors of the LR frames,
    # von Mises phase); waveform = the earlier reading (waveform frames of the spline input, residual).
    domain: str = "spectrum"
    frame_ms: float = 32.0                  # frame length in ms (spectrum: at the low rate; waveform: target)
    overlap: float = 0.5                    # hop = frame * (1 - overlap)
    channels: tuple[int, ...] = (64, 128, 256)
    kernels: tuple[int, ...] = (7, 5, 3)    # the paper's 1x7, 1x5, 1x3 kernels, one per level
    latent: int = 64                        # Z (spectrum: per frame; waveform: channels at L / 2^D)
    alpha: float = 100.0                    # weight of the RMSE term (Eq. 3); the KL weight is 1
    # Our addition (README, SWSRM): beta * multi-resolution STFT loss of the output waveform; 0 = Eq. 3.
    stft_weight: float = 0.0
    stft_ms: tuple[float, ...] = (16.0, 32.0, 64.0)


def build_swsrm(cfg: SWSRMConfig, scale: int, low_sr: int, target_sr: int) -> nn.Module:
    """The SWSRM of `cfg.domain`: forward(lr, up) -> dict(y, mu, logvar, ...)."""
    if cfg.domain == "spectrum":
        return SpectralSWSRM(cfg, scale, low_sr)
    if cfg.domain == "waveform":
        return WaveformSWSRM(cfg, target_sr)
    raise ValueError(f"unknown SWSRM domain {cfg.domain!r}; choose one of {DOMAINS}")


# --- VAE layers ------------------------------------------------------------------------------------------

def _conv_relu_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=kernel // 2), nn.ReLU(), nn.BatchNorm1d(c_out)]


def _deconv_relu_bn(c_in: int, c_out: int, kernel: int) -> list[nn.Module]:
    """Exact 2x transposed conv: out = (in - 1) * 2 - 2 (k // 2) + k + 1 = 2 in for odd k."""
    return [nn.ConvTranspose1d(c_in, c_out, kernel, stride=2, padding=kernel // 2, output_padding=1),
            nn.ReLU(), nn.BatchNorm1d(c_out)]


def _encoder(channels: tuple[int, ...], kernels: tuple[int, ...]) -> nn.Sequential:
    """(M, 1, L) -> (M, channels[-1], L / 2^D): per level a stride-2 conv, then a stride-1 conv (the
    stride-1 conv widens the receptive field; three strided layers alone see about 23 points)."""
    if len(channels) != len(kernels) or not channels:
        raise ValueError(f"SWSRM channels {channels} and kernels {kernels} must be non-empty, equal length")
    layers: list[nn.Module] = []
    c_in = 1
    for c, k in zip(channels, kernels):
        layers += _conv_relu_bn(c_in, c, k, stride=2) + _conv_relu_bn(c, c, k)
        c_in = c
    return nn.Sequential(*layers)


def _decoder(c_in: int, channels: tuple[int, ...], kernels: tuple[int, ...]) -> nn.Sequential:
    """(M, c_in, L / 2^D) -> (M, channels[0], L): the encoder's levels mirrored, each 2x up."""
    layers: list[nn.Module] = []
    for c, k in reversed(list(zip(channels, kernels))):
        layers += _deconv_relu_bn(c_in, c, k) + _conv_relu_bn(c, c, k)
        c_in = c
    return nn.Sequential(*layers)


def _reparameterise(mu: torch.Tensor, logvar: torch.Tensor, training: bool) -> torch.Tensor:
    """z = mu + sigma * eps while training; the mean at inference, so `enhance` is deterministic."""
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp() if training else mu


def _start_with_small_variance(logvar: nn.Module) -> None:
    nn.init.zeros_(logvar.weight)
    nn.init.constant_(logvar.bias, -4.0)


def kl_terms(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise KL(N(mu, exp(logvar)) || N(0, 1)) (Eq. 2's summand, sign made positive), same shape."""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)


# --- spectrum reading (section 3.1) ---------------------------------------------------------------------

class SpectrumVAE(nn.Module):
    """(M, 1, F) relative LR log-power -> (relative HR log-power (M, 1, R F), mu, logvar (M, Z)).

    The latent is one Z-vector per frame ("a low dimensional representation" of the frequency vector);
    the Linear layers around it also tell the decoder where each bin lies, which plain convolutions
    cannot (the new band is R - 1 times wider than their receptive field)."""

    def __init__(self, channels: tuple[int, ...], kernels: tuple[int, ...], latent: int, bins: int,
                 scale: int) -> None:
        super().__init__()
        levels = 2 ** len(channels)
        if bins % levels:
            raise ValueError(f"SWSRM: {bins} LR bins are not divisible by 2^levels = {levels}")
        c = channels[-1]
        self.encoder = _encoder(channels, kernels)
        self.mean = nn.Linear(c * bins // levels, latent)
        self.logvar = nn.Linear(c * bins // levels, latent)
        _start_with_small_variance(self.logvar)
        self.shape = (c, scale * bins // levels)
        self.expand = nn.Linear(latent, c * scale * bins // levels)
        self.expand_norm = nn.BatchNorm1d(c)
        self.decoder = _decoder(c, channels, kernels)
        self.out = nn.Conv1d(channels[0], 1, kernels[0], padding=kernels[0] // 2)

    def forward(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(vectors).flatten(1)
        mu, logvar = self.mean(h), self.logvar(h).clamp(-12.0, 8.0)
        z = _reparameterise(mu, logvar, self.training)
        h = self.expand_norm(F.relu(self.expand(z)).view(-1, *self.shape))
        return self.out(self.decoder(h)), mu, logvar


def von_mises_group_delay(low: torch.Tensor) -> torch.Tensor:
    """Measured band (B, F, N) complex -> (B, 1, N): the maximum-likelihood mean direction of a von
    Mises distribution fitted to the group delays angle(X_k conj(X_{k-1})), each weighted by
    |X_k| |X_{k-1}|: the angle of sum_k X_k conj(X_{k-1}) (0 where that sum is 0)."""
    return torch.angle((low[:, 1:] * low[:, :-1].conj()).sum(dim=1, keepdim=True))


def extrapolated_phase(low: torch.Tensor, count: int) -> torch.Tensor:
    """Unit phasors (B, count, N) for the `count` bins above the measured band (B, F, N): the phase of
    its top bin advanced by the von Mises mean group delay per bin, phi_{F-1+j} = phi_{F-1} + j mu.
    Exact for a single pulse in the frame, whose phase is linear in frequency."""
    mu = von_mises_group_delay(low)
    steps = torch.arange(1, count + 1, device=low.device, dtype=mu.dtype).view(1, -1, 1)
    angle = torch.angle(low[:, -1:]) + steps * mu
    return torch.polar(torch.ones_like(angle), angle)


class SpectralSWSRM(nn.Module):
    """Section 3.1's SWSRM: lr (B, 1, T_low), up (B, 1, T) -> dict(y (B, 1, T), logp (B, K, N) composed
    HR log10 power, mu, logvar (M, Z)). The LR frame is n = frame_ms at the low rate, rounded to a
    multiple of 2^(D+1) so that F = n / 2 halves D times; its HR twin has R n points and the same times."""

    def __init__(self, cfg: SWSRMConfig, scale: int, low_sr: int) -> None:
        super().__init__()
        step = 2 ** (len(cfg.channels) + 1)
        n = max(step, round(cfg.frame_ms * 1e-3 * low_sr / step) * step)
        hop = min(n - 1, max(1, round(n * (1.0 - cfg.overlap))))
        self.lr_grid, self.hr_grid = STFTGrid(n, hop), STFTGrid(n * scale, hop * scale)
        self.bins = n // 2
        self.vae = SpectrumVAE(cfg.channels, cfg.kernels, cfg.latent, self.bins, scale)
        self.offset = 2.0 * math.log10(scale)   # LR -> HR log10-power units

    def forward(self, lr: torch.Tensor, up: torch.Tensor) -> dict[str, torch.Tensor]:
        x = log_power(self.lr_grid.stft(lr))[:, :-1] + self.offset              # (B, F, N)
        level = x.mean(dim=1, keepdim=True)                                     # (B, 1, N)
        b, f, n = x.shape
        rel, mu, logvar = self.vae((x - level).transpose(1, 2).reshape(b * n, 1, f))
        high = (rel.view(b, n, -1).transpose(1, 2) + level)[:, f:]              # (B, R F - F, N)
        high = torch.cat([high, high[:, -1:]], dim=1)                           # + the HR Nyquist bin
        low = self.hr_grid.stft(up)[:, :f]                                      # (B, F, N) measured
        mag = 10.0 ** (0.5 * high.float().clamp(max=6.0))
        spec = torch.cat([low, mag * extrapolated_phase(low, high.shape[1])], dim=1)
        return {"y": self.hr_grid.istft(spec, up.shape[-1]), "logp": torch.cat([log_power(low), high], dim=1),
                "mu": mu, "logvar": logvar}

    def rmse(self, out: dict[str, torch.Tensor], hr: torch.Tensor) -> torch.Tensor:
        """Eq. 1 per frame over its K log10-power values, averaged over frames."""
        target = log_power(self.hr_grid.stft(hr))
        return ((out["logp"] - target).square().mean(dim=1) + 1e-10).sqrt().mean()

    def kl(self, out: dict[str, torch.Tensor]) -> torch.Tensor:
        """Eq. 2: summed over the Z latent dimensions, averaged over frames."""
        return kl_terms(out["mu"], out["logvar"]).sum(dim=1).mean()


# --- waveform reading ------------------------------------------------------------------------------------

def frame_geometry(length: int, frame: int, hop: int) -> tuple[int, int, int]:
    """(left pad, right pad, number of frames) so that every one of `length` samples lies in the
    overlap region of the frames the synthesis window gives a positive weight (left pad = L - H)."""
    left = frame - hop
    covered = left + length + (frame - hop)         # the same margin on the right
    n = max(1, -(-(covered - frame) // hop) + 1)    # frames needed to reach the end
    right = (n - 1) * hop + frame - left - length
    return left, right, n


def analysis_window(frame: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(L,) sqrt of the periodic Hann window (the "sine" window)."""
    return torch.hann_window(frame, periodic=True, device=device, dtype=dtype).sqrt()


def synthesis_window(frame: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(L,) periodic Hann window (its 50 %-overlap sum is 1; we divide by the actual sum anyway)."""
    return torch.hann_window(frame, periodic=True, device=device, dtype=dtype)


def frame_signal(x: torch.Tensor, frame: int, hop: int) -> tuple[torch.Tensor, int]:
    """(B, 1, T) -> (frames (B, N, L), left pad). Reflect padding where the signal is long enough.
    Needs hop < L: the Hann synthesis window is 0 at a frame's first sample, so overlap is required."""
    if not 0 < hop < frame:
        raise ValueError(f"SWSRM frames need 0 < hop < frame (overlap), got hop {hop}, frame {frame}")
    length = x.shape[-1]
    left, right, _ = frame_geometry(length, frame, hop)
    mode = "reflect" if max(left, right) < length else "replicate"
    padded = F.pad(x, (left, right), mode=mode)
    return padded[:, 0].unfold(-1, frame, hop), left


def overlap_add(frames: torch.Tensor, hop: int, left: int, length: int) -> torch.Tensor:
    """frames (B, N, L) -> (B, 1, length): synthesis-windowed overlap-add divided by the summed
    synthesis window, cropped to the samples `frame_signal` framed."""
    b, n, frame = frames.shape
    window = synthesis_window(frame, frames.device, frames.dtype)
    total = (n - 1) * hop + frame
    fold = dict(output_size=(1, total), kernel_size=(1, frame), stride=(1, hop))
    summed = F.fold((frames * window).transpose(1, 2), **fold)                      # (B, 1, 1, total)
    norm = F.fold(window.view(1, frame, 1).expand(1, frame, n).contiguous(), **fold)  # (1, 1, 1, total)
    return (summed / norm.clamp_min(1e-8))[:, :, 0, left:left + length]


class FrameVAE(nn.Module):
    """The waveform VAE on one frame: (M, 1, L) windowed frame -> (residual (M, 1, L), mu, logvar
    (M, Z, L / 2^D)). A convolutional latent keeps the residual sample-aligned."""

    def __init__(self, channels: tuple[int, ...], kernels: tuple[int, ...], latent: int) -> None:
        super().__init__()
        self.encoder = _encoder(channels, kernels)
        self.mean = nn.Conv1d(channels[-1], latent, 1)
        self.logvar = nn.Conv1d(channels[-1], latent, 1)
        _start_with_small_variance(self.logvar)
        self.decoder = _decoder(latent, channels, kernels)
        self.out = nn.Conv1d(channels[0], 1, kernels[0], padding=kernels[0] // 2)
        nn.init.normal_(self.out.weight, std=1e-3)  # start as the identity (residual ~ 0)
        nn.init.zeros_(self.out.bias)
        self.multiple = 2 ** len(channels)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(frames)
        mu, logvar = self.mean(h), self.logvar(h).clamp(-12.0, 8.0)
        return self.out(self.decoder(_reparameterise(mu, logvar, self.training))), mu, logvar


class WaveformSWSRM(nn.Module):
    """The waveform reading: up (B, 1, T) spline input -> dict(y (B, 1, T), mu, logvar); `lr` unused.
    The frame is frame_ms at the target rate, a multiple of 2^D."""

    def __init__(self, cfg: SWSRMConfig, target_sr: int) -> None:
        super().__init__()
        self.vae = FrameVAE(cfg.channels, cfg.kernels, cfg.latent)
        m = self.vae.multiple
        self.frame = max(m, round(cfg.frame_ms * 1e-3 * target_sr / m) * m)
        self.hop = min(self.frame - 1, max(1, round(self.frame * (1.0 - cfg.overlap))))

    def forward(self, lr: torch.Tensor, up: torch.Tensor) -> dict[str, torch.Tensor]:
        b, _, length = up.shape
        frames, left = frame_signal(up, self.frame, self.hop)                   # (B, N, L)
        n = frames.shape[1]
        windowed = (frames * analysis_window(self.frame, up.device, up.dtype)).reshape(b * n, 1, self.frame)
        residual, mu, logvar = self.vae(windowed)
        y = overlap_add(frames + residual.view(b, n, self.frame), self.hop, left, length)
        return {"y": y, "mu": mu, "logvar": logvar}

    def rmse(self, out: dict[str, torch.Tensor], hr: torch.Tensor) -> torch.Tensor:
        """Eq. 1 per example over its samples, averaged over the batch."""
        return ((out["y"] - hr).square().flatten(1).mean(1) + 1e-10).sqrt().mean()

    def kl(self, out: dict[str, torch.Tensor]) -> torch.Tensor:
        """Eq. 2's closed form, averaged over latent elements."""
        return kl_terms(out["mu"], out["logvar"]).mean()
