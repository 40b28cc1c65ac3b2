"""Embedded synthetic corpora standing in for VCTK speech, piano recordings and ShipsEar.

Every item is a pure function of ``(kind, seed, seconds, sr, label)``. All randomness comes from
one ``np.random.default_rng([seed, kind index, class index])`` (separate streams per kind and ship
class, so equal seeds never give correlated items across classes), never from global state, and no
BLAS call (whose sums depend on its thread count) is on the path: the bytes are the same on every
call with the same numpy/scipy on the same machine. Output is a float32 ``(round(seconds * sr),)``
array peak-normalised to ``max|x| = 0.9``. Each model is wide-band: at 48 kHz every kind carries
well over 1e-4 of its power above 12 kHz, which is what an audio super-resolution benchmark needs
to have something to reconstruct. Frequencies are drawn in Hz and component levels are defined over
0 .. max(24 kHz, Nyquist), so at a lower ``sr`` whatever lies above Nyquist (tonals and partials:
above 0.95 Nyquist) is dropped, not folded in or renormalised.

Models
------
speech
    Source-filter synthesis in the STFT domain (Hann window ~21 ms, 75 % overlap). A plan of
    syllables (fricative onset with p 0.6, 60-160 ms, voiced nucleus 110-300 ms, fricative coda with
    p 0.3, then a 10-40 ms gap or a 80-300 ms pause) drives everything. Voice: a male (f0 80-140 Hz)
    or female (f0 165-250 Hz) speaker; the f0 contour is base * 2**(c(t)/12) with c = three slow
    sinusoids (0.15-1.2 Hz, 0.3-1.2 semitones) + per-syllable accents (-2..+3 st, linearly
    interpolated), and 1 % per-cycle Gaussian jitter. Source: the derivative of a Rosenberg glottal
    pulse (open quotient 0.5-0.7, 65/35 opening/closing split; its abrupt return to zero at closure
    makes it wide-band), with 5 % per-cycle shimmer, plus aspiration (white noise gated by the
    glottal flow, -20..-10 dB). Filter: a parallel bank of five band-pass resonances
    |R_k(f)| = 1 / sqrt(1 + ((f^2 - F_k^2) / (f B_k))^2), gains 1, .7, .45, .3, .2, bandwidths
    80/100/140/220/300 Hz; F1-F5 glide (cosine ease) from one Peterson-Barney vowel target to
    another within each nucleus, scaled by 0.95-1.05 (male) or 1.10-1.20 (female). Fricatives
    (/s/ p .5, /sh/ .25, /f/ .25): complex Gaussian STFT noise shaped by exp(-0.5 (log2(f/fc)/w)^2)
    times a 4th-order high-pass: /s/ fc 5-9 kHz w 0.7 oct HP 3 kHz, /sh/ fc 2.5-4 kHz w 0.8 oct
    HP 1.5 kHz, /f/ fc 6-12 kHz w 1.5 oct HP 1 kHz, at -10..-3 dB (/f/ -20..-12 dB) re the vowels.
    Envelopes: sin^2 ramps (voiced 30 ms, fricatives 20 ms), a 0.75 + 0.25 sin(pi u) syllable
    swell, per-syllable level -6..0 dB.
piano
    Events at Poisson rate 1.5-4 /s (first within the first 10 %), each a single note or a 2-4 note
    chord (major/minor/seventh/open shapes) around a register centre of MIDI 36-84, velocity
    v 0.25-1 (x 0.85-1 per chord note), hold 0.15-1.2 s, chord notes spread by 0-15 ms. A note of
    MIDI pitch m has partials f_n = n f0 sqrt(1 + B n^2) up to 0.95 Nyquist (at most 400), with
    B = 10**(-4 + (m - 21) / 87) (1e-4 in the bass to 1e-3 in the treble) +-10 %; amplitudes
    a_n = v**1.5 * max(|sin(pi n beta)|, .05) / sqrt(1 + (f_n / f_b)^2) (hammer at beta = 1/9-1/7
    of the string, brightness f_b = 800 + 4000 v^2 Hz); random phases; each partial decays as
    exp(-sigma_n t), sigma_n = ln(1000)/T60(m) + b3 f_n^2 (T60 20 s at A0 falling log-linearly to
    1 s at C8, b3 2-4e-7 s: higher partials die faster, after Chaigne & Askenfelt), the damper adds
    25 /s after the hold, and a partial is rendered until it is 80 dB below the note's strongest.
    Hammer transient: a 5-15 ms white burst with a 1-3 ms exponential decay through a 2nd-order
    Butterworth band-pass 150 Hz .. min(4 + 12 v kHz, 0.45 sr), at 0.1-0.3 v of the note's RMS.
ship (classes A-E, ShipsEar-like)
    A sum of independent Gaussian components, each synthesised by spectral shaping (PSD -> irfft),
    powers relative to the LF cavitation: LF cavitation (PSD (f/fp)^2 / (1 + (f/fp)^4), fp
    80-600 Hz log-uniform for every class) amplitude-modulated by 1 + d cos(2 pi f_shaft t),
    d 0.1-0.4; blade-rate tonals (f_b = shaft rate x blade count, 4-8 harmonics falling 3 dB each)
    and 2-5 machinery lines (25-400 Hz, 1-3 harmonics), all 0.3 Hz-wide Gaussian lines, together
    -10..0 dB; an HF cavitation hump (log-Gaussian in octaves) modulated by a blade-rate pulse
    train |cos(pi f_b t)|^8; class-specific HF lines at -22..-12 dB each; a sea-state ambient
    (Wenz-like PSD flat below 200 Hz then f^-1.7, rolled off below 10 Hz) at a ship-to-ambient
    ratio of 3-25 dB; snapping-shrimp clicks (Poisson 5-100 /s, log-normal sizes, high-passed at
    2 kHz, -15..-3 dB re the ambient). The classes overlap below 4 kHz (shared fp, line, ambient
    and click ranges; only the shaft-rate and blade-count ranges differ, and they overlap) and
    differ partly above 4 kHz: hump centre / width / level, its AM depth and the HF lines:
        A fishing/trawler/tug:  shaft 2.5-6 Hz, 3-4 blades, hump 5-7.5 kHz, 0.5 oct, -12..-3 dB,
                                AM 0.5-0.8, no HF lines
        B motorboat/pilot/sail: shaft 6-15 Hz, 2-3 blades, hump 9-14 kHz, 0.4 oct, -10..0 dB,
                                AM 0.2-0.5, 1-2 engine/gear whine lines at 4.5-8 kHz
        C passenger ferry:      shaft 3-8 Hz, 4-5 blades, hump 6.5-10 kHz, 0.6 oct, -14..-4 dB,
                                AM 0.3-0.6, 1-3 auxiliary-machinery lines at 10-16 kHz
        D ocean liner / ro-ro:  shaft 1.5-4 Hz, 4-6 blades, hump 4-6 kHz, 0.7 oct, -18..-8 dB,
                                AM 0.6-0.9, no HF lines
        E natural ambient:      no vessel; the ambient alone, denser and louder shrimp (20-300 /s,
                                -8..0 dB) and, with probability 0.6, a rain/spray hump
                                (12-20 kHz, 0.4 oct, -10..0 dB re the ambient)

Speech and piano get a white floor 70 dB below the item's RMS, so that pauses and the time before
the first onset are never exact digital silence (log-spectral metrics would degenerate there).
"""
from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import signal

