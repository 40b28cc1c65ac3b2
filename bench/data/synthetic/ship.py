"""Synthetic underwater recordings of the five ShipsEar-like classes A-E.

A sum of independent Gaussian components, each synthesised by spectral shaping (PSD -> irfft),
powers relative to the LF cavitation: LF cavitation (PSD (f/fp)^2 / (1 + (f/fp)^4), fp 80-600 Hz
log-uniform for every class) amplitude-modulated by 1 + d cos(2 pi f_shaft t), d 0.1-0.4; blade-rate
tonals (f_b = shaft rate x blade count, 4-8 harmonics falling 3 dB each) and 2-5 machinery lines
(25-400 Hz, 1-3 harmonics), all 0.3 Hz-wide Gaussian lines, together -10..0 dB; an HF cavitation
hump (log-Gaussian in octaves) modulated by a blade-rate pulse train |cos(pi f_b t)|^8;
class-specific HF lines at -22..-12 dB each; a sea-state ambient (Wenz-like PSD flat below 200 Hz
then f^-1.7, rolled off below 10 Hz) at a ship-to-ambient ratio of 3-25 dB; snapping-shrimp clicks
(Poisson 5-100 /s, log-normal sizes, high-passed at 2 kHz, -15..-3 dB re the ambient).

The classes overlap below 4 kHz (shared fp, line, ambient and click ranges; only the shaft-rate and
blade-count ranges differ, and they overlap) and differ partly above 4 kHz: hump centre / width /
level, its AM depth and the HF lines:
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
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft

from bench.data.synthetic.common import NYQUIST_FRACTION, highpass_mag, log_gauss, ref_grid

# ShipsEar class labels (the ``label`` of a ship item) and the vessels each stands for.
SHIP_CLASSES: tuple[str, ...] = ("A", "B", "C", "D", "E")
SHIP_CLASS_NAMES: dict[str, str] = {
    "A": "fishing boats, trawlers, mussel boats, tugboats, dredgers",
    "B": "motorboats, pilot boats, sailboats",
    "C": "passenger ferries",
    "D": "ocean liners, ro-ro vessels",
    "E": "natural ambient noise",
}


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
_CLASS_PARAMS: dict[str, _ShipClass] = {
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
    ref = ref_grid(f[1] - f[0], sr)
    return power * shape(np.maximum(f, 1.0)) / shape(np.maximum(ref, 1.0)).sum()


def _lines_psd(f: np.ndarray, freqs: np.ndarray, powers: np.ndarray, sr: int) -> np.ndarray:
    """(bins,) PSD of narrow Gaussian lines; each line's PSD sums to its power (P,)."""
    psd = np.zeros_like(f)
    df = f[1] - f[0]
    half = max(2, int(math.ceil(5 * _LINE_WIDTH_HZ / df)))
    for fk, pk in zip(freqs, powers):
        if fk >= NYQUIST_FRACTION * sr / 2:
            continue
        centre = int(round(fk / df))
        sl = slice(max(centre - half, 0), centre + half + 1)
        bump = np.exp(-0.5 * ((f[sl] - fk) / _LINE_WIDTH_HZ) ** 2)
        psd[sl] += pk * bump / bump.sum()
    return psd


def _ambient_shape(f: np.ndarray) -> np.ndarray:
    """Wenz-like sea-state PSD shape: flat below 200 Hz, f^-1.7 above, cut below 10 Hz."""
    return (1.0 + (f / 200.0) ** 2) ** -0.85 * highpass_mag(f, 10.0, 2) ** 2


def _shrimp(rng: np.random.Generator, n: int, sr: int, rate: float) -> np.ndarray:
    """(n,) unit-RMS snapping-shrimp click train: Poisson impulses, log-normal sizes, HP 2 kHz."""
    impulses = np.zeros(n)
    count = max(1, rng.poisson(rate * n / sr))
    np.add.at(impulses, rng.integers(0, n, count), rng.lognormal(0.0, 1.0, count)
              * rng.choice([-1.0, 1.0], count))
    f = sfft.rfftfreq(n, 1.0 / sr)
    clicks = sfft.irfft(sfft.rfft(impulses) * highpass_mag(np.maximum(f, 1.0), 2000.0, 2), n)
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
    hump_psd = _band_psd(lambda x: log_gauss(x, centre, cls.hf_width_oct), f, sr)
    hump = _shaped_noise(rng, hump_psd, n)
    pulses = np.abs(np.cos(np.pi * blade_rate * t + rng.uniform(0, np.pi))) ** 8
    hump *= 1.0 + rng.uniform(*cls.hf_am_depth) * (pulses / pulses.mean() - 1.0)
    hump *= 10 ** (rng.uniform(*cls.hf_level_db) / 20)
    return cav + lines + hump


def render(rng: np.random.Generator, n: int, sr: int, label: str) -> np.ndarray:
    """(n,) float64 synthetic underwater recording of class ``label`` (see module docstring)."""
    f = sfft.rfftfreq(n, 1.0 / sr)
    t = np.arange(n) / sr
    if label == "E":
        ambient = _shaped_noise(rng, _band_psd(_ambient_shape, f, sr), n)
        if rng.random() < 0.6:
            rain_hz, rain_db = rng.uniform(12000.0, 20000.0), rng.uniform(-10.0, 0.0)
            rain = _band_psd(lambda x: log_gauss(x, rain_hz, 0.4), f, sr, 10 ** (rain_db / 10))
            ambient += _shaped_noise(rng, rain, n)
        shrimp_rate = math.exp(rng.uniform(math.log(20.0), math.log(300.0)))
        shrimp_db = (-8.0, 0.0)
        x = ambient
    else:
        ship = _ship_components(rng, _CLASS_PARAMS[label], f, t, sr)
        ambient_power = np.mean(ship ** 2) * 10 ** (-rng.uniform(3.0, 25.0) / 10)
        ambient = _shaped_noise(rng, _band_psd(_ambient_shape, f, sr, ambient_power), n)
        shrimp_rate = math.exp(rng.uniform(math.log(5.0), math.log(100.0)))
        shrimp_db = (-15.0, -3.0)
        x = ship + ambient
    shrimp_rms = np.sqrt(np.mean(ambient ** 2)) * 10 ** (rng.uniform(*shrimp_db) / 20)
    return x + shrimp_rms * _shrimp(rng, n, sr, shrimp_rate)
