"""bench.signal.degrade: anti-alias low-passes, decimation and the LR -> target-rate upsamplers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.core.spec import LOWPASS_KINDS, UPSAMPLER_KINDS, Protocol
from bench.signal.degrade import GENTLE_LOWPASS, cutoff_bin, degrade, upsample
from methods.baselines.interp import Linear, Sinc, Spline

# Filters flat to ~1 % well inside the pass band (bessel droops by design: tested in test_corpora_real.py).
FLAT_LOWPASS = [k for k in LOWPASS_KINDS if k not in GENTLE_LOWPASS]
# (R, target rate): the seed paper's three settings.
SETTINGS = [(2, 16000), (4, 16000), (6, 24000)]


def tone(freq: float, sr: int, seconds: float = 1.0) -> np.ndarray:
    """(sr * seconds,) unit-amplitude sine."""
    return np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)


def interior(x: np.ndarray) -> np.ndarray:
    """The middle 3/4: zero-phase filters start up from padded edges, not from an endless tone."""
    return x[..., len(x) // 8: -len(x) // 8]


def amplitude_at(x: np.ndarray, freq: float, sr: int) -> float:
    """Amplitude of the `freq` component of x (by projection over the interior)."""
    phasor = np.exp(-2j * np.pi * freq * np.arange(len(x)) / sr)
    return float(2 * abs(np.mean(interior(x * phasor))))


def snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2)))


@pytest.mark.parametrize("kind", FLAT_LOWPASS)
@pytest.mark.parametrize("scale,sr", SETTINGS)
def test_lowpass_passes_a_low_tone_at_unit_gain(kind: str, scale: int, sr: int) -> None:
    low_sr = sr // scale
    lr = degrade(tone(low_sr / 8, sr), scale, kind)
    assert lr.shape == (sr // scale,)
    assert np.isfinite(lr).all()
    # decimate's Chebyshev ripple (0.05 dB) doubles under filtfilt: 0.1 dB is 1.2 %.
    assert amplitude_at(lr, low_sr / 8, low_sr) == pytest.approx(1.0, abs=0.015)


@pytest.mark.parametrize("kind", LOWPASS_KINDS)
@pytest.mark.parametrize("scale,sr", SETTINGS)
def test_lowpass_rejects_a_tone_above_the_low_nyquist(kind: str, scale: int, sr: int) -> None:
    high = 0.8 * sr / 2  # between the low-rate Nyquist and the target Nyquist for every R >= 2
    lr = degrade(tone(high, sr), scale, kind)
    assert np.isfinite(lr).all()
    rms = np.sqrt(np.mean(interior(lr) ** 2))
    assert 20 * np.log10(rms * np.sqrt(2)) < -40


@pytest.mark.parametrize("kind", LOWPASS_KINDS)
def test_degrade_is_batched_over_leading_dims_and_keeps_float32(kind: str) -> None:
    rng = np.random.default_rng(0)
    hr = rng.standard_normal((2, 3, 4096)).astype(np.float32)
    lr = degrade(hr, 4, kind)
    assert lr.shape == (2, 3, 1024) and lr.dtype == np.float32
    np.testing.assert_allclose(lr[1, 2], degrade(hr[1, 2], 4, kind), atol=1e-6)


@pytest.mark.parametrize("kind", FLAT_LOWPASS)
def test_degrade_keeps_hr_samples_0_r_2r_without_delay(kind: str) -> None:
    # A pass-band tone (32 HR samples a period) comes through zero-phase at ~unit gain, so LR sample n
    # matches HR sample 4n; a one-sample shift would miss by ~0.2.
    hr = tone(500, 16000)
    np.testing.assert_allclose(interior(degrade(hr, 4, kind)), interior(hr[::4]), atol=0.02)


def test_degrade_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match="trim it to a multiple of 4"):
        degrade(np.zeros(4098), 4)
    with pytest.raises(ValueError, match="cheby1, decimate, stft, sinc"):
        degrade(np.zeros(4096), 4, kind="butterworth")
    with pytest.raises(ValueError, match="spline, sinc, linear"):
        upsample(np.zeros(1024), 4, kind="cubic")


@pytest.mark.parametrize("kind", UPSAMPLER_KINDS)
def test_upsample_length_numpy_and_torch(kind: str) -> None:
    lr = np.random.default_rng(1).standard_normal((2, 1, 500)).astype(np.float32)
    out = upsample(lr, 6, kind)
    assert out.shape == (2, 1, 3000) and out.dtype == np.float32
    for dtype in (torch.float32, torch.float64):
        out_t = upsample(torch.from_numpy(lr).to(dtype), 6, kind)
        assert isinstance(out_t, torch.Tensor) and out_t.dtype == dtype and out_t.shape == (2, 1, 3000)
        np.testing.assert_allclose(out_t.numpy(), out, atol=1e-5)


@pytest.mark.parametrize("kind", ["spline", "sinc"])
def test_low_tone_survives_degrade_and_upsample(kind: str) -> None:
    hr = tone(200, 16000)
    assert snr_db(hr, upsample(degrade(hr, 4), 4, kind)) > 30


@pytest.mark.parametrize("kind", ["spline", "linear"])
def test_lr_samples_are_reproduced_at_hr_indices_0_r_2r(kind: str) -> None:
    lr = np.random.default_rng(2).standard_normal((3, 200))
    np.testing.assert_allclose(upsample(lr, 4, kind)[..., ::4], lr, atol=1e-10)


def test_linear_upsample_of_a_ramp_is_exact() -> None:
    ramp = 0.3 + 0.01 * np.arange(4000)
    # Interior points interpolate the line; the extrapolated tail continues it.
    np.testing.assert_allclose(upsample(ramp[::4], 4, "linear"), ramp, atol=1e-9)


def test_cutoff_bin_is_the_first_bin_at_or_above_the_low_nyquist() -> None:
    assert cutoff_bin(2048, 4) == 256  # exactly 2 kHz at 16 kHz
    assert cutoff_bin(1024, 6) == 86  # 85.33 rounds up: bin 85 (1992 Hz at 24 kHz) is below 2 kHz


@pytest.mark.parametrize("method_class", [Spline, Sinc, Linear])
def test_interpolation_methods_are_upsample_behind_the_method_interface(method_class: type) -> None:
    protocol = Protocol(scale=4, target_sr=16000)
    method = method_class(method_class.config_for("quick"), protocol)
    lr = torch.randn(2, 1, 300)
    out = method.enhance(lr)
    assert out.shape == (2, 1, 1200) and out.dtype == torch.float32
    torch.testing.assert_close(out, upsample(lr, 4, method_class.kind))