SYNTH_KINDS: tuple[str, ...] = ("speech", "piano", "ship")
SHIP_CLASSES: tuple[str, ...] = ("A", "B", "C", "D", "E")
SHIP_CLASS_NAMES: dict[str, str] = {
    "A": "fishing boats, trawlers, mussel boats, tugboats, dredgers",
    "B": "motorboats, pilot boats, sailboats",
    "C": "passenger ferries",
    "D": "ocean liners, ro-ro vessels",
    "E": "natural ambient noise",
}

PEAK = 0.9
_MIN_SR = 8000
_MIN_GEN_SECONDS = 0.25  # shorter requests are generated at this length and cropped
_NYQUIST_FRACTION = 0.95  # partials / lines above this fraction of Nyquist are dropped
_REF_BAND_HZ = 24000.0  # component levels are defined over 0 .. max(this, Nyquist)
_FLOOR_REL = 10 ** (-70 / 20)  # white floor under speech and piano, relative to the item's RMS


def generate(kind: str, seed: int, seconds: float, sr: int = 48000,
             label: str | None = None) -> np.ndarray:
    """One synthetic item: float32 array of shape ``(round(seconds * sr),)``, ``max|x| = 0.9``.

    Deterministic: the same arguments give the same bytes on every call. ``label`` is the ShipsEar
    class for ``kind == "ship"`` (one of ``SHIP_CLASSES``) and must be None for the other kinds.
    """
    if kind not in SYNTH_KINDS:
        raise ValueError(f"unknown synthetic kind {kind!r}; valid kinds: {', '.join(SYNTH_KINDS)}")
    if kind == "ship":
        if label not in SHIP_CLASSES:
            raise ValueError(f"ship items need label= one of {', '.join(SHIP_CLASSES)} "
                             f"(ShipsEar classes), got {label!r}")
    elif label is not None:
        raise ValueError(f"label is only used for kind 'ship'; got label={label!r} for {kind!r}")
    seed = operator.index(seed)
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    sr = operator.index(sr)
    if sr < _MIN_SR:
        raise ValueError(f"sr must be an integer >= {_MIN_SR} Hz (the models span speech formants "
                         f"and ship tonals), got {sr}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be a positive finite number, got {seconds!r}")
    n = int(round(seconds * sr))
    if n < 1:
        raise ValueError(f"seconds={seconds} at sr={sr} gives no samples")

    class_index = SHIP_CLASSES.index(label) if kind == "ship" else 0
    rng = np.random.default_rng([seed, SYNTH_KINDS.index(kind), class_index])
    # The models need a few STFT frames / events to be meaningful: very short items are cropped.
    n_gen = max(n, int(round(_MIN_GEN_SECONDS * sr)))
    if kind == "speech":
        x = _speech(rng, n_gen, sr)
    elif kind == "piano":
        x = _piano(rng, n_gen, sr)
    else:
        x = _ship(rng, n_gen, sr, label)
    return _peak_normalise(x[:n])


