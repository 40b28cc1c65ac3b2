"""Unit tests of bench.data.synthetic: API contract, determinism and the spectral properties the
benchmark relies on (wide-band content, fricatives, inharmonic piano partials, ship classes that
differ above 4 kHz)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import signal

from bench.data.synthetic import SHIP_CLASSES, SYNTH_KINDS, generate, piano_note

SR = 48000
# (kind, label) for every distinct generator configuration.
CONFIGS = [("speech", None), ("piano", None)] + [("ship", c) for c in SHIP_CLASSES]
CONFIG_IDS = [k if c is None else f"{k}-{c}" for k, c in CONFIGS]


def _power_fraction_above(x: np.ndarray, sr: int, cutoff_hz: float) -> float:
    """Fraction of the (T,) signal's power at frequencies above cutoff_hz (numpy FFT)."""
    power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sr)
    return float(power[freqs > cutoff_hz].sum() / power.sum())


def test_public_constants() -> None:
    assert SYNTH_KINDS == ("speech", "piano", "ship")
    assert SHIP_CLASSES == ("A", "B", "C", "D", "E")


@pytest.mark.parametrize(("kind", "label"), CONFIGS, ids=CONFIG_IDS)
def test_shape_dtype_finite_and_peak(kind: str, label: str | None) -> None:
    for seconds in (0.5, 0.0123):
        x = generate(kind, 3, seconds, SR, label=label)
        assert x.shape == (round(seconds * SR),)
        assert x.dtype == np.float32
        assert np.all(np.isfinite(x))
        assert np.max(np.abs(x)) == pytest.approx(0.9, abs=1e-6)


@pytest.mark.parametrize(("kind", "label"), CONFIGS, ids=CONFIG_IDS)
def test_deterministic_per_seed(kind: str, label: str | None) -> None:
    a = generate(kind, 11, 0.5, SR, label=label)
    assert a.tobytes() == generate(kind, 11, 0.5, SR, label=label).tobytes()
    assert not np.array_equal(a, generate(kind, 12, 0.5, SR, label=label))


def test_same_seed_differs_across_ship_classes() -> None:
    items = [generate("ship", 5, 0.5, SR, label=c) for c in SHIP_CLASSES]
    for a, b in itertools.combinations(items, 2):
        assert not np.array_equal(a, b)


@pytest.mark.parametrize("sr", [16000, 22050, 44100])
def test_other_sample_rates(sr: int) -> None:
    for kind, label in CONFIGS:
        x = generate(kind, 1, 0.3, sr, label=label)
        assert x.shape == (round(0.3 * sr),) and np.all(np.isfinite(x))
        assert np.max(np.abs(x)) == pytest.approx(0.9, abs=1e-6)


@pytest.mark.parametrize(("kind", "label"), CONFIGS, ids=CONFIG_IDS)
def test_energy_above_12k(kind: str, label: str | None) -> None:
    for seed in (0, 1):
        x = generate(kind, seed, 1.5, SR, label=label)
        assert _power_fraction_above(x, SR, 12000.0) >= 1e-4


def test_speech_has_fricative_energy_above_4k() -> None:
    for seed in range(4):
        x = generate("speech", seed, 2.0, SR)
        assert _power_fraction_above(x, SR, 4000.0) > 0.01


def test_piano_note_peaks_at_inharmonic_partials() -> None:
    midi = 45  # A2, 110 Hz: B ~ 2e-4, so partial 20 sits ~80 Hz above 20 * f0
    f0 = 440.0 * 2.0 ** ((midi - 69) / 12)
    x, partials = piano_note(midi, seed=0, seconds=1.0, sr=SR)
    assert x.dtype == np.float32 and x.shape == (SR,)
    assert partials[-1] < SR / 2
    spectrum = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(x.size, 1.0 / SR)
    n = np.arange(1, 31)
    assert np.all(np.diff(partials[:30] / (n * f0)) > 0)  # stretched: f_n / (n f0) grows with n
    for fn in partials[:30]:
        window = (freqs > fn - f0 / 4) & (freqs < fn + f0 / 4)
        assert abs(freqs[window][np.argmax(spectrum[window])] - fn) <= 2.0
    assert partials[19] - 20 * f0 > 20.0  # far from harmonic: the peaks above are not n f0


def _shape_log_psd(x: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """Welch log-PSD (dB) of x inside band, minus its mean: spectral shape, not level."""
    freqs, psd = signal.welch(x.astype(np.float64), fs=SR, nperseg=1024)
    db = 10.0 * np.log10(psd[(freqs >= band[0]) & (freqs < band[1])] + 1e-20)
    return db - db.mean()


def _between_within_ratio(items: dict[str, list[np.ndarray]], band: tuple[float, float]) -> float:
    """Mean RMS log-spectral distance between classes over that within classes."""
    shapes = {c: [_shape_log_psd(x, band) for x in xs] for c, xs in items.items()}
    dist = lambda a, b: float(np.sqrt(np.mean((a - b) ** 2)))  # noqa: E731
    within = [dist(a, b) for v in shapes.values() for a, b in itertools.combinations(v, 2)]
    between = [dist(a, b) for c, d in itertools.combinations(shapes, 2)
               for a in shapes[c] for b in shapes[d]]
    return float(np.mean(between) / np.mean(within))


def test_ship_classes_differ_above_4k_more_than_below() -> None:
    items = {c: [generate("ship", s, 1.0, SR, label=c) for s in range(4)] for c in SHIP_CLASSES}
    high = _between_within_ratio(items, (4000.0, 23000.0))
    low = _between_within_ratio(items, (100.0, 4000.0))
    assert high > 1.5
    assert high > low  # the band a 4 kHz low-pass removes carries the larger class differences


def test_unknown_kind_names_valid_kinds() -> None:
    with pytest.raises(ValueError) as err:
        generate("violin", 0, 1.0)
    for kind in SYNTH_KINDS:
        assert kind in str(err.value)


@pytest.mark.parametrize("label", [None, "F", "a"])
def test_ship_label_required_and_validated(label: str | None) -> None:
    with pytest.raises(ValueError) as err:
        generate("ship", 0, 0.5, label=label)
    for c in SHIP_CLASSES:
        assert c in str(err.value)


@pytest.mark.parametrize("kind", ["speech", "piano"])
def test_label_rejected_for_other_kinds(kind: str) -> None:
    with pytest.raises(ValueError, match="label"):
        generate(kind, 0, 0.5, label="A")


@pytest.mark.parametrize(("seed", "seconds", "sr"),
                         [(-1, 1.0, SR), (0, 0.0, SR), (0, float("nan"), SR), (0, 1e-6, SR),
                          (0, 1.0, 100)])
def test_bad_arguments(seed: int, seconds: float, sr: int) -> None:
    with pytest.raises(ValueError):
        generate("speech", seed, seconds, sr)
