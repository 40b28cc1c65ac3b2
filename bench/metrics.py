"""Objective metrics for audio super-resolution: SNR, LSD (+ high/low band), SI-SDR.

All metrics take an estimate ``est`` and a reference ``ref`` of the same shape, as numpy arrays or
torch tensors, shaped ``(T,)``, ``(B, T)`` or ``(B, 1, T)`` (the channel dim is squeezed), and return
one value per item as a float64 numpy array of shape ``(B,)`` (``(1,)`` for 1-D input). The work is
done in torch, in float64 (log-spectral differences of near-equal spectra and SNRs of near-equal
signals need the precision), vectorised over the batch; spectra are made a block of frames at a
time so that the working set stays in cache and memory stays bounded for long files. A torch input
is scored on its own device; mixed devices are moved to ``ref``'s.

Conventions (these are what the leaderboard pages state):

SNR
    ``20 * log10(||ref|| / ||ref - est||)`` in dB over the whole item, no mean removal, no scaling.
    ``est == ref`` gives ``+inf``. A reference with zero energy (digital silence) makes SNR
    undefined and gives ``NaN`` whatever ``est`` is: NaN is what the harness reports for a metric
    that cannot be computed, and it keeps silence from posing as a -inf "result".

LSD, convention ``nuwave`` (NU-Wave / NU-Wave 2 evaluation code)
    STFT with ``n_fft=2048``, ``hop=512``, ``win_length=2048``, periodic Hann window,
    ``center=True`` with reflect padding; power ``P = |X|^2``; ``L = log10(max(P, 1e-8))``.
    Per frame ``sqrt(mean_k (L_ref - L_est)^2)`` over frequency bins ``k``, then the mean over frames
    gives the item's value. The STFT is independent of the sample rate, so at 16 kHz and at 48 kHz
    a bin spans different bandwidths; the numbers are comparable within a rate only. Two silent
    signals give LSD 0 (both clamp to 1e-8). Reflect padding needs at least ``n_fft // 2 + 1 = 1025``
    samples: shorter items raise ``ValueError``. Other published conventions (``kuleshov``: natural
    log, time mean first; ``ssr_eval``: rate-scaled n_fft, magnitudes, eps 1e-12) differ by about 2x
    and are not implemented.

LSD-HF / LSD-LF (NU-Wave 2 split)
    The same per-frame formula restricted to bins ``k >= split`` (HF, the band the low-rate input
    lacks) or ``k < split`` (LF), with ``split = int(1025 * low_sr / target_sr)``, the bin of the
    low-rate Nyquist frequency.

SI-SDR
    Both signals have their mean removed; ``target = a * ref`` with ``a = <est, ref> / ||ref||^2``;
    ``SI-SDR = 10 * log10(||target||^2 / ||est - target||^2)`` in dB. No epsilon is added:
    ``est = c * ref`` (c != 0) gives ``+inf``; a constant reference or a constant estimate (zero
    energy after mean removal: 0/0) gives ``NaN``.

Non-finite input (NaN or inf in either signal) raises ``ValueError`` naming the signal and the
problem; shape mismatches raise ``ValueError`` naming both shapes.

``bootstrap_ci`` gives the aggregate the leaderboard shows: the mean over files with a percentile
bootstrap confidence interval.
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch
import torch.nn.functional as F

ArrayLike = Union[np.ndarray, torch.Tensor]

METRIC_NAMES = ("snr", "lsd", "lsd_hf", "lsd_lf", "si_sdr")

LSD_CONVENTION = "nuwave"
N_FFT = 2048
HOP = 512
N_BINS = N_FFT // 2 + 1
LOG_POWER_FLOOR = 1e-8
MIN_LENGTH = N_FFT // 2 + 1  # reflect padding of n_fft // 2 needs strictly more samples than the pad

# Spectra are computed this many frames (over the whole batch) at a time. Measured on a 2-core CPU
# (16 x 3 s at 48 kHz): blocks of 32..512 frames run about 3x faster than one STFT of the whole
# batch, whose hundreds of MB of temporaries miss every cache; memory also stays bounded for
# long files.
_FRAMES_PER_BLOCK = 256

# Above this many (bootstrap draws x values) the index matrix is drawn in blocks, so a CI over a
# very large set of files stays within tens of MB.
_BOOTSTRAP_BLOCK_ELEMENTS = 1 << 22


def _to_batch(x: ArrayLike, what: str, device: torch.device | None) -> torch.Tensor:
    """Return ``x`` as a float64 tensor of shape (B, T) on ``device`` (or its own device if None)."""
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise ValueError(f"{what} is complex ({x.dtype}); metrics take real-valued audio")
        t = x.detach()
    else:
        a = np.asarray(x)
        if np.iscomplexobj(a):
            raise ValueError(f"{what} is complex ({a.dtype}); metrics take real-valued audio")
        # Native-endian float64 for torch; a read-only array (memmap, frombuffer) is copied because
        # torch.from_numpy warns about sharing it.
        a = np.asarray(a, dtype=np.float64)
        t = torch.from_numpy(a if a.flags.writeable else a.copy())
    t = t.to(device=device if device is not None else t.device, dtype=torch.float64)
    if t.ndim == 3:
        if t.shape[1] != 1:
            raise ValueError(
                f"{what} has shape {tuple(t.shape)}: a 3-D input must be (B, 1, T), mono with a channel dim"
            )
        t = t[:, 0, :]
    elif t.ndim == 1:
        t = t.unsqueeze(0)
    elif t.ndim != 2:
        raise ValueError(f"{what} has shape {tuple(t.shape)}: expected (T,), (B, T) or (B, 1, T)")
    if t.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch (B = 0)")
    if not torch.isfinite(t).all():  # one pass in the common case; name the problem only on failure
        raise ValueError(f"{what} contains {'NaN' if torch.isnan(t).any() else 'inf'}")
    return t


def _shape(x: ArrayLike) -> tuple[int, ...]:
    return tuple(x.shape) if isinstance(x, torch.Tensor) else np.shape(x)


def _prepare(est: ArrayLike, ref: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a pair and return both as float64 (B, T) tensors on ``ref``'s device."""
    est_shape, ref_shape = _shape(est), _shape(ref)
    if est_shape != ref_shape:
        raise ValueError(f"est and ref must have the same shape, got est {est_shape} and ref {ref_shape}")
    ref_t = _to_batch(ref, "reference", None)
    est_t = _to_batch(est, "estimate", ref_t.device)
    return est_t, ref_t