def piano_note(midi: float, seed: int, seconds: float, sr: int = 48000,
               velocity: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """A single held piano note (the piano model's note synthesiser, exposed for inspection).

    Returns ``(audio, partials)``: float32 audio of shape ``(round(seconds * sr),)`` peak-normalised
    to 0.9, and the partial frequencies in Hz, shape ``(P,)``, that the note was built from.
    """
    # Last stream index 1: generate("piano", ...) uses 0, so the two never share draws.
    rng = np.random.default_rng([operator.index(seed), SYNTH_KINDS.index("piano"), 1])
    n = int(round(seconds * sr))
    note, partials = _piano_note(rng, midi, velocity, hold=seconds, max_len=n, sr=sr)
    return _peak_normalise(note), partials


def _peak_normalise(x: np.ndarray) -> np.ndarray:
    """(T,) -> (T,) float32 scaled so that max|x| = PEAK (all-zero input stays zero)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    scale = PEAK / peak if peak > 0 else 0.0
    return (x * scale).astype(np.float32)


def _with_floor(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """(T,) -> (T,) plus white noise 70 dB below x's RMS: no exact digital silence, whose
    spectrum would make log-spectral metrics (LSD) degenerate."""
    return x + _FLOOR_REL * np.sqrt(np.mean(x ** 2)) * rng.standard_normal(x.size)


def _sin2_ramp(x: np.ndarray) -> np.ndarray:
    """Smooth 0 -> 1 ramp of x clipped to [0, 1]: sin^2(pi/2 x) (no clicks at segment edges)."""
    return np.sin(0.5 * np.pi * np.clip(x, 0.0, 1.0)) ** 2


def _log_gauss(f: np.ndarray, centre: np.ndarray | float,
               width_oct: np.ndarray | float) -> np.ndarray:
    """Gaussian bump on a log2 frequency axis (peak 1 at ``centre``); f must be > 0."""
    return np.exp(-0.5 * (np.log2(f / centre) / width_oct) ** 2)


def _ref_grid(df: float, sr: int) -> np.ndarray:
    """(K,) frequencies 0, df, 2 df, ... up to max(24 kHz, Nyquist): the band levels are defined
    on, so that at a lower rate the content above Nyquist is dropped rather than renormalised."""
    return np.arange(0.0, max(_REF_BAND_HZ, sr / 2) + df / 2, df)


def _highpass_mag(f: np.ndarray, fc: np.ndarray | float, order: int = 4) -> np.ndarray:
    """Butterworth-like high-pass magnitude (f/fc)^k / sqrt(1 + (f/fc)^2k)."""
    r = (f / fc) ** order
    return r / np.sqrt(1.0 + r * r)


# ---------------------------------------------------------------------------------------------
# speech

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
        return _log_gauss(ff, fc, width) * _highpass_mag(ff, hp, 4)

    norm = np.sqrt(np.sum(shape(_ref_grid(f[1] - f[0], sr)) ** 2, axis=1))
    return (shape(f) / norm[:, None])[inv]


def _speech(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """(n,) float64 synthetic speech (see module docstring)."""
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
    return _with_floor(rng, x[:n])


# ---------------------------------------------------------------------------------------------
# piano

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
    return fn[fn < _NYQUIST_FRACTION * sr / 2]


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


def _piano_note(rng: np.random.Generator, midi: float, velocity: float, hold: float, max_len: int,
                sr: int) -> tuple[np.ndarray, np.ndarray]:
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


def _piano(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """(n,) float64 synthetic piano passage (see module docstring)."""
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
            note, _ = _piano_note(rng, midi, velocity * rng.uniform(0.85, 1.0), hold, n - start, sr)
            out[start:start + note.size] += note
    return _with_floor(rng, out)


# ---------------------------------------------------------------------------------------------
# ship


@dataclass(frozen=True)
class _ShipClass:
    """Parameter ranges of one ShipsEar-like class (uniform draws unless noted)."""
    shaft_hz: tuple[float, float]
    blades: tuple[int, int]              # inclusive
    hf_centre_hz: tuple[float, float]    # HF cavitation hump centre (log-uniform)
    hf_width_oct: float
    hf_level_db: tuple[float, float]     # hump power relative to the LF cavitation
    hf_am_depth: tuple[float, float]     # blade-rate modulation depth of the hump
    hf_lines_hz: tuple[float, float] | None  # band of class-specific HF tonals
    hf_lines_n: tuple[int, int]          # inclusive


# Below 4 kHz the classes share fp, ambient and machinery ranges; shaft/blade ranges overlap.
# Above 4 kHz the hump centre ranges partly overlap (D<A<C<B), widths/levels/AM depth differ,
# and only B (gear/engine whine) and C (auxiliary machinery) carry HF lines.
_SHIP_CLASSES: dict[str, _ShipClass] = {
    "A": _ShipClass((2.5, 6.0), (3, 4), (5000.0, 7500.0), 0.5, (-12.0, -3.0), (0.5, 0.8),
                    None, (0, 0)),
    "B": _ShipClass((6.0, 15.0), (2, 3), (9000.0, 14000.0), 0.4, (-10.0, 0.0), (0.2, 0.5),
                    (4500.0, 8000.0), (1, 2)),
    "C": _ShipClass((3.0, 8.0), (4, 5), (6500.0, 10000.0), 0.6, (-14.0, -4.0), (0.3, 0.6),
                    (10000.0, 16000.0), (1, 3)),
    "D": _ShipClass((1.5, 4.0), (4, 6), (4000.0, 6000.0), 0.7, (-18.0, -8.0), (0.6, 0.9),
                    None, (0, 0)),
}
_LINE_WIDTH_HZ = 0.3


def _shaped_noise(rng: np.random.Generator, psd: np.ndarray, n: int) -> np.ndarray:
    """(n,) Gaussian noise whose expected variance is sum(psd); psd has shape (n // 2 + 1,)."""
    z = (rng.standard_normal(psd.size) + 1j * rng.standard_normal(psd.size)) / np.sqrt(2.0)
    return sfft.irfft(np.sqrt(psd) * z, n, norm="forward") / np.sqrt(2.0)


def _band_psd(shape: Callable[[np.ndarray], np.ndarray], f: np.ndarray, sr: int,
              power: float = 1.0) -> np.ndarray:
    """(bins,) PSD on the rfft bins ``f`` of a component with ``power`` over the reference band.

    ``shape`` maps frequencies (Hz, >= 1) to a PSD shape; the part above Nyquist is lost."""
    ref = _ref_grid(f[1] - f[0], sr)
    return power * shape(np.maximum(f, 1.0)) / shape(np.maximum(ref, 1.0)).sum()


def _lines_psd(f: np.ndarray, freqs: np.ndarray, powers: np.ndarray, sr: int) -> np.ndarray:
    """(bins,) PSD of narrow Gaussian lines; each line's PSD sums to its power (P,)."""
    psd = np.zeros_like(f)
    df = f[1] - f[0]
    half = max(2, int(math.ceil(5 * _LINE_WIDTH_HZ / df)))
    for fk, pk in zip(freqs, powers):
        if fk >= _NYQUIST_FRACTION * sr / 2:
            continue
        centre = int(round(fk / df))
        sl = slice(max(centre - half, 0), centre + half + 1)
        bump = np.exp(-0.5 * ((f[sl] - fk) / _LINE_WIDTH_HZ) ** 2)
        psd[sl] += pk * bump / bump.sum()
    return psd


def _ambient_shape(f: np.ndarray) -> np.ndarray:
    """Wenz-like sea-state PSD shape: flat below 200 Hz, f^-1.7 above, cut below 10 Hz."""
    return (1.0 + (f / 200.0) ** 2) ** -0.85 * _highpass_mag(f, 10.0, 2) ** 2


def _shrimp(rng: np.random.Generator, n: int, sr: int, rate: float) -> np.ndarray:
    """(n,) unit-RMS snapping-shrimp click train: Poisson impulses, log-normal sizes, HP 2 kHz."""
    impulses = np.zeros(n)
    count = max(1, rng.poisson(rate * n / sr))
    np.add.at(impulses, rng.integers(0, n, count), rng.lognormal(0.0, 1.0, count)
              * rng.choice([-1.0, 1.0], count))
    f = sfft.rfftfreq(n, 1.0 / sr)
    clicks = sfft.irfft(sfft.rfft(impulses) * _highpass_mag(np.maximum(f, 1.0), 2000.0, 2), n)
    return clicks / max(np.sqrt(np.mean(clicks ** 2)), 1e-12)


def _ship_components(rng: np.random.Generator, cls: _ShipClass, f: np.ndarray, t: np.ndarray,
                     sr: int) -> np.ndarray:
    """(T,) radiated noise of one vessel (LF cavitation power 1): cavitation, tonals, HF hump."""
    n = t.size
    shaft = rng.uniform(*cls.shaft_hz)
    blade_rate = shaft * rng.integers(cls.blades[0], cls.blades[1] + 1)

    fp = math.exp(rng.uniform(math.log(80.0), math.log(600.0)))
    cav = _shaped_noise(rng, _band_psd(lambda x: (x / fp) ** 2 / (1.0 + (x / fp) ** 4), f, sr), n)
    cav *= 1.0 + rng.uniform(0.1, 0.4) * np.cos(2 * np.pi * shaft * t + rng.uniform(0, 2 * np.pi))

    blade_h = np.arange(1, rng.integers(4, 9) + 1)
    machinery = np.exp(rng.uniform(math.log(25.0), math.log(400.0), rng.integers(2, 6)))
    mach_h = np.concatenate([m * np.arange(1, rng.integers(1, 4) + 1) for m in machinery])
    line_f = np.concatenate([blade_rate * blade_h, mach_h])
    line_p = np.concatenate([10 ** (-0.3 * (blade_h - 1)), rng.uniform(0.2, 1.0, mach_h.size)])
    line_p *= 10 ** (rng.uniform(-10.0, 0.0) / 10) / line_p.sum()
    if cls.hf_lines_hz is not None:
        k = rng.integers(cls.hf_lines_n[0], cls.hf_lines_n[1] + 1)
        line_f = np.concatenate([line_f, rng.uniform(*cls.hf_lines_hz, k)])
        line_p = np.concatenate([line_p, 10 ** (rng.uniform(-22.0, -12.0, k) / 10)])
    lines = _shaped_noise(rng, _lines_psd(f, line_f, line_p, sr), n)

    centre = math.exp(rng.uniform(*np.log(cls.hf_centre_hz)))
    hump_psd = _band_psd(lambda x: _log_gauss(x, centre, cls.hf_width_oct), f, sr)
    hump = _shaped_noise(rng, hump_psd, n)
    pulses = np.abs(np.cos(np.pi * blade_rate * t + rng.uniform(0, np.pi))) ** 8
    hump *= 1.0 + rng.uniform(*cls.hf_am_depth) * (pulses / pulses.mean() - 1.0)
    hump *= 10 ** (rng.uniform(*cls.hf_level_db) / 20)
    return cav + lines + hump


def _ship(rng: np.random.Generator, n: int, sr: int, label: str) -> np.ndarray:
    """(n,) float64 synthetic underwater recording of class ``label`` (see module docstring)."""
    f = sfft.rfftfreq(n, 1.0 / sr)
    t = np.arange(n) / sr
    if label == "E":
        ambient = _shaped_noise(rng, _band_psd(_ambient_shape, f, sr), n)
        if rng.random() < 0.6:
            rain_hz, rain_db = rng.uniform(12000.0, 20000.0), rng.uniform(-10.0, 0.0)
            rain = _band_psd(lambda x: _log_gauss(x, rain_hz, 0.4), f, sr, 10 ** (rain_db / 10))
            ambient += _shaped_noise(rng, rain, n)
        shrimp_rate = math.exp(rng.uniform(math.log(20.0), math.log(300.0)))
        shrimp_db = (-8.0, 0.0)
        x = ambient
    else:
        ship = _ship_components(rng, _SHIP_CLASSES[label], f, t, sr)
        ambient_power = np.mean(ship ** 2) * 10 ** (-rng.uniform(3.0, 25.0) / 10)
        ambient = _shaped_noise(rng, _band_psd(_ambient_shape, f, sr, ambient_power), n)
        shrimp_rate = math.exp(rng.uniform(math.log(5.0), math.log(100.0)))
        shrimp_db = (-15.0, -3.0)
        x = ship + ambient
    shrimp_rms = np.sqrt(np.mean(ambient ** 2)) * 10 ** (rng.uniform(*shrimp_db) / 20)
    return x + shrimp_rms * _shrimp(rng, n, sr, shrimp_rate)
