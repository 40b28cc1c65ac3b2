"""Synthetic piano: inharmonic damped partials plus a hammer transient.

Events at Poisson rate 1.5-4 /s (first within the first 10 %), each a single note or a 2-4 note
chord (major/minor/seventh/open shapes) around a register centre of MIDI 36-84, velocity v 0.25-1
(x 0.85-1 per chord note), hold 0.15-1.2 s, chord notes spread by 0-15 ms.

A note of MIDI pitch m has partials f_n = n f0 sqrt(1 + B n^2) up to 0.95 Nyquist (at most 400),
with B = 10**(-4 + (m - 21) / 87) (1e-4 in the bass to 1e-3 in the treble) +-10 %; amplitudes
a_n = v**1.5 * max(|sin(pi n beta)|, .05) / sqrt(1 + (f_n / f_b)^2) (hammer at beta = 1/9-1/7 of
the string, brightness f_b = 800 + 4000 v^2 Hz); random phases; each partial decays as
exp(-sigma_n t), sigma_n = ln(1000)/T60(m) + b3 f_n^2 (T60 20 s at A0 falling log-linearly to 1 s
at C8, b3 2-4e-7 s: higher partials die faster, after Chaigne & Askenfelt), the damper adds 25 /s
after the hold, and a partial is rendered until it is 80 dB below the note's strongest.

Hammer transient: a 5-15 ms white burst with a 1-3 ms exponential decay through a 2nd-order
Butterworth band-pass 150 Hz .. min(4 + 12 v kHz, 0.45 sr), at 0.1-0.3 v of the note's RMS.

A passage gets the white floor of ``common.with_floor``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import signal

from bench.data.synthetic.common import NYQUIST_FRACTION, with_floor

_CHORDS = ((0, 4, 7, 12), (0, 3, 7, 12), (0, 4, 7, 10), (0, 3, 7, 10), (0, 7, 12, 16))
_CHORD_SIZE_P = (0.45, 0.25, 0.2, 0.1)  # 1, 2, 3, 4 notes
_MAX_PARTIALS = 400
_DAMPER_RATE = 25.0        # 1/s amplitude decay added when the key is released
_SILENCE_NEPERS = 9.2      # ln(1e4): a partial is dropped once 80 dB below the note's strongest
_BLOCK = 256               # samples per block of the block-recursive partial synthesiser


def _inharmonic_partials(midi: float, sr: int, b_jitter: float) -> np.ndarray:
    """(P,) partial frequencies f_n = n f0 sqrt(1 + B n^2) below 0.95 Nyquist."""
    f0 = 440.0 * 2.0 ** ((midi - 69.0) / 12.0)
    b = 10.0 ** (-4.0 + (np.clip(midi, 21, 108) - 21.0) / 87.0) * b_jitter
    n = np.arange(1, _MAX_PARTIALS + 1)
    fn = n * f0 * np.sqrt(1.0 + b * n * n)
    return fn[fn < NYQUIST_FRACTION * sr / 2]


def _damped_partials(freq: np.ndarray, sigma: np.ndarray, amp: np.ndarray, phase: np.ndarray,
                     n: int, sr: int) -> np.ndarray:
    """(n,) sum_p amp_p exp(-sigma_p t) cos(2 pi freq_p t + phase_p), partials shape (P,).

    Block-recursive: z_p^(bB + j) = z_p^(bB) z_p^j, so the sum is one product (blocks, P) x (P, B)
    per group, written as a real einsum over [Re; Im] (numpy's own loops, not BLAS, whose result
    depends on the BLAS thread count: the bytes must not). A partial is rendered only until it is
    80 dB below the note's strongest partial; partials are grouped by that lifetime in half-octave
    steps of block counts, so fast-dying high partials cost little.
    """
    out = np.zeros(n)
    if freq.size == 0:  # a top note at a low rate: every partial is above Nyquist
        return out
    z = (-sigma + 2j * np.pi * freq) / sr                                  # per-sample log step
    nepers = _SILENCE_NEPERS + np.log(amp / amp.max())
    life_blocks = np.ceil(np.minimum(n, nepers / sigma * sr) / _BLOCK)
    keep = life_blocks >= 1
    group = np.ceil(2 * np.log2(np.maximum(life_blocks, 1))).astype(int)
    max_blocks = -(-n // _BLOCK)
    base = np.exp(z[:, None] * np.arange(_BLOCK))                          # (P, B)
    coef0 = amp * np.exp(1j * phase)
    for g in np.unique(group[keep]):
        idx = np.flatnonzero(keep & (group == g))
        blocks = min(int(np.ceil(2 ** (g / 2))), max_blocks)
        coef = coef0[idx] * np.exp(z[idx] * (np.arange(blocks)[:, None] * _BLOCK))  # (blocks, Pg)
        lhs = np.concatenate([coef.real, -coef.imag], axis=1).astype(np.float32)
        rhs = np.concatenate([base[idx].real, base[idx].imag], axis=0).astype(np.float32)
        y = np.einsum("bp,pj->bj", lhs, rhs, optimize=False).ravel()      # Re(coef @ base)
        m = min(y.size, n)
        out[:m] += y[:m]
    return out


def _hammer(rng: np.random.Generator, velocity: float, sr: int) -> np.ndarray:
    """(L,) hammer-felt transient: decaying white burst through a velocity-dependent band-pass."""
    length = int(rng.uniform(0.005, 0.015) * sr)
    t = np.arange(length) / sr
    burst = rng.standard_normal(length) * np.exp(-t / rng.uniform(0.001, 0.003))
    hi = min(4000.0 + 12000.0 * velocity, 0.45 * sr)
    b, a = signal.butter(2, [150.0, hi], btype="bandpass", fs=sr)
    return signal.lfilter(b, a, burst)


def render_note(rng: np.random.Generator, midi: float, velocity: float, hold: float,
                max_len: int, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """One note: ((L,) audio with L <= max_len, (P,) partial frequencies in Hz)."""
    freq = _inharmonic_partials(midi, sr, rng.uniform(0.9, 1.1))
    n_idx = np.arange(1, freq.size + 1)
    hammer_pos = rng.uniform(1 / 9, 1 / 7)
    brightness = 800.0 + 4000.0 * velocity ** 2
    amp = (velocity ** 1.5 * np.maximum(np.abs(np.sin(np.pi * n_idx * hammer_pos)), 0.05)
           / np.sqrt(1.0 + (freq / brightness) ** 2))
    t60 = 10.0 ** np.interp(midi, [21.0, 108.0], [math.log10(20.0), 0.0])
    sigma = math.log(1000.0) / t60 + rng.uniform(2e-7, 4e-7) * freq ** 2
    length = min(max_len, int((hold + _SILENCE_NEPERS / _DAMPER_RATE) * sr))
    note = _damped_partials(freq, sigma, amp, rng.uniform(0, 2 * np.pi, freq.size), length, sr)
    t = np.arange(length) / sr
    note *= np.exp(-_DAMPER_RATE * np.maximum(t - hold, 0.0))
    hammer = _hammer(rng, velocity, sr)[:length]
    rms = np.sqrt(np.mean(note[: max(1, int(0.05 * sr))] ** 2))
    hammer *= rng.uniform(0.1, 0.3) * velocity * rms / max(np.sqrt(np.mean(hammer ** 2)), 1e-12)
    note[: hammer.size] += hammer
    return note, freq


def render(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """(n,) float64 synthetic piano passage drawn from ``rng`` (see module docstring)."""
    total_s = n / sr
    centre = rng.integers(36, 85)
    n_events = max(1, rng.poisson(rng.uniform(1.5, 4.0) * total_s))
    onsets = np.sort(np.concatenate([[rng.uniform(0, 0.1 * total_s)],
                                     rng.uniform(0, 0.9 * total_s, n_events - 1)]))
    out = np.zeros(n)
    for onset in onsets:
        size = int(rng.choice(4, p=_CHORD_SIZE_P)) + 1
        root = centre + rng.integers(-12, 13)
        shape = _CHORDS[rng.integers(len(_CHORDS))][:size]
        velocity = rng.uniform(0.25, 1.0)
        hold = rng.uniform(0.15, 1.2)
        for interval in shape:
            start = int((onset + rng.uniform(0, 0.015)) * sr)
            if start >= n:
                continue
            midi = float(np.clip(root + interval, 21, 108))
            note, _ = render_note(rng, midi, velocity * rng.uniform(0.85, 1.0), hold, n - start, sr)
            out[start:start + note.size] += note
    return with_floor(rng, out)
