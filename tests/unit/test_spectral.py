"""bench.metrics.spectral against values worked out independently: by hand, or by a plain numpy reference
that frames, windows and FFTs explicitly (nothing shared with the torch code under test)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bench import metrics
from bench.metrics import spectral
from bench.metrics import METRIC_NAMES, bootstrap_ci, lsd, lsd_hf, lsd_lf, score, si_sdr, snr

N_FFT, HOP = 2048, 512


def _noise(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _ref_log_power(x: np.ndarray) -> np.ndarray:
    """log10(max(|X|^2, 1e-8)) of one 1-D signal: (T,) -> (frames, 1025), numpy only.

    Reflect-pads n_fft//2 on both sides, cuts frames every HOP samples (1 + T // HOP of them),
    multiplies by the periodic Hann window 0.5 - 0.5 cos(2 pi n / N) and takes the real FFT.
    """
    pad = N_FFT // 2
    xp = np.pad(x, pad, mode="reflect")
    n_frames = 1 + len(x) // HOP
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    frames = np.stack([xp[i * HOP : i * HOP + N_FFT] for i in range(n_frames)]) * window
    power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2
    return np.log10(np.maximum(power, 1e-8))


def _ref_lsd(est: np.ndarray, ref: np.ndarray, lo: int = 0, hi: int = N_FFT // 2 + 1) -> float:
    """NU-Wave LSD over bins [lo, hi) of one pair, numpy only."""
    d = (_ref_log_power(ref) - _ref_log_power(est))[:, lo:hi]
    return float(np.mean(np.sqrt(np.mean(d**2, axis=1))))


# ---------------------------------------------------------------- identical signals, silence


def test_identical_signals():
    x = _noise(8000)
    out = score(x, x, 8000, 16000)
    assert np.isposinf(out["snr"]).all()
    assert out["lsd"][0] == 0.0 and out["lsd_hf"][0] == 0.0 and out["lsd_lf"][0] == 0.0
    assert np.isposinf(out["si_sdr"]).all() or out["si_sdr"][0] > 200


def test_digital_silence():
    z = np.zeros(4000)
    out = score(z, z, 8000, 16000)
    assert out["lsd"][0] == 0.0 and out["lsd_hf"][0] == 0.0 and out["lsd_lf"][0] == 0.0
    # Documented: a silent reference makes SNR and SI-SDR undefined -> NaN, whatever est is.
    assert np.isnan(out["snr"]).all() and np.isnan(out["si_sdr"]).all()
    assert np.isnan(snr(_noise(4000), z)).all()


# ---------------------------------------------------------------- SNR, SI-SDR by hand


def test_snr_exactly_20_db():
    ref = _noise(3, 5000)
    noise = _noise(3, 5000, seed=1)
    noise *= (np.linalg.norm(ref, axis=1) / 10 / np.linalg.norm(noise, axis=1))[:, None]
    np.testing.assert_allclose(snr(ref + noise, ref), [20.0] * 3, atol=1e-9)


def test_snr_of_scaled_copy():
    # est = 0.5 ref -> error = 0.5 ref -> 20 log10(2) dB
    ref = _noise(5000)
    np.testing.assert_allclose(snr(0.5 * ref, ref), [20 * math.log10(2)], rtol=1e-12)


def test_si_sdr_scaled_copy_is_infinite():
    ref = _noise(5000)
    val = si_sdr(2.0 * ref, ref)[0]
    assert np.isposinf(val) or val > 200


def _zero_mean_pair_with_orthogonal_error(ratio_db: float) -> tuple[np.ndarray, np.ndarray]:
    """ref (zero mean) and e (zero mean, orthogonal to ref) with ||ref||^2 / ||e||^2 = 10^(ratio_db/10)."""
    ref = _noise(6000, seed=2)
    ref -= ref.mean()
    e = _noise(6000, seed=3)
    e -= e.mean()
    e -= (e @ ref) / (ref @ ref) * ref
    e *= np.linalg.norm(ref) / np.linalg.norm(e) / 10 ** (ratio_db / 20)
    return ref, e


def test_si_sdr_orthogonal_error_known_value():
    ref, e = _zero_mean_pair_with_orthogonal_error(10.0)
    np.testing.assert_allclose(si_sdr(ref + e, ref), [10.0], atol=1e-9)
    # Scale invariance and mean removal: gain and DC offset on est change nothing.
    np.testing.assert_allclose(si_sdr(3.0 * (ref + e) + 5.0, ref), [10.0], atol=1e-9)
    np.testing.assert_allclose(si_sdr(ref + e, ref + 1.0), [10.0], atol=1e-9)


# ---------------------------------------------------------------- LSD


@pytest.mark.parametrize("gain", [10.0, 0.5])
def test_lsd_constant_gain(gain: float):
    # Every bin's power scales by g^2, so every log10 differs by exactly 2 log10 g (no bin of unit
    # white noise over 2048 Hann-windowed samples comes near the 1e-8 floor).
    ref = _noise(2, 12000)
    np.testing.assert_allclose(lsd(gain * ref, ref), [abs(2 * math.log10(gain))] * 2, rtol=1e-10)


def test_lsd_zero_estimate_matches_numpy_reference():
    ref = _noise(10000) * 0.3
    expected = _ref_lsd(np.zeros_like(ref), ref)
    # Sanity of the reference itself: est clamps to -8 everywhere, so per frame the distance is
    # sqrt(mean (log10 P_ref + 8)^2), with log10 P_ref around 2 for this level: around 10.
    assert 8 < expected < 12
    np.testing.assert_allclose(lsd(np.zeros_like(ref), ref), [expected], rtol=1e-10)


def test_lsd_general_pair_matches_numpy_reference():
    ref = _noise(7777, seed=4)
    est = ref + 0.3 * _noise(7777, seed=5)
    out = score(est, ref, 16000, 48000)
    split = int(1025 * 16000 / 48000)
    np.testing.assert_allclose(out["lsd"], [_ref_lsd(est, ref)], rtol=1e-10)
    np.testing.assert_allclose(out["lsd_hf"], [_ref_lsd(est, ref, lo=split)], rtol=1e-10)
    np.testing.assert_allclose(out["lsd_lf"], [_ref_lsd(est, ref, hi=split)], rtol=1e-10)


def test_lowpassed_estimate_loses_only_the_high_band():
    ref = _noise(16000, seed=6)
    spectrum = np.fft.rfft(ref)
    spectrum[len(spectrum) // 2 :] = 0  # brick-wall at a quarter of the rate: the 8 -> 16 kHz case
    est = np.fft.irfft(spectrum, n=len(ref))
    out = score(est, ref, 8000, 16000)
    # Only the few LF bins next to the cut-off see the removed band through the window's main lobe.
    assert out["lsd_lf"][0] < 0.1
    assert out["lsd_hf"][0] > 3.0


def _cosine_on_bin(k0: int, n: int) -> np.ndarray:
    """cos(2 pi k0 t / N) with n = 1024 m + 1 samples.

    Each frame holds whole cycles and the signal is symmetric about both ends, so reflect padding
    continues it seamlessly: in every frame its Hann-windowed spectrum is exactly bins k0-1..k0+1.
    """
    assert (n - 1) % (N_FFT // 2) == 0
    return np.cos(2 * np.pi * k0 * np.arange(n) / N_FFT)


def test_band_split_is_int_of_1025_low_over_target():
    # 16 -> 48 kHz: split = int(341.67) = 341 (rounding would give 342).
    low_sr, target_sr, n = 16000, 48000, 1024 * 12 + 1
    ref = _noise(n, seed=7)
    # Bins 341..343 differ: all in HF only if the split is <= 341.
    est = ref + 5.0 * _cosine_on_bin(342, n)
    assert lsd_lf(est, ref, low_sr, target_sr)[0] < 1e-9
    assert lsd_hf(est, ref, low_sr, target_sr)[0] > 0.01
    # Bins 338..340 differ: all in LF only if the split is >= 341.
    est = ref + 5.0 * _cosine_on_bin(339, n)
    assert lsd_hf(est, ref, low_sr, target_sr)[0] < 1e-9
    assert lsd_lf(est, ref, low_sr, target_sr)[0] > 0.01


def test_lsd_band_split_rejects_bad_rates():
    x = _noise(4000)
    with pytest.raises(ValueError, match="low_sr"):
        lsd_hf(x, x, 16000, 16000)
    with pytest.raises(ValueError, match="low_sr"):
        score(x, x, 0, 16000)


# ---------------------------------------------------------------- shapes, types, errors


def test_batch_equals_items_and_shapes():
    ref = _noise(3, 6000, seed=8)
    est = ref + 0.2 * _noise(3, 6000, seed=9)
    batched = score(est, ref, 4000, 16000)
    assert list(batched) == list(METRIC_NAMES)
    for i in range(3):
        single = score(est[i], ref[i], 4000, 16000)
        for name in METRIC_NAMES:
            assert single[name].shape == (1,) and single[name].dtype == np.float64
            np.testing.assert_allclose(batched[name][i], single[name][0], rtol=1e-12)
    for name in METRIC_NAMES:
        assert batched[name].shape == (3,) and batched[name].dtype == np.float64


def test_torch_and_channel_dim_inputs_agree_with_numpy():
    ref = _noise(2, 5000, seed=10)
    est = ref + 0.2 * _noise(2, 5000, seed=11)
    expected = score(est, ref, 8000, 16000)
    from_torch = score(torch.from_numpy(est), torch.from_numpy(ref), 8000, 16000)
    with_channel = score(torch.from_numpy(est)[:, None], torch.from_numpy(ref)[:, None], 8000, 16000)
    for name in METRIC_NAMES:
        np.testing.assert_array_equal(from_torch[name], expected[name])
        np.testing.assert_array_equal(with_channel[name], expected[name])
    # The single metrics agree with score's shared-STFT results (up to summation order).
    singles = {
        "snr": snr(est, ref), "lsd": lsd(est, ref), "lsd_hf": lsd_hf(est, ref, 8000, 16000),
        "lsd_lf": lsd_lf(est, ref, 8000, 16000), "si_sdr": si_sdr(est, ref),
        "lsd_kuleshov": lsd(est, ref, "kuleshov"), "lsd_ssr_eval": lsd(est, ref, "ssr_eval", sr=16000),
    }
    for name in METRIC_NAMES:
        np.testing.assert_allclose(singles[name], expected[name], rtol=1e-12)


def test_float32_and_grad_tensors_are_accepted():
    ref = torch.randn(2, 3000, generator=torch.Generator().manual_seed(0))
    est = (ref + 0.1).requires_grad_()
    out = score(est, ref, 8000, 16000)
    np.testing.assert_allclose(out["snr"], snr(est.detach().double().numpy(), ref.double().numpy()))


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3000\).*\(2, 3001\)"):
        snr(np.zeros((2, 3000)), np.zeros((2, 3001)))


@pytest.mark.parametrize("bad", [(2, 2, 3000), (1, 1, 1, 3000)])
def test_bad_rank_or_channels(bad: tuple[int, ...]):
    with pytest.raises(ValueError, match="shape"):
        snr(np.ones(bad), np.ones(bad))


@pytest.mark.parametrize(
    ("which", "value", "message"),
    [("est", np.nan, "estimate contains NaN"), ("ref", np.inf, "reference contains inf"),
     ("est", -np.inf, "estimate contains inf"), ("ref", np.nan, "reference contains NaN")],
)
def test_non_finite_input(which: str, value: float, message: str):
    est, ref = np.ones(3000), np.ones(3000)
    (est if which == "est" else ref)[10] = value
    with pytest.raises(ValueError, match=message):
        score(est, ref, 8000, 16000)


def test_too_short_for_lsd():
    x = _noise(1024)
    with pytest.raises(ValueError, match="at least 1025 samples"):
        lsd(x, x)
    # 1025 is the minimum that reflect padding of 1024 allows.
    assert lsd(_noise(1025), _noise(1025, seed=1))[0] > 0
    # SNR alone has no length minimum.
    assert snr(x, x).shape == (1,)
    assert spectral.MIN_LENGTH == 1025


# ---------------------------------------------------------------- bootstrap_ci


def test_bootstrap_constant_values():
    assert bootstrap_ci(np.full(20, 2.5)) == (2.5, 2.5, 2.5)
    mean, lo, hi = bootstrap_ci([0.1, 0.1, 0.1])
    assert mean == pytest.approx(0.1, rel=1e-15) and lo == mean and hi == mean


def test_bootstrap_mean_interval_and_determinism():
    values = _noise(200, seed=12) + 3.0
    mean, lo, hi = bootstrap_ci(values, n_boot=2000)
    assert mean == pytest.approx(values.mean(), rel=1e-14)
    assert lo <= mean <= hi
    # Standard error of the mean is about 1/sqrt(200) = 0.071: a 95% CI is about +-1.96 of that.
    assert 0.2 < hi - lo < 0.36
    assert bootstrap_ci(values, n_boot=2000) == (mean, lo, hi)
    assert bootstrap_ci(values, n_boot=2000, seed=1) != (mean, lo, hi)
    narrow = bootstrap_ci(values, n_boot=2000, level=0.5)
    assert lo < narrow[1] <= narrow[2] < hi


def test_bootstrap_ignores_non_finite_values():
    assert bootstrap_ci([1.0, np.nan, 3.0, np.inf, -np.inf])[0] == 2.0
    assert bootstrap_ci([7.0, np.nan]) == (7.0, 7.0, 7.0)
    assert all(math.isnan(v) for v in bootstrap_ci([np.nan, np.inf]))


# ---------------------------------------------------------------- LSD conventions: kuleshov, ssr_eval


def _hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic (scipy/librosa "hann", fftbins=True)


def _ref_power(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2 of one 1-D signal, numpy only: centred reflect padding, periodic Hann. -> (frames, bins)."""
    xp = np.pad(x, n_fft // 2, mode="reflect")
    n_frames = 1 + (len(xp) - n_fft) // hop
    frames = np.stack([xp[i * hop : i * hop + n_fft] for i in range(n_frames)]) * _hann(n_fft)
    return np.abs(np.fft.rfft(frames, axis=-1)) ** 2


def _ref_kuleshov(est: np.ndarray, ref: np.ndarray) -> float:
    """TFiLM's compute_log_distortion written out: ln(P + 1e-8), time mean first, + 1e-8, sqrt, bin mean."""
    s1, s2 = (np.log(_ref_power(x, 2048, 512) + 1e-8) for x in (ref, est))  # (frames, bins)
    return float(np.mean(np.sqrt(np.mean((s1 - s2) ** 2, axis=0) + 1e-8)))


def _ref_ssr_eval(est: np.ndarray, ref: np.ndarray, sr: int) -> float:
    """ssr_eval's AudioMetrics.lsd written out on magnitudes, with its n_fft and hop for ``sr``."""
    n_fft, hop = int(2048 / (44100 / sr)), int(sr / 100)
    target, estimate = (np.sqrt(_ref_power(x, n_fft, hop)) for x in (ref, est))
    d = np.log10(target**2 / (estimate + 1e-12) ** 2 + 1e-12) ** 2
    return float(np.mean(np.sqrt(np.mean(d, axis=1))))


def test_lsd_conventions_are_named_and_default_is_nuwave():
    assert metrics.LSD_CONVENTIONS == ("nuwave", "kuleshov", "ssr_eval")
    assert metrics.LSD_COLUMN == {"nuwave": "lsd", "kuleshov": "lsd_kuleshov", "ssr_eval": "lsd_ssr_eval"}
    ref, est = _noise(6000, seed=20), _noise(6000, seed=21)
    np.testing.assert_array_equal(lsd(est, ref), lsd(est, ref, "nuwave"))
    with pytest.raises(ValueError, match="unknown LSD convention 'kuleshov2'"):
        lsd(est, ref, "kuleshov2")
    with pytest.raises(ValueError, match="needs the sample rate"):
        lsd(est, ref, "ssr_eval")


@pytest.mark.parametrize("gain", [10.0, 0.5])
def test_kuleshov_constant_gain_by_hand(gain: float):
    # Every bin: ln(g^2 P + 1e-8) - ln(P + 1e-8) = 2 ln g (to ~1e-9: P >> 1e-8 here), constant over time, so
    # each bin gives sqrt(4 ln^2 g + 1e-8) and so does their mean: natural log, not log10.
    ref = _noise(2, 12000, seed=22)
    expected = math.sqrt((2 * math.log(gain)) ** 2 + 1e-8)
    np.testing.assert_allclose(lsd(gain * ref, ref, "kuleshov"), [expected] * 2, rtol=1e-8)
    # ln 10 times the nuwave value (up to the 1e-8 under the root).
    np.testing.assert_allclose(lsd(gain * ref, ref, "kuleshov"), math.log(10) * lsd(gain * ref, ref), rtol=1e-8)


def test_kuleshov_identical_signals_give_the_root_of_its_epsilon():
    x = _noise(5000, seed=23)
    np.testing.assert_allclose(lsd(x, x, "kuleshov"), [1e-4], rtol=1e-12)


def test_kuleshov_takes_the_time_mean_first():
    # A difference in a few frames only: mean over time first (kuleshov) spreads it over all bins,
    # frequency first (nuwave) concentrates it in a few frames. The numpy reference decides.
    n = 1024 * 20 + 1
    ref = _noise(n, seed=24)
    est = ref.copy()
    est[6000:9000] *= 8.0
    got = lsd(est, ref, "kuleshov")[0]
    np.testing.assert_allclose(got, _ref_kuleshov(est, ref), rtol=1e-10)
    # Not the other order: sqrt(mean over bins) per frame, then the frame mean, in natural log.
    s1, s2 = (np.log(_ref_power(x, 2048, 512) + 1e-8) for x in (ref, est))
    other_order = float(np.mean(np.sqrt(np.mean((s1 - s2) ** 2, axis=1) + 1e-8)))
    assert abs(got - other_order) > 0.1


def test_kuleshov_general_pair_matches_numpy_reference():
    ref = _noise(7777, seed=25) * 0.2
    est = ref + 0.3 * _noise(7777, seed=26)
    np.testing.assert_allclose(lsd(est, ref, "kuleshov"), [_ref_kuleshov(est, ref)], rtol=1e-10)
    zero = np.zeros_like(ref)
    np.testing.assert_allclose(lsd(zero, ref, "kuleshov"), [_ref_kuleshov(zero, ref)], rtol=1e-10)


def test_ssr_eval_stft_parameters_follow_the_rate():
    assert metrics.ssr_eval_stft(44100) == (2048, 441)
    assert metrics.ssr_eval_stft(16000) == (743, 160)  # int(743.03)
    assert metrics.ssr_eval_stft(24000) == (1114, 240)
    assert metrics.ssr_eval_stft(48000) == (2229, 480)
    with pytest.raises(ValueError, match="positive integer"):
        metrics.ssr_eval_stft(0)


@pytest.mark.parametrize("gain", [10.0, 0.5])
def test_ssr_eval_constant_gain_by_hand(gain: float):
    # M_est = g M_ref in every bin: log10(1/g^2 + 1e-12)^2 = (2 log10 g)^2 per bin, so |2 log10 g|.
    ref = _noise(2, 12000, seed=27)
    np.testing.assert_allclose(lsd(gain * ref, ref, "ssr_eval", sr=16000), [abs(2 * math.log10(gain))] * 2,
                               rtol=1e-9)


def test_ssr_eval_silence_scores_twelve_by_hand():
    # Both silent: every bin is log10(0 / (0 + 1e-12)^2 + 1e-12)^2 = (-12)^2, root 12. (nuwave gives 0.)
    z = np.zeros(4000)
    np.testing.assert_allclose(lsd(z, z, "ssr_eval", sr=16000), [12.0], rtol=1e-12)
    assert lsd(z, z)[0] == 0.0


@pytest.mark.parametrize("sr", [16000, 24000, 48000])
def test_ssr_eval_matches_numpy_reference(sr: int):
    ref = _noise(int(0.7 * sr) + 3, seed=28) * 0.1
    est = ref + 0.05 * _noise(len(ref), seed=29)
    np.testing.assert_allclose(lsd(est, ref, "ssr_eval", sr=sr), [_ref_ssr_eval(est, ref, sr)], rtol=1e-10)


def test_conventions_match_librosa_written_as_the_original_code():
    """The two original snippets, with librosa.stft as they call it (pad_mode="reflect": librosa < 0.10)."""
    librosa = pytest.importorskip("librosa")
    sr = 16000
    ref = _noise(9000, seed=30).astype(np.float64) * 0.1
    est = ref + 0.1 * _noise(9000, seed=31)
    # TFiLM: S = log(|stft(x, 2048)|^2 + 1e-8) as (bins, frames); mean over axis 1 (time), sqrt, mean.
    s1, s2 = (np.log(np.abs(librosa.stft(x, n_fft=2048, pad_mode="reflect")) ** 2 + 1e-8) for x in (ref, est))
    kuleshov = np.mean(np.sqrt(np.mean((s1 - s2) ** 2 + 1e-8, axis=1)), axis=0)
    # ssr_eval: magnitudes transposed to (frames, bins); mean over bins, root, mean over frames.
    stft = dict(hop_length=int(sr / 100), n_fft=int(2048 / (44100 / sr)), pad_mode="reflect")
    t, e = (np.abs(librosa.stft(x, **stft)).T for x in (ref, est))
    ssr = np.mean(np.mean(np.log10(t**2 / (e + 1e-12) ** 2 + 1e-12) ** 2, axis=1) ** 0.5)
    np.testing.assert_allclose(lsd(est, ref, "kuleshov"), [kuleshov], rtol=1e-9)
    np.testing.assert_allclose(lsd(est, ref, "ssr_eval", sr=sr), [ssr], rtol=1e-9)


def test_conventions_differ_on_the_same_audio():
    ref = _noise(16000, seed=32)
    spectrum = np.fft.rfft(ref)
    spectrum[len(spectrum) // 2 :] = 0
    est = np.fft.irfft(spectrum, n=len(ref))  # the 8 -> 16 kHz "unprocessed" case
    out = score(est, ref, 8000, 16000)
    assert out["lsd_kuleshov"][0] > 1.5 * out["lsd"][0]
    assert abs(out["lsd_ssr_eval"][0] - out["lsd"][0]) > 0.1


def test_ssr_eval_too_short_names_its_fft():
    with pytest.raises(ValueError, match="ssr_eval at 48000 Hz: n_fft=2229.*at least 1115 samples"):
        lsd(_noise(1100), _noise(1100, seed=1), "ssr_eval", sr=48000)


# ---------------------------------------------------------------- per-band LSD


def test_band_edges():
    assert metrics.band_bins() == [0, 128, 256, 384, 512, 640, 768, 896, 1025]
    assert metrics.band_edges_hz(16000) == [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000]
    assert metrics.band_edges_hz(24000)[-1] == 12000


def test_band_lsd_matches_numpy_reference_and_localises_a_difference():
    n = 1024 * 12 + 1
    ref = _noise(n, seed=33)
    est = ref + 5.0 * _cosine_on_bin(300, n)  # bins 299..301: band 2 (256..383) only
    bands = metrics.lsd_bands(est, ref)[0]
    edges = metrics.band_bins()
    expected = [_ref_lsd(est, ref, lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(bands, expected, rtol=1e-10, atol=1e-12)
    assert bands[2] > 0.01 and np.delete(bands, 2).max() < 1e-9
    out = score(est, ref, 8000, 16000, bands=True)
    assert list(out) == [*METRIC_NAMES, *metrics.BAND_NAMES]
    np.testing.assert_allclose([out[b][0] for b in metrics.BAND_NAMES], bands, rtol=1e-12, atol=1e-15)
