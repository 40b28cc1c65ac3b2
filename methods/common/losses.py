"""Multi-resolution STFT losses shared by several methods. Two families, kept apart because published
recipes and measured rows depend on each one exactly:

- `log_power_stft_loss`: L1 of log10 power (power floored at 1e-8, as the LSD metric) plus the
  batch-level spectral convergence, zero-padded centred frames (AudioUNet, RFD-Net, SFSRNet knobs);
- `multi_resolution_stft_loss`: the multi-resolution STFT loss of Yamamoto et al. 2020 (Parallel
  WaveGAN): spectral convergence plus L1 of log magnitudes over reflect-padded centred frames, with the
  resolutions, the log base, the magnitude floor and the spectral-convergence reduction as arguments,
  since its users differ in exactly those (AERO's official settings are listed in methods/baselines/aero.py);
- `log_magnitude_stft_loss`: that loss at Hann-window-of-n_fft / hop-n_fft-4 resolutions, log10, per-item
  spectral convergence and magnitudes floored at 1e-5 (TFDFE).
"""
from __future__ import annotations

import torch

# One STFT resolution: (n_fft, hop, window length), in samples; a Hann window shorter than n_fft is
# centred in the frame, as torch.stft does.
Resolution = tuple[int, int, int]

_LOGS = {"10": torch.log10, "e": torch.log}
SC_REDUCTIONS = ("item", "batch")


def quarter_hop(sizes: tuple[int, ...]) -> tuple[Resolution, ...]:
    """n_fft sizes -> resolutions with a Hann window of n_fft samples and a hop of n_fft / 4."""
    return tuple((n, n // 4, n) for n in sizes)


def _magnitudes(x: torch.Tensor, resolution: Resolution, pad_mode: str) -> torch.Tensor:
    """(B, 1, T) -> (B, n_fft // 2 + 1, frames): |STFT|, Hann window, centred frames, float32."""
    n_fft, hop, win = resolution
    x = x.flatten(1).float()
    window = torch.hann_window(win, device=x.device, dtype=x.dtype)
    return torch.stft(x, n_fft, hop, win, window=window, pad_mode=pad_mode, return_complex=True).abs()


def log_power_stft_loss(est: torch.Tensor, ref: torch.Tensor, ffts: tuple[int, ...]) -> torch.Tensor:
    """(B, 1, T), (B, 1, T) -> scalar: mean over n_fft in `ffts` of mean |log10 P_est - log10 P_ref|
    plus the spectral convergence ||S_ref| - |S_est||_F / ||S_ref||_F over the whole batch."""
    total = est.new_zeros((), dtype=torch.float32)
    for resolution in quarter_hop(ffts):
        e, r = (_magnitudes(x, resolution, "constant") for x in (est, ref))
        total = total + (torch.log10(e.square().clamp_min(1e-8)) - torch.log10(r.square().clamp_min(1e-8))).abs().mean()
        total = total + torch.linalg.norm(r - e) / torch.linalg.norm(r).clamp_min(1e-8)
    return total / len(ffts)


def spectral_convergence(est: torch.Tensor, ref: torch.Tensor, reduction: str) -> torch.Tensor:
    """(B, K, N) magnitudes -> scalar ||ref - est||_F / ||ref||_F: with `reduction` "batch" the norms run
    over the whole batch at once; with "item" they run over each item and the ratios are averaged."""
    if reduction == "batch":
        return torch.linalg.norm(ref - est) / torch.linalg.norm(ref)
    if reduction == "item":
        return (torch.linalg.norm(ref - est, dim=(1, 2)) / torch.linalg.norm(ref, dim=(1, 2))).mean()
    raise ValueError(f"unknown spectral-convergence reduction {reduction!r}; choose one of {SC_REDUCTIONS}")


def multi_resolution_stft_loss(est: torch.Tensor, ref: torch.Tensor, resolutions: tuple[Resolution, ...],
                               log_base: str = "10", sc_reduction: str = "item",
                               floor: float = 1e-5) -> torch.Tensor:
    """(B, 1, T), (B, 1, T) -> scalar: mean over `resolutions` of the spectral convergence (`sc_reduction`)
    plus mean |log |S_est| - log |S_ref|| in base `log_base` ("10" or "e"), magnitudes floored at `floor`.

    The floor keeps the logarithm finite and, being positive, keeps ||S_ref|| away from zero."""
    if log_base not in _LOGS:
        raise ValueError(f"unknown log base {log_base!r}; choose one of {tuple(_LOGS)}")
    log = _LOGS[log_base]
    total = est.new_zeros((), dtype=torch.float32)
    for resolution in resolutions:
        e, r = (_magnitudes(x, resolution, "reflect").clamp_min(floor) for x in (est, ref))
        total = total + spectral_convergence(e, r, sc_reduction) + (log(e) - log(r)).abs().mean()
    return total / len(resolutions)


def log_magnitude_stft_loss(est: torch.Tensor, ref: torch.Tensor, sizes: tuple[int, ...]) -> torch.Tensor:
    """(B, 1, T), (B, 1, T) -> scalar: `multi_resolution_stft_loss` at `quarter_hop(sizes)` with log10
    magnitudes floored at 1e-5 and the per-item spectral convergence averaged over the batch."""
    return multi_resolution_stft_loss(est, ref, quarter_hop(sizes))