def _check_length(t: torch.Tensor) -> None:
    if t.shape[-1] < MIN_LENGTH:
        raise ValueError(
            f"signals have {t.shape[-1]} samples; LSD ({LSD_CONVENTION}: n_fft={N_FFT}, center=True, "
            f"reflect padding) needs at least {MIN_LENGTH} samples"
        )


def _split_bin(low_sr: int, target_sr: int) -> int:
    """The NU-Wave 2 HF/LF split bin, int(1025 * low_sr / target_sr); checked to leave both bands non-empty."""
    if not (0 < low_sr < target_sr):
        raise ValueError(
            f"need 0 < low_sr < target_sr for the LSD band split, got low_sr={low_sr}, target_sr={target_sr}"
        )
    split = int(N_BINS * low_sr / target_sr)
    if split < 1:
        raise ValueError(f"low_sr={low_sr} is below one STFT bin of target_sr={target_sr}: the LF band is empty")
    return split


def _frames(x: torch.Tensor) -> torch.Tensor:
    """Reflect-pad n_fft//2 each side and frame (a strided view): (B, T) -> (B, 1 + T // HOP, N_FFT)."""
    padded = F.pad(x.unsqueeze(1), (N_FFT // 2, N_FFT // 2), mode="reflect").squeeze(1)
    return padded.unfold(-1, N_FFT, HOP)


def _power(frames: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """max(|rfft(frame * window)|^2, 1e-8): (B, M, N_FFT) -> (B, M, N_BINS)."""
    ri = torch.view_as_real(torch.fft.rfft(frames * window))
    # real^2 + imag^2 avoids the sqrt that |X| would compute and then undo.
    return (ri[..., 0].square() + ri[..., 1].square()).clamp_(min=LOG_POWER_FLOOR)


def _band_sq_sums(est: torch.Tensor, ref: torch.Tensor, split: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per frame, sum over bins of (log10 P_ref - log10 P_est)^2 below and from ``split``.

    (B, T) x 2 -> (low, high), each (B, 1 + T // HOP). This is the STFT of the convention
    (``torch.stft(center=True, pad_mode="reflect")`` computes the same frames), done by hand so that
    the spectra are made ``_FRAMES_PER_BLOCK`` frames at a time.
    """
    _check_length(ref)
    window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float64, device=ref.device)
    est_frames, ref_frames = _frames(est), _frames(ref)
    n_frames = ref_frames.shape[1]
    step = max(1, _FRAMES_PER_BLOCK // ref.shape[0])
    low, high = [], []
    for start in range(0, n_frames, step):
        block = slice(start, start + step)
        # log10 of the ratio of clamped powers: one log instead of two (about 20% of the time).
        sq = _power(ref_frames[:, block], window).div_(_power(est_frames[:, block], window)).log10_().square_()
        low.append(sq[..., :split].sum(-1))
        high.append(sq[..., split:].sum(-1))
    return torch.cat(low, dim=1), torch.cat(high, dim=1)


def _lsd_from_sums(sums: torch.Tensor, n_bins: int) -> torch.Tensor:
    """(B, frames) per-frame sums over ``n_bins`` bins -> (B,): sqrt of the bin mean, then mean over frames."""
    return (sums / n_bins).sqrt().mean(dim=-1)


def _snr(est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    ref_energy = torch.linalg.vecdot(ref, ref)
    err = ref - est
    # Ratio of energies in one log: 10*log10(E_ref/E_err) == 20*log10(||ref||/||err||). x/0 -> inf.
    out = 10.0 * torch.log10(ref_energy / torch.linalg.vecdot(err, err))
    return torch.where(ref_energy > 0, out, torch.full_like(out, float("nan")))


def _si_sdr(est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    ref_energy = torch.linalg.vecdot(ref, ref)
    # ref_energy == 0 gives 0/0 = NaN here, which is the documented result for a constant reference.
    scale = torch.linalg.vecdot(est, ref) / ref_energy
    # noise = est - scale * ref, formed explicitly (not as |est|^2 - |target|^2, which cancels) so that
    # est = c * ref gives exactly zero noise and +inf.
    noise = torch.addcmul(est, scale.unsqueeze(-1), ref, value=-1.0)
    return 10.0 * torch.log10(scale.square() * ref_energy / torch.linalg.vecdot(noise, noise))


def _out(t: torch.Tensor) -> np.ndarray:
    return t.cpu().numpy().astype(np.float64, copy=False)


@torch.inference_mode()
def snr(est: ArrayLike, ref: ArrayLike) -> np.ndarray:
    """SNR in dB per item: 20*log10(||ref|| / ||ref - est||). (T,)|(B,T)|(B,1,T) x 2 -> (B,)."""
    return _out(_snr(*_prepare(est, ref)))


@torch.inference_mode()
def lsd(est: ArrayLike, ref: ArrayLike) -> np.ndarray:
    """Log-spectral distance (``nuwave`` convention, all 1025 bins) per item. -> (B,)."""
    low, high = _band_sq_sums(*_prepare(est, ref), split=0)
    return _out(_lsd_from_sums(low + high, N_BINS))


@torch.inference_mode()
def lsd_hf(est: ArrayLike, ref: ArrayLike, low_sr: int, target_sr: int) -> np.ndarray:
    """LSD over bins k >= int(1025 * low_sr / target_sr), the band above the low-rate Nyquist. -> (B,)."""
    split = _split_bin(low_sr, target_sr)
    _, high = _band_sq_sums(*_prepare(est, ref), split=split)
    return _out(_lsd_from_sums(high, N_BINS - split))


@torch.inference_mode()
def lsd_lf(est: ArrayLike, ref: ArrayLike, low_sr: int, target_sr: int) -> np.ndarray:
    """LSD over bins k < int(1025 * low_sr / target_sr), the band the low-rate input carries. -> (B,)."""
    split = _split_bin(low_sr, target_sr)
    low, _ = _band_sq_sums(*_prepare(est, ref), split=split)
    return _out(_lsd_from_sums(low, split))


@torch.inference_mode()
def si_sdr(est: ArrayLike, ref: ArrayLike) -> np.ndarray:
    """Scale-invariant SDR in dB per item, both signals mean-removed. -> (B,)."""
    return _out(_si_sdr(*_prepare(est, ref)))


@torch.inference_mode()
def score(est: ArrayLike, ref: ArrayLike, low_sr: int, target_sr: int) -> dict[str, np.ndarray]:
    """All of METRIC_NAMES for a batch, from one STFT of each signal (LSD bands share it).

    (T,)|(B,T)|(B,1,T) x 2 -> {name: float64 array (B,)}, keys in METRIC_NAMES order.
    """
    split = _split_bin(low_sr, target_sr)
    est_t, ref_t = _prepare(est, ref)
    low, high = _band_sq_sums(est_t, ref_t, split)
    return {
        "snr": _out(_snr(est_t, ref_t)),
        "lsd": _out(_lsd_from_sums(low + high, N_BINS)),
        "lsd_hf": _out(_lsd_from_sums(high, N_BINS - split)),
        "lsd_lf": _out(_lsd_from_sums(low, split)),
        "si_sdr": _out(_si_sdr(est_t, ref_t)),
    }


def bootstrap_ci(
    values: ArrayLike, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap CI of the finite entries of ``values``: -> (mean, lo, hi).

    Non-finite entries (failed metrics as NaN, SNR +inf of a perfect copy) are left out, as the
    aggregate is over files that scored. No finite values gives (nan, nan, nan); a single one gives
    (v, v, v). Resampling is with replacement, ``n_boot`` draws of the full size, from
    ``numpy.random.default_rng(seed)``, so the same inputs always give the same interval.
    ``lo <= mean <= hi`` always holds (clipped, against float rounding on near-constant data).
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    x = x.astype(np.float64).ravel()
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return (float("nan"),) * 3
    mean = float(x.mean())
    if n == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    block = max(1, _BOOTSTRAP_BLOCK_ELEMENTS // n)
    boot_means = np.concatenate([
        x[rng.integers(0, n, size=(min(block, n_boot - start), n))].mean(axis=1)
        for start in range(0, n_boot, block)
    ])
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot_means, [alpha, 1.0 - alpha])
    return mean, min(float(lo), mean), max(float(hi), mean)
