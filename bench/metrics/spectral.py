"""Signal metrics for audio super-resolution: SNR, LSD under three named conventions (+ high/low
band and per-band LSD), SI-SDR.

All tensor metrics take an estimate ``est`` and a reference ``ref`` of the same shape, as numpy
arrays or torch tensors, shaped ``(T,)``, ``(B, T)`` or ``(B, 1, T)`` (the channel dim is squeezed),
and return one value per item as a float64 numpy array of shape ``(B,)`` (``(1,)`` for 1-D input).
The work is done in torch, in float64 (log-spectral differences of near-equal spectra and SNRs of
near-equal signals need the precision), vectorised over the batch; spectra are made a block of
frames at a time so that the working set stays in cache and memory stays bounded for long files.
A torch input is scored on its own device; mixed devices are moved to ``ref``'s.

Conventions (these are what the leaderboard pages state):

SNR
    ``20 * log10(||ref|| / ||ref - est||)`` in dB over the whole item, no mean removal, no scaling.
    ``est == ref`` gives ``+inf``. A reference with zero energy (digital silence) makes SNR
    undefined and gives ``NaN`` whatever ``est`` is: NaN is what the harness reports for a metric
    that cannot be computed, and it keeps silence from posing as a -inf "result".

LSD, convention ``nuwave`` (the default; NU-Wave / NU-Wave 2 evaluation code; column ``lsd``)
    STFT with ``n_fft=2048``, ``hop=512``, ``win_length=2048``, periodic Hann window,
    ``center=True`` with reflect padding; power ``P = |X|^2``; ``L = log10(max(P, 1e-8))``.
    Per frame ``sqrt(mean_k (L_ref - L_est)^2)`` over frequency bins ``k``, then the mean over frames
    gives the item's value. The STFT is independent of the sample rate, so at 16 kHz and at 48 kHz
    a bin spans different bandwidths; the numbers are comparable within a rate only. Two silent
    signals give LSD 0 (both clamp to 1e-8). Reflect padding needs at least ``n_fft // 2 + 1 = 1025``
    samples: shorter items raise ``ValueError``.

LSD, convention ``kuleshov`` (TFiLM / AudioUNet code, ``compute_log_distortion``; column ``lsd_kuleshov``)
    The same STFT (that code calls ``librosa.stft(x, 2048)``: hop ``n_fft // 4 = 512``, periodic Hann,
    centred; librosa 0.8, which it pins, pads by reflection). ``L = ln(P + 1e-8)``, *natural* log.
    Per bin ``sqrt(mean_t (L_ref - L_est)^2 + 1e-8)``, the mean over *time first*, then the mean over
    bins. Identical signals therefore give ``1e-4``, not 0. Natural log makes values about
    ``ln 10 = 2.3`` times the log10 ones. Two departures from that code, both stated on the pages:
    it scores one concatenation of all validation patches while this scores each file (the page
    then averages files), and it caps the result at 10 (``min(lsd, 10.)``), which is not applied
    here, as a cap would hide how bad a bad method is.

LSD, convention ``ssr_eval`` (haoheliu/ssr_eval ``AudioMetrics``; column ``lsd_ssr_eval``)
    At the target rate ``sr``: ``n_fft = int(2048 / (44100 / sr))`` (743 at 16 kHz, 1114 at 24 kHz,
    2229 at 48 kHz), ``hop = int(sr / 100)`` (10 ms), periodic Hann of length n_fft, centred with
    reflect padding (librosa before 0.10, which that code used; librosa >= 0.10 pads with zeros).
    Magnitudes ``M = |X|``; per bin ``log10(M_ref^2 / (M_est + 1e-12)^2 + 1e-12)^2``; per frame the
    square root of the mean over bins, then the mean over frames. The epsilon sits on the estimate
    only, so bins where the reference is exactly 0 count as ``(-12)^2``: two digitally silent
    signals score 12, not 0.

The three differ by about 2x on the same audio; pages always say which one they show.

LSD-HF / LSD-LF (NU-Wave 2 split, ``nuwave`` convention)
    The same per-frame formula restricted to bins ``k >= split`` (HF, the band the low-rate input
    lacks) or ``k < split`` (LF), with ``split = int(1025 * low_sr / target_sr)``, the bin of the
    low-rate Nyquist frequency.

LSD per band (``nuwave`` convention; columns ``lsd_band0`` .. ``lsd_band7``)
    The same per-frame formula restricted to ``N_BANDS = 8`` equal bands from 0 Hz to the target
    Nyquist: band ``i`` is bins ``[128 i, 128 (i + 1))``, the last one also holding the Nyquist bin
    1024, i.e. ``[i, i + 1) * target_sr / 16`` Hz. It shows which band each method gets right.

SI-SDR
    Both signals have their mean removed; ``target = a * ref`` with ``a = <est, ref> / ||ref||^2``;
    ``SI-SDR = 10 * log10(||target||^2 / ||est - target||^2)`` in dB. No epsilon is added:
    ``est = c * ref`` (c != 0) gives ``+inf``; a constant reference or a constant estimate (zero
    energy after mean removal: 0/0) gives ``NaN``.

Non-finite input (NaN or inf in either signal) raises ``ValueError`` naming the signal and the
problem; shape mismatches raise ``ValueError`` naming both shapes.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bench.metrics.inputs import ArrayLike, prepare
from bench.metrics.table import BAND_NAMES, LSD_CONVENTION, LSD_CONVENTIONS, METRIC_NAMES, N_BANDS

N_FFT = 2048
HOP = 512
N_BINS = N_FFT // 2 + 1
LOG_POWER_FLOOR = 1e-8     # nuwave: log10(max(P, 1e-8))
KULESHOV_EPS = 1e-8        # kuleshov: ln(P + 1e-8), and + 1e-8 under the square root
SSR_EVAL_EPS = 1e-12       # ssr_eval: on the estimate's magnitude and on the ratio
MIN_LENGTH = N_FFT // 2 + 1  # reflect padding of n_fft // 2 needs strictly more samples than the pad

# Spectra are computed this many frames (over the whole batch) at a time. Measured on a 2-core CPU
# (16 x 3 s at 48 kHz): blocks of 32..512 frames run about 3x faster than one STFT of the whole
# batch, whose hundreds of MB of temporaries miss every cache; memory also stays bounded for
# long files.
_FRAMES_PER_BLOCK = 256


def ssr_eval_stft(sr: int) -> tuple[int, int]:
    """(n_fft, hop) of the ``ssr_eval`` convention at rate ``sr``, computed exactly as that code does."""
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise ValueError(f"the ssr_eval LSD needs the sample rate as a positive integer, got sr={sr!r}")
    n_fft, hop = int(2048 / (44100 / sr)), int(sr / 100)
    if n_fft < 2 or hop < 1:
        raise ValueError(f"sr={sr} is too low for the ssr_eval LSD (n_fft={n_fft}, hop={hop})")
    return n_fft, hop


def _check_length(t: torch.Tensor, n_fft: int, convention: str) -> None:
    need = n_fft // 2 + 1
    if t.shape[-1] < need:
        raise ValueError(
            f"signals have {t.shape[-1]} samples; LSD ({convention}: n_fft={n_fft}, center=True, "
            f"reflect padding) needs at least {need} samples"
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


def band_bins(n_bands: int = N_BANDS) -> list[int]:
    """Bin edges of ``n_bands`` equal bands of the 2048-point STFT: [0, 1024/n, ..., 1025] (Nyquist in the last)."""
    if not 1 <= n_bands <= N_FFT // 2:
        raise ValueError(f"n_bands must be in 1..{N_FFT // 2}, got {n_bands}")
    return [round(i * (N_FFT // 2) / n_bands) for i in range(n_bands)] + [N_BINS]


def band_edges_hz(target_sr: int, n_bands: int = N_BANDS) -> list[float]:
    """Frequency edges (Hz) of the bands of ``band_bins``: [0, sr/(2n), ..., sr/2]."""
    return [b * target_sr / N_FFT for b in band_bins(n_bands)[:-1]] + [target_sr / 2]


def _frames(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Reflect-pad n_fft//2 each side and frame (a strided view): (B, T) -> (B, frames, n_fft)."""
    padded = F.pad(x.unsqueeze(1), (n_fft // 2, n_fft // 2), mode="reflect").squeeze(1)
    return padded.unfold(-1, n_fft, hop)


def _power(frames: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """|rfft(frame * window)|^2: (B, M, n_fft) -> (B, M, n_fft // 2 + 1)."""
    ri = torch.view_as_real(torch.fft.rfft(frames * window))
    # real^2 + imag^2 avoids the sqrt that |X| would compute and then undo.
    return ri[..., 0].square() + ri[..., 1].square()


def _blocks(n_frames: int, batch: int):
    step = max(1, _FRAMES_PER_BLOCK // batch)
    return (slice(start, start + step) for start in range(0, n_frames, step))


def _nuwave_pass(est: torch.Tensor, ref: torch.Tensor, edges: list[int], kuleshov: bool
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One pass over the 2048-point STFT of both signals.

    Returns the per-frame sums of (log10 P_ref - log10 P_est)^2 (clamped at 1e-8) over each bin range
    [edges[j], edges[j+1]) as (B, frames, len(edges) - 1), and, if ``kuleshov``, the per-bin sums
    over frames of (ln(P_ref + 1e-8) - ln(P_est + 1e-8))^2 as (B, N_BINS). This is the STFT of the
    convention (``torch.stft(center=True, pad_mode="reflect")`` computes the same frames), done by
    hand so that the spectra are made ``_FRAMES_PER_BLOCK`` frames at a time.
    """
    _check_length(ref, N_FFT, "nuwave")
    window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float64, device=ref.device)
    est_frames, ref_frames = _frames(est, N_FFT, HOP), _frames(ref, N_FFT, HOP)
    ranges = list(zip(edges[:-1], edges[1:]))
    sums, per_bin = [], None
    for block in _blocks(ref_frames.shape[1], ref.shape[0]):
        p_ref = _power(ref_frames[:, block], window)
        p_est = _power(est_frames[:, block], window)
        if kuleshov:
            d = (p_ref + KULESHOV_EPS).div_(p_est + KULESHOV_EPS).log_().square_().sum(dim=1)
            per_bin = d if per_bin is None else per_bin.add_(d)
        # log10 of the ratio of clamped powers: one log instead of two (about 20% of the time).
        sq = p_ref.clamp_(min=LOG_POWER_FLOOR).div_(p_est.clamp_(min=LOG_POWER_FLOOR)).log10_().square_()
        sums.append(torch.stack([sq[..., lo:hi].sum(-1) for lo, hi in ranges], dim=-1))
    return torch.cat(sums, dim=1), per_bin


def _range_lsd(sums: torch.Tensor, edges: list[int], lo: int, hi: int) -> torch.Tensor:
    """LSD over bins [lo, hi) from per-range sums (B, frames, R) whose ranges tile the axis at ``edges``."""
    cols = [j for j, (a, b) in enumerate(zip(edges[:-1], edges[1:])) if lo <= a and b <= hi]
    assert cols and edges[cols[0]] == lo and edges[cols[-1] + 1] == hi, (edges, lo, hi)
    return (sums[..., cols].sum(-1) / (hi - lo)).sqrt().mean(dim=-1)


def _kuleshov_from_bins(per_bin: torch.Tensor, n_frames: int) -> torch.Tensor:
    """(B, N_BINS) per-bin sums over frames -> (B,): sqrt(time mean + 1e-8) per bin, then the bin mean."""
    return (per_bin / n_frames + KULESHOV_EPS).sqrt().mean(dim=-1)


def _ssr_eval(est: torch.Tensor, ref: torch.Tensor, sr: int) -> torch.Tensor:
    n_fft, hop = ssr_eval_stft(sr)
    _check_length(ref, n_fft, f"ssr_eval at {sr} Hz")
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64, device=ref.device)
    est_frames, ref_frames = _frames(est, n_fft, hop), _frames(ref, n_fft, hop)
    per_frame = []
    for block in _blocks(ref_frames.shape[1], ref.shape[0]):
        p_ref = _power(ref_frames[:, block], window)
        m_est = _power(est_frames[:, block], window).sqrt_()
        d = p_ref.div_(m_est.add_(SSR_EVAL_EPS).square_()).add_(SSR_EVAL_EPS).log10_().square_()
        per_frame.append(d.mean(dim=-1).sqrt_())
    return torch.cat(per_frame, dim=1).mean(dim=-1)


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
    return _out(_snr(*prepare(est, ref)))


@torch.inference_mode()
def lsd(est: ArrayLike, ref: ArrayLike, convention: str = LSD_CONVENTION, sr: int | None = None) -> np.ndarray:
    """Log-spectral distance per item under a named convention (all bins). -> (B,).

    ``convention`` is one of LSD_CONVENTIONS; ``ssr_eval`` needs the sample rate ``sr`` (its STFT
    scales with the rate), the others ignore it.
    """
    if convention not in LSD_CONVENTIONS:
        raise ValueError(f"unknown LSD convention {convention!r}; choose one of {', '.join(LSD_CONVENTIONS)}")
    est_t, ref_t = prepare(est, ref)
    if convention == "ssr_eval":
        if sr is None:
            raise ValueError("the ssr_eval LSD convention needs the sample rate: lsd(est, ref, 'ssr_eval', sr=...)")
        return _out(_ssr_eval(est_t, ref_t, sr))
    edges = [0, N_BINS]
    sums, per_bin = _nuwave_pass(est_t, ref_t, edges, kuleshov=convention == "kuleshov")
    if convention == "kuleshov":
        return _out(_kuleshov_from_bins(per_bin, sums.shape[1]))
    return _out(_range_lsd(sums, edges, 0, N_BINS))


@torch.inference_mode()
def lsd_hf(est: ArrayLike, ref: ArrayLike, low_sr: int, target_sr: int) -> np.ndarray:
    """LSD (nuwave) over bins k >= int(1025 * low_sr / target_sr), the band above the low-rate Nyquist. -> (B,)."""
    split = _split_bin(low_sr, target_sr)
    edges = [0, split, N_BINS]
    sums, _ = _nuwave_pass(*prepare(est, ref), edges, kuleshov=False)
    return _out(_range_lsd(sums, edges, split, N_BINS))


@torch.inference_mode()
def lsd_lf(est: ArrayLike, ref: ArrayLike, low_sr: int, target_sr: int) -> np.ndarray:
    """LSD (nuwave) over bins k < int(1025 * low_sr / target_sr), the band the low-rate input carries. -> (B,)."""
    split = _split_bin(low_sr, target_sr)
    edges = [0, split, N_BINS]
    sums, _ = _nuwave_pass(*prepare(est, ref), edges, kuleshov=False)
    return _out(_range_lsd(sums, edges, 0, split))


@torch.inference_mode()
def lsd_bands(est: ArrayLike, ref: ArrayLike, n_bands: int = N_BANDS) -> np.ndarray:
    """LSD (nuwave) in each of ``n_bands`` equal bands up to the Nyquist (``band_bins``). -> (B, n_bands)."""
    edges = band_bins(n_bands)
    sums, _ = _nuwave_pass(*prepare(est, ref), edges, kuleshov=False)
    return _out(torch.stack([_range_lsd(sums, edges, lo, hi) for lo, hi in zip(edges[:-1], edges[1:])], dim=-1))


@torch.inference_mode()
def si_sdr(est: ArrayLike, ref: ArrayLike) -> np.ndarray:
    """Scale-invariant SDR in dB per item, both signals mean-removed. -> (B,)."""
    return _out(_si_sdr(*prepare(est, ref)))


@torch.inference_mode()
def score(est: ArrayLike, ref: ArrayLike, low_sr: int, target_sr: int, *, bands: bool = False,
          headline_only: bool = False) -> dict[str, np.ndarray]:
    """All of METRIC_NAMES for a batch (and BAND_NAMES with ``bands=True``); with ``headline_only``
    just SNR, LSD, LSD-HF and LSD-LF (nuwave), the set training validation and quick checks need.

    The nuwave LSD, its HF/LF split, the bands and the kuleshov LSD share one 2048-point STFT of each
    signal; ssr_eval makes its own at ``target_sr``. (T,)|(B,T)|(B,1,T) x 2 -> {name: float64 (B,)},
    keys in METRIC_NAMES (then BAND_NAMES) order.
    """
    split = _split_bin(low_sr, target_sr)
    band_edges = band_bins(N_BANDS) if bands else []
    edges = sorted({0, split, N_BINS, *band_edges})
    est_t, ref_t = prepare(est, ref)
    sums, per_bin = _nuwave_pass(est_t, ref_t, edges, kuleshov=not headline_only)
    out = {
        "snr": _out(_snr(est_t, ref_t)),
        "lsd": _out(_range_lsd(sums, edges, 0, N_BINS)),
        "lsd_hf": _out(_range_lsd(sums, edges, split, N_BINS)),
        "lsd_lf": _out(_range_lsd(sums, edges, 0, split)),
    }
    if not headline_only:
        out.update({
            "si_sdr": _out(_si_sdr(est_t, ref_t)),
            "lsd_kuleshov": _out(_kuleshov_from_bins(per_bin, sums.shape[1])),
            "lsd_ssr_eval": _out(_ssr_eval(est_t, ref_t, target_sr)),
        })
    for name, lo, hi in zip(BAND_NAMES, band_edges[:-1], band_edges[1:]):
        out[name] = _out(_range_lsd(sums, edges, lo, hi))
    ordered = {name: out.pop(name) for name in (*METRIC_NAMES, *BAND_NAMES) if name in out}  # the table's order
    return {**ordered, **out}  # anything the table lacks last (tests/contract/test_registries.py fails on it)
