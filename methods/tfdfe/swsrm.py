"""SWSRM, the sound-wave super-resolution module of TFDFE-ASR (paper Eqs. 1-3).

A variational autoencoder over windowed, overlapping frames of the (spline-upsampled) waveform.

Shapes (B = batch, T = samples at the target rate, L = frame length, H = hop, N = frames,
C_l = encoder channels, Z = latent channels, D = number of encoder levels):

    x (B, 1, T) spline input at the target rate
      --pad + frame-->       frames (B, N, L)       left pad L - H, right pad to a whole frame (reflect)
      --analysis window-->   (B*N, 1, L)            sqrt-Hann ("sine") window: the encoder sees windowed frames
      --encoder-->           (B*N, C_{D-1}, L/2^D)  D levels: Conv1d(k_l, stride 2) + ReLU + BN,
                                                    then Conv1d(k_l, stride 1) + ReLU + BN
      --1x1 convs-->         mu, logvar (B*N, Z, L/2^D)
      --reparameterise-->    z = mu + exp(logvar/2) * eps (training); z = mu (inference, deterministic)
      --decoder-->           r (B*N, 1, L)          D levels: ConvTranspose1d(k_l, stride 2) + ReLU + BN,
                                                    then Conv1d(k_l) + ReLU + BN; last Conv1d(1 channel)
      y_i = frame_i + r_i    residual over the module's input, frame by frame
      --synthesis window + overlap-add, divided by the summed synthesis window--> (B, 1, T)

With r = 0 the overlap-add gives back the input exactly (the normalisation by the summed
synthesis window makes that hold at every sample, edges included): tests/unit/test_tfdfe.py.

What was read where (a summary of the paper; every decision is in README.md):
- "windowed, overlapping frames", encoder = 1-D conv (kernels 1x3, 1x5 or 1x7) + ReLU + batch norm,
  decoder = 1-D transposed conv + activation + batch norm, latent mean and log-variance with the
  reparameterisation trick (z = mu + sigma * eps): the paper's SWSRM description.
- Loss = alpha * RMSE + KL (Eqs. 1-3). KL is the closed form against N(0, I), averaged over
  latent elements (our normalisation: a sum would scale with the frame length and the latent size).

Choices (README "SWSRM"): the frames are of the spline-upsampled signal at the target rate (so the
module is a residual over its input); the latent is convolutional (Z channels at L / 2^D, so it
stays time-aligned) rather than one vector per frame; each level adds a stride-1 conv to the
strided one (receptive field); the last decoder conv starts near zero, so training starts from the
identity; `stft_weight` adds a multi-resolution STFT term to Eqs. 1-3 (0 = the paper's loss; the
README gives the measurement that made it the default).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class SWSRMConfig:
    frame_ms: float = 32.0                  # frame length L in ms at the target rate (rounded to 2^D)
    overlap: float = 0.5                    # hop H = L * (1 - overlap)
    channels: tuple[int, ...] = (64, 128, 256)
    kernels: tuple[int, ...] = (7, 5, 3)    # the paper's 1x7, 1x5, 1x3 kernels, one per level
    latent: int = 64                        # Z, latent channels at L / 2^D
    alpha: float = 100.0                    # weight of the RMSE term (Eqs. 1-3); the KL weight is 1
    # Our addition (README, "SWSRM loss"): beta * multi-resolution STFT loss of the module's output;
    # stft_weight = 0 is the paper's loss exactly.
    stft_weight: float = 1.0
    stft_ms: tuple[float, ...] = (16.0, 32.0, 64.0)


# --- framing and overlap-add ---------------------------------------------------------------------------

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


# --- the VAE ---------------------------------------------------------------------------------------------

def _conv_relu_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=kernel // 2), nn.ReLU(), nn.BatchNorm1d(c_out)]


def _deconv_relu_bn(c_in: int, c_out: int, kernel: int) -> list[nn.Module]:
    """Exact 2x transposed conv: out = (in - 1) * 2 - 2 (k // 2) + k + 1 = 2 in for odd k."""
    return [nn.ConvTranspose1d(c_in, c_out, kernel, stride=2, padding=kernel // 2, output_padding=1),
            nn.ReLU(), nn.BatchNorm1d(c_out)]


class FrameVAE(nn.Module):
    """The VAE on one frame: (M, 1, L) windowed frame -> (residual (M, 1, L), mu, logvar (M, Z, L/2^D))."""

    def __init__(self, channels: tuple[int, ...], kernels: tuple[int, ...], latent: int) -> None:
        super().__init__()
        if len(channels) != len(kernels) or not channels:
            raise ValueError(f"SWSRM channels {channels} and kernels {kernels} must be non-empty, equal length")
        enc: list[nn.Module] = []
        c_in = 1
        for c, k in zip(channels, kernels):
            enc += _conv_relu_bn(c_in, c, k, stride=2) + _conv_relu_bn(c, c, k)
            c_in = c
        self.encoder = nn.Sequential(*enc)
        self.mean = nn.Conv1d(c_in, latent, 1)
        self.logvar = nn.Conv1d(c_in, latent, 1)
        nn.init.zeros_(self.logvar.weight)
        nn.init.constant_(self.logvar.bias, -4.0)  # start with a small posterior variance
        dec: list[nn.Module] = []
        c_in = latent
        for c, k in reversed(list(zip(channels, kernels))):
            dec += _deconv_relu_bn(c_in, c, k) + _conv_relu_bn(c, c, k)
            c_in = c
        self.decoder = nn.Sequential(*dec)
        self.out = nn.Conv1d(c_in, 1, kernels[0], padding=kernels[0] // 2)
        nn.init.normal_(self.out.weight, std=1e-3)  # start as the identity (residual ~ 0)
        nn.init.zeros_(self.out.bias)
        self.multiple = 2 ** len(channels)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(frames)
        mu, logvar = self.mean(h), self.logvar(h).clamp(-12.0, 8.0)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.out(self.decoder(z)), mu, logvar


class SWSRM(nn.Module):
    """Sound-wave SR module: x (B, 1, T) spline input -> (y (B, 1, T), mu, logvar).

    `frame` must be a multiple of 2^D (D = encoder levels); `hop` divides nothing in particular.
    """

    def __init__(self, cfg: SWSRMConfig, target_sr: int) -> None:
        super().__init__()
        self.vae = FrameVAE(cfg.channels, cfg.kernels, cfg.latent)
        m = self.vae.multiple
        self.frame = max(m, round(cfg.frame_ms * 1e-3 * target_sr / m) * m)
        self.hop = min(self.frame - 1, max(1, round(self.frame * (1.0 - cfg.overlap))))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, _, length = x.shape
        frames, left = frame_signal(x, self.frame, self.hop)                    # (B, N, L)
        n = frames.shape[1]
        windowed = (frames * analysis_window(self.frame, x.device, x.dtype)).reshape(b * n, 1, self.frame)
        residual, mu, logvar = self.vae(windowed)
        y = overlap_add(frames + residual.view(b, n, self.frame), self.hop, left, length)
        return y, mu, logvar


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)), closed form (the KL of Eqs. 1-3), averaged over latent elements."""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).mean()


def rmse(est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Per-example root mean squared error over samples, averaged over the batch (the RMSE of Eqs. 1-3)."""
    return ((est - ref).square().flatten(1).mean(1) + 1e-10).sqrt().mean()
