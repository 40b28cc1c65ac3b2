"""Synthetic speech: source-filter synthesis in the STFT domain (Hann window ~21 ms, 75 % overlap).

A plan of syllables (fricative onset with p 0.6, 60-160 ms, voiced nucleus 110-300 ms, fricative
coda with p 0.3, then a 10-40 ms gap or a 80-300 ms pause) drives everything.

Voice: a male (f0 80-140 Hz) or female (f0 165-250 Hz) speaker; the f0 contour is
base * 2**(c(t)/12) with c = three slow sinusoids (0.15-1.2 Hz, 0.3-1.2 semitones) + per-syllable
accents (-2..+3 st, linearly interpolated), and 1 % per-cycle Gaussian jitter.

Source: the derivative of a Rosenberg glottal pulse (open quotient 0.5-0.7, 65/35 opening/closing
split; its abrupt return to zero at closure makes it wide-band), with 5 % per-cycle shimmer, plus
aspiration (white noise gated by the glottal flow, -20..-10 dB).

Filter: a parallel bank of five band-pass resonances
|R_k(f)| = 1 / sqrt(1 + ((f^2 - F_k^2) / (f B_k))^2), gains 1, .7, .45, .3, .2, bandwidths
80/100/140/220/300 Hz; F1-F5 glide (cosine ease) from one Peterson-Barney vowel target to another
within each nucleus, scaled by 0.95-1.05 (male) or 1.10-1.20 (female).

Fricatives (/s/ p .5, /sh/ .25, /f/ .25): complex Gaussian STFT noise shaped by
exp(-0.5 (log2(f/fc)/w)^2) times a 4th-order high-pass: /s/ fc 5-9 kHz w 0.7 oct HP 3 kHz, /sh/ fc
2.5-4 kHz w 0.8 oct HP 1.5 kHz, /f/ fc 6-12 kHz w 1.5 oct HP 1 kHz, at -10..-3 dB (/f/ -20..-12 dB)
re the vowels.

Envelopes: sin^2 ramps (voiced 30 ms, fricatives 20 ms), a 0.75 + 0.25 sin(pi u) syllable swell,
per-syllable level -6..0 dB. The result gets the white floor of ``common.with_floor``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from bench.data.synthetic.common import highpass_mag, log_gauss, ref_grid, with_floor

# F1..F5 (Hz) of adult male vowels: F1-F3 from Peterson & Barney (1952), F4/F5 typical values.
_VOWELS_HZ = np.array([
    [730, 1090, 2440, 3400, 4500],  # /a/
    [270, 2290, 3010, 3700, 4700],  # /i/
    [300, 870, 2240, 3300, 4400],   # /u/
    [530, 1840, 2480, 3500, 4600],  # /ɛ/
    [570, 840, 2410, 3300, 4400],   # /ɔ/
    [660, 1720, 2410, 3400, 4500],  # /æ/
    [490, 1350, 1690, 3300, 4500],  # /ɝ/
], dtype=np.float64)
_FORMANT_BW_HZ = np.array([80.0, 100.0, 140.0, 220.0, 300.0])
_FORMANT_GAIN = np.array([1.0, 0.7, 0.45, 0.3, 0.2])

# Fricative noise shapes: (centre range Hz, log-width octaves, high-pass Hz, level range dB).
_FRICATIVES = (
    ((5000.0, 9000.0), 0.7, 3000.0, (-10.0, -3.0)),   # /s/
    ((2500.0, 4000.0), 0.8, 1500.0, (-10.0, -3.0)),   # /sh/
    ((6000.0, 12000.0), 1.5, 1000.0, (-20.0, -12.0)),  # /f/
)
_FRICATIVE_P = (0.5, 0.25, 0.25)
_PAUSE, _VOICED, _FRIC = 0, 1, 2


def _sin2_ramp(x: np.ndarray) -> np.ndarray:
    """Smooth 0 -> 1 ramp of x clipped to [0, 1]: sin^2(pi/2 x) (no clicks at segment edges)."""
    return np.sin(0.5 * np.pi * np.clip(x, 0.0, 1.0)) ** 2


@dataclass(frozen=True)
class _SpeechPlan:
    """Segment table, one row per segment (S segments), times in seconds."""
    kind: np.ndarray      # (S,) _PAUSE / _VOICED / _FRIC
    start: np.ndarray     # (S,)
    dur: np.ndarray       # (S,)
    level: np.ndarray     # (S,) linear amplitude
    vowel_a: np.ndarray   # (S,) vowel index at nucleus start
    vowel_b: np.ndarray   # (S,) vowel index at nucleus end
    fric: np.ndarray      # (S,) fricative type index
    fric_fc: np.ndarray   # (S,) fricative centre frequency, Hz
    accent: np.ndarray    # (S,) pitch accent, semitones


def _speech_plan(rng: np.random.Generator, total_s: float) -> _SpeechPlan:
    """Syllable plan covering ``total_s`` seconds: [fricative] voiced [fricative] gap/pause."""
    rows: list[tuple[int, float, float, int, int, int, float, float]] = []

    def fricative() -> None:
        k = int(rng.choice(len(_FRICATIVES), p=_FRICATIVE_P))
        (lo, hi), _, _, (db_lo, db_hi) = _FRICATIVES[k]
        rows.append((_FRIC, rng.uniform(0.06, 0.16), 10 ** (rng.uniform(db_lo, db_hi) / 20),
                     0, 0, k, rng.uniform(lo, hi), 0.0))

    rows.append((_PAUSE, rng.uniform(0.0, 0.15), 0.0, 0, 0, 0, 1.0, 0.0))
    t = rows[0][1]
    while t < total_s:
        first = len(rows)
        if rng.random() < 0.6:
            fricative()
        a, b = rng.integers(len(_VOWELS_HZ), size=2)
        rows.append((_VOICED, rng.uniform(0.11, 0.30), 10 ** (rng.uniform(-6.0, 0.0) / 20),
                     int(a), int(b), 0, 1.0, rng.uniform(-2.0, 3.0)))
        if rng.random() < 0.3:
            fricative()
        gap = rng.uniform(0.08, 0.30) if rng.random() < 0.3 else rng.uniform(0.01, 0.04)
        rows.append((_PAUSE, gap, 0.0, 0, 0, 0, 1.0, 0.0))
        t += sum(r[1] for r in rows[first:])
    kind, dur, level, va, vb, fric, fc, accent = (np.array(c) for c in zip(*rows))
    start = np.concatenate([[0.0], np.cumsum(dur)[:-1]])
    return _SpeechPlan(kind.astype(int), start, dur, level, va.astype(int), vb.astype(int),
                       fric.astype(int), fc, accent)


def _f0_contour(rng: np.random.Generator, plan: _SpeechPlan, t: np.ndarray,
                f0_base: float) -> np.ndarray:
    """(T,) f0 in Hz: base * 2**(c/12), c = slow sinusoids + interpolated syllable accents."""
    semis = np.zeros_like(t)
    for _ in range(3):
        semis += rng.uniform(0.3, 1.2) * np.sin(2 * np.pi * rng.uniform(0.15, 1.2) * t
                                                + rng.uniform(0, 2 * np.pi))
    voiced = plan.kind == _VOICED
    centres = plan.start[voiced] + 0.5 * plan.dur[voiced]
    semis += np.interp(t, centres, plan.accent[voiced])
    return f0_base * 2.0 ** (semis / 12.0)


def _glottal_source(rng: np.random.Generator, f0: np.ndarray, sr: int) -> np.ndarray:
    """(T,) Rosenberg glottal-flow derivative with jitter, shimmer and flow-gated aspiration."""
    # Jitter is per glottal cycle: index cycles on the smooth contour, perturb, re-integrate.
    cycles0 = np.floor(np.cumsum(f0) / sr).astype(np.int64)
    jitter = 1.0 + 0.01 * rng.standard_normal(cycles0[-1] + 2)
    phase = np.cumsum(f0 * jitter[cycles0]) / sr
    cycle = np.floor(phase).astype(np.int64)
    frac = phase - cycle
    oq = rng.uniform(0.5, 0.7)
    tp, tn = 0.65 * oq, 0.35 * oq
    opening = frac < tp
    closing = (frac >= tp) & (frac < tp + tn)
    flow = np.where(opening, 0.5 * (1 - np.cos(np.pi * frac / tp)),
                    np.where(closing, np.cos(0.5 * np.pi * (frac - tp) / tn), 0.0))
    dflow = np.where(opening, np.pi / (2 * tp) * np.sin(np.pi * frac / tp),
                     np.where(closing, -np.pi / (2 * tn) * np.sin(0.5 * np.pi * (frac - tp) / tn),
                              0.0))
    shimmer = 1.0 + 0.05 * rng.standard_normal(cycle[-1] + 1)
    src = dflow * shimmer[cycle]
    aspiration = rng.standard_normal(src.size) * flow
    asp_gain = 10 ** (rng.uniform(-20.0, -10.0) / 20) * np.std(src) / max(np.std(aspiration), 1e-12)
    return src + asp_gain * aspiration


def _formant_envelope(plan: _SpeechPlan, seg: np.ndarray, u: np.ndarray, f: np.ndarray,
                      scale: float) -> np.ndarray:
    """(frames, bins) parallel formant-bank magnitude; formants glide vowel_a -> vowel_b."""
    ease = 0.5 - 0.5 * np.cos(np.pi * u)
    fa, fb = _VOWELS_HZ[plan.vowel_a[seg]], _VOWELS_HZ[plan.vowel_b[seg]]
    formants = scale * (fa + (fb - fa) * ease[:, None])                # (frames, 5)
    ff = np.maximum(f, 1.0)[None, :, None]                             # (1, bins, 1)
    fk = formants[:, None, :]
    q = (ff * ff - fk * fk) / (ff * _FORMANT_BW_HZ)
    return (_FORMANT_GAIN / np.sqrt(1.0 + q * q)).sum(axis=-1)


def _fricative_shapes(plan: _SpeechPlan, seg: np.ndarray, f: np.ndarray, sr: int) -> np.ndarray:
    """(frames, bins) fricative magnitude shapes of each frame's segment, unit energy (sum of
    squares) over the reference band: at a lower rate the part above Nyquist is lost, not
    squeezed into the band."""
    segs, inv = np.unique(seg, return_inverse=True)
    width = np.array([w for _, w, _, _ in _FRICATIVES])[plan.fric[segs]][:, None]
    hp = np.array([h for _, _, h, _ in _FRICATIVES])[plan.fric[segs]][:, None]
    fc = plan.fric_fc[segs][:, None]

    def shape(freq: np.ndarray) -> np.ndarray:
        ff = np.maximum(freq, 1.0)[None, :]
        return log_gauss(ff, fc, width) * highpass_mag(ff, hp, 4)

    norm = np.sqrt(np.sum(shape(ref_grid(f[1] - f[0], sr)) ** 2, axis=1))
    return (shape(f) / norm[:, None])[inv]


def render(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """(n,) float64 synthetic speech drawn from ``rng`` (see module docstring)."""
    female = rng.random() < 0.5
    f0_base = rng.uniform(165.0, 250.0) if female else rng.uniform(80.0, 140.0)
    scale = rng.uniform(1.10, 1.20) if female else rng.uniform(0.95, 1.05)
    plan = _speech_plan(rng, n / sr)
    t = np.arange(n) / sr
    src = _glottal_source(rng, _f0_contour(rng, plan, t, f0_base), sr)

    nperseg = 1 << int(round(math.log2(0.021 * sr)))
    stft_kw = dict(fs=sr, window="hann", nperseg=nperseg, noverlap=3 * nperseg // 4)
    f, tf, src_spec = signal.stft(src, **stft_kw)
    src_spec = src_spec.T                                               # (frames, bins)
    seg = np.clip(np.searchsorted(plan.start, tf, side="right") - 1, 0, plan.kind.size - 1)
    rel = tf - plan.start[seg]
    u = np.clip(rel / plan.dur[seg], 0.0, 1.0)
    ramp_s = np.where(plan.kind[seg] == _VOICED, 0.03, 0.02)
    edge = _sin2_ramp(np.minimum(rel, plan.dur[seg] - rel) / ramp_s) * plan.level[seg]
    env_v = edge * (plan.kind[seg] == _VOICED) * (0.75 + 0.25 * np.sin(np.pi * u))
    env_n = edge * (plan.kind[seg] == _FRIC)

    # Frames are voiced or fricative (never both), so each model is evaluated on its own rows only.
    spec = np.zeros(src_spec.shape, dtype=np.complex128)
    v, k = env_v > 0, env_n > 0
    if v.any():
        voiced = src_spec[v] * _formant_envelope(plan, seg[v], u[v], f, scale)
        # Unit mean frame energy, like the fricative shapes, so fricative levels are re the vowels.
        spec[v] = voiced / np.sqrt(np.mean(np.sum(np.abs(voiced) ** 2, axis=1))) * env_v[v, None]
    noise = (rng.standard_normal((k.sum(), f.size)) + 1j * rng.standard_normal((k.sum(), f.size)))
    spec[k] = noise / np.sqrt(2.0) * _fricative_shapes(plan, seg[k], f, sr) * env_n[k, None]
    _, x = signal.istft(spec.T, **stft_kw)
    return with_floor(rng, x[:n])
