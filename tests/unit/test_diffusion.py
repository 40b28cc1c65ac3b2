"""The diffusion core of NU-Wave / NU-Wave 2: schedules, sampler algebra, seeded sampling, the models."""
import math
from dataclasses import replace

import pytest
import torch

from bench.core.spec import Protocol
from bench.signal.degrade import cutoff_bin
from methods import load_method_class
from methods.common.diffusion import (LinearBetaSchedule, LogSNRSchedule, diffuse, noise_loss, reverse_step,
                                         sample)
from methods.baselines.nuwave import NUWAVE_INFER_BETAS
from methods.baselines.nuwave2 import NUWAVE2_INFER_LOGSNR, band_vector
from methods.common.band_limit import band_limited, resample_round_trip

PROTO = Protocol(4, 16000)


def nuwave_schedule() -> LinearBetaSchedule:
    return LinearBetaSchedule(1e-6, 0.006, 1000, NUWAVE_INFER_BETAS)


def nuwave2_schedule() -> LogSNRSchedule:
    return LogSNRSchedule(-20.0, 20.0, NUWAVE2_INFER_LOGSNR)


def oracle(x0: torch.Tensor):
    """The denoiser that knows the clean signal: returns the true noise of y at level abar."""
    def denoise(y, abar):
        a = abar.view(-1, 1, 1).to(y.dtype)
        return (y - a.sqrt() * x0) / (1 - a).sqrt()
    return denoise


# --- schedules ------------------------------------------------------------------------------------

def test_nuwave_schedule_is_monotone_with_published_endpoints():
    s = nuwave_schedule()
    betas = 1 - (s.sqrt_abar[1:] / s.sqrt_abar[:-1]).square()
    assert betas[0].item() == pytest.approx(1e-6, rel=1e-6) and betas[-1].item() == pytest.approx(0.006, rel=1e-6)
    assert len(betas) == 1000 and (betas.diff() > 0).all()
    assert (s.sqrt_abar.diff() < 0).all() and s.sqrt_abar[0] == 1
    levels = s.inference_levels()
    assert len(levels) == 9 and (levels.diff() > 0).all() and levels[-1] == 1.0  # noisiest first, ends clean
    assert levels[0].item() == pytest.approx(math.prod(1 - b for b in NUWAVE_INFER_BETAS))


def test_nuwave2_schedule_is_monotone_with_published_endpoints():
    s = nuwave2_schedule()
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    logsnr = s.logsnr(t)
    assert logsnr[0].item() == pytest.approx(20.0) and logsnr[-1].item() == pytest.approx(-20.0)
    assert (logsnr.diff() < 0).all()
    levels = s.inference_levels()
    assert (levels.diff() > 0).all() and levels[-1].item() == pytest.approx(torch.sigmoid(torch.tensor(20.0)).item())
    assert s.network_input(levels[:1].float()).item() == pytest.approx((20 + 2.6) / 40, abs=1e-4)


@pytest.mark.parametrize("make", [nuwave_schedule, nuwave2_schedule])
def test_training_levels_cover_the_schedule(make):
    torch.manual_seed(0)
    levels = make().training_levels(4096, torch.device("cpu"))
    assert ((levels > 0) & (levels <= 1)).all() and levels.min() < 0.1 and levels.max() > 0.999


# --- sampler algebra ------------------------------------------------------------------------------

@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_one_step_from_the_noisiest_level_with_the_true_noise_returns_the_clean_signal(eta):
    torch.manual_seed(0)
    x0, eps = torch.randn(2, 1, 512) * 0.3, torch.randn(2, 1, 512)
    for abar_t in (nuwave_schedule().inference_levels()[0].item(), nuwave2_schedule().inference_levels()[0].item()):
        y = diffuse(x0, torch.full((2,), abar_t), eps)
        out = reverse_step(y, eps, abar_t, 1.0, eta, torch.Generator().manual_seed(0))
        torch.testing.assert_close(out, x0, atol=1e-5, rtol=0)


@pytest.mark.parametrize("make, eta", [(nuwave_schedule, 1.0), (nuwave2_schedule, 0.0)])
@pytest.mark.parametrize("start_step", [None, 1, 3])
def test_the_sampler_with_an_oracle_denoiser_recovers_the_signal(make, eta, start_step):
    torch.manual_seed(0)
    x0 = torch.randn(2, 1, 512) * 0.3
    out = sample(oracle(x0), x0, make().inference_levels(), eta, torch.Generator().manual_seed(0), start_step)
    torch.testing.assert_close(out, x0, atol=1e-3, rtol=0)


def test_start_step_runs_the_last_k_steps_from_the_diffused_condition():
    levels, seen = nuwave_schedule().inference_levels(), []

    def denoise(y, abar):
        seen.append(abar[0].item())
        return torch.zeros_like(y)

    sample(denoise, torch.zeros(1, 1, 64), levels, 1.0, torch.Generator().manual_seed(0), start_step=3)
    assert seen == pytest.approx(levels[-4:-1].tolist())
    with pytest.raises(ValueError, match="start_step"):
        sample(denoise, torch.zeros(1, 1, 64), levels, 1.0, torch.Generator(), start_step=9)


def test_noise_losses():
    eps = torch.zeros(2, 1, 8)
    err = torch.full((2, 1, 8), 0.5)
    assert noise_loss(err, eps, "l1").item() == pytest.approx(0.5)
    assert noise_loss(err, eps, "lognorm").item() == pytest.approx(math.log(0.5))
    with pytest.raises(ValueError, match="lognorm or l1"):
        noise_loss(err, eps, "l2")


# --- the methods ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["nuwave", "nuwave2"])
def test_a_fixed_seed_reproduces_a_sample_exactly(name):
    cls = load_method_class(name)
    torch.manual_seed(0)
    method = cls(cls.config_for("smoke"), PROTO)
    twin = cls(cls.config_for("smoke"), PROTO)
    twin.load_state_dict(method.state_dict())
    lr = torch.randn(2, 1, 600) * 0.1
    method.reseed(7)
    twin.reseed(7)
    first = method.enhance(lr)
    torch.manual_seed(123)  # the global RNG plays no part in sampling
    assert torch.equal(first, method.enhance(lr)) and torch.equal(first, twin.enhance(lr))
    method.reseed(8)
    assert not torch.equal(first, method.enhance(lr))
    assert first.abs().max() <= 1.0  # clip_output


@pytest.mark.parametrize("name, steps", [("nuwave", 8), ("nuwave2", 8)])
def test_paper_profile_builds_and_samples_from_noise(name, steps):
    cls = load_method_class(name)
    method = cls(cls.config_for("paper"), Protocol(2, 48000))
    assert method.config.start_step is None and method.inference_steps == steps
    out = method.enhance(torch.randn(1, 1, 1024) * 0.1)
    assert out.shape == (1, 1, 2048) and torch.isfinite(out).all()


@pytest.mark.parametrize("profile, steps", [("quick", 8), ("smoke", 8)])
def test_profiles_report_their_steps(profile, steps):
    for name in ("nuwave", "nuwave2"):
        cls = load_method_class(name)
        assert cls(cls.config_for(profile), PROTO).inference_steps == steps


def test_quietest_nuwave2_training_levels_keep_their_noise_and_a_finite_network_input():
    """log-SNR 20 is abar = 1 - 2e-9, exactly 1 in float32: the level must stay float64 until used."""
    s = nuwave2_schedule()
    abar = torch.sigmoid(torch.tensor([20.0], dtype=torch.float64))
    assert s.network_input(abar).item() == pytest.approx(0.0, abs=1e-9)
    x0, eps = torch.full((1, 1, 4), 0.5), torch.ones(1, 1, 4)
    # sqrt(1 - abar) = sqrt(sigmoid(-20)) = 4.54e-5 of noise on top of the signal, not 0
    assert (diffuse(x0, abar, eps) - x0).mean().item() == pytest.approx(math.exp(-10), rel=1e-3)


def test_low_band_projection_keeps_the_measured_band_and_the_noisy_signal():
    """reverse_step's projection: the projected x0 estimate has the observation's low DFT band and
    the estimate's high band; with eta = 0 and abar_s = 1 the step returns that projection."""
    torch.manual_seed(0)
    y, eps_hat, observed = torch.randn(1, 1, 256), torch.randn(1, 1, 256), torch.randn(1, 1, 256)

    def project(x0):
        spec, obs = torch.fft.rfft(x0), torch.fft.rfft(observed)
        spec[..., :32] = obs[..., :32]
        return torch.fft.irfft(spec, n=256)

    abar_t = 0.5
    out = reverse_step(y, eps_hat, abar_t, 1.0, 0.0, None, project)
    x0_hat = (y - math.sqrt(1 - abar_t) * eps_hat) / math.sqrt(abar_t)
    spec_out = torch.fft.rfft(out)
    torch.testing.assert_close(spec_out[..., :32], torch.fft.rfft(observed)[..., :32], atol=1e-4, rtol=0)
    torch.testing.assert_close(spec_out[..., 32:], torch.fft.rfft(x0_hat)[..., 32:], atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["nuwave", "nuwave2"])
def test_residual_models_diffuse_hr_minus_lr_and_keep_the_lr_band(name):
    """quick/smoke: the target is gain * (HR - upsampled LR); a sample's DFT bins below the LR Nyquist
    are the upsampled LR's whatever the (untrained) network does."""
    cls = load_method_class(name)
    torch.manual_seed(0)
    method = cls(cls.config_for("smoke"), PROTO)
    gain = method.config.residual_gain
    hr, cond = torch.randn(2, 1, 400), torch.randn(2, 1, 400)
    signal = method.signal_of((cond, None)) if name == "nuwave2" else cond
    torch.testing.assert_close(method.diffused_target(hr, (cond, None) if name == "nuwave2" else cond),
                               gain * (hr - signal))
    lr = torch.randn(1, 1, 300) * 0.05
    method.reseed(3)
    out = method.enhance(lr)
    up = method.upsampled(lr)
    k = cutoff_bin(out.shape[-1], PROTO.scale)
    torch.testing.assert_close(torch.fft.rfft(out.double())[..., :k], torch.fft.rfft(up.double())[..., :k],
                               atol=1e-3, rtol=0)
    assert (out - up).abs().max() > 1e-4  # and the band above is the model's, not the LR signal's


def test_nuwave2_band_and_band_limited_condition():
    band = band_vector(torch.tensor([0.25, 1.0]), 129)
    assert band.sum(1).tolist() == [32, 129]
    hr = torch.randn(2, 1, 4000)
    for resample in (False, True):
        out = band_limited(hr, torch.tensor([2000, 8000]), torch.tensor([8, 8]), torch.tensor([0.05, 0.05]), 16000,
                           resample)
        assert out.shape == hr.shape
        assert torch.equal(out[1], hr[1])  # a cut-off at Nyquist leaves the item as it is
        spec = torch.fft.rfft(out[0, 0]).abs()
        assert spec[1200:].pow(2).sum() < 1e-3 * spec[:900].pow(2).sum()  # above 0.25 x Nyquist: gone


@pytest.mark.parametrize("low_sr", [6000, 6002, 16000, 47998])
def test_resample_round_trip_is_scipys_resample_poly_down_and_up(low_sr):
    """The cached filter is resample_poly's own default design: the same numbers as two plain calls."""
    import numpy as np
    import scipy.signal

    x = np.random.default_rng(0).standard_normal(3000)
    reference = scipy.signal.resample_poly(scipy.signal.resample_poly(x, low_sr, 48000), 48000, low_sr)
    np.testing.assert_allclose(resample_round_trip(x, low_sr, 48000), reference[:3000], rtol=0, atol=1e-12)


def test_nuwave2_paper_conditions_alike_in_training_and_test():
    """paper: the training condition of an item cut at the protocol's rate is the resample_poly round trip
    of the Chebyshev-limited crop, and the test condition is resample_poly's upsampling of the LR."""
    import numpy as np
    import scipy.signal

    cls = load_method_class("nuwave2")
    proto = Protocol(3, 48000)
    method = cls(replace(cls.config_for("paper"), layers=1, channels=4, bsft_channels=4), proto)
    assert method.config.resample_condition and method.config.condition_upsampler == "sinc"
    lr = torch.randn(1, 1, 400, dtype=torch.float64)
    signal, band = method.condition(lr)
    torch.testing.assert_close(signal[0, 0].numpy(), scipy.signal.resample_poly(lr[0, 0].numpy(), 3, 1))
    assert band.sum().item() == int(513 / 3)
    hr = torch.randn(1, 1, 2400, dtype=torch.float64)
    ripple = torch.tensor([0.05], dtype=torch.float64)
    cond = band_limited(hr, torch.tensor([8000]), torch.tensor([8]), ripple, 48000, True)
    sos = scipy.signal.cheby1(8, 0.05, 8000 / 24000, output="sos")
    low = scipy.signal.resample_poly(scipy.signal.sosfiltfilt(sos, hr[0, 0].numpy()), 16000, 48000)
    np.testing.assert_allclose(cond[0, 0].numpy(), scipy.signal.resample_poly(low, 48000, 16000)[:2400],
                               rtol=0, atol=1e-10)


@pytest.mark.parametrize("name, batch", [("nuwave", 36), ("nuwave2", 24)])
def test_paper_configs_carry_the_official_training_recipe(name, batch):
    """maum-ai/nuwave(2) hparameter.yaml: batch per GPU x 2 GPUs; trainer.py: gradient_clip_val 0.5;
    dataloader.py: peak-normalised files, gain ~ U(0.5, 1), 32768-sample crops at 48 kHz."""
    train = load_method_class(name).config_for("paper").train
    assert train.batch_size == batch and train.grad_clip == 0.5
    assert train.peak_normalize and train.random_gain == (0.5, 1.0)
    assert round(train.crop_seconds * 48000) == 32768
    config = load_method_class(name).config_for("paper")
    assert config.condition_upsampler == {"nuwave": "linear", "nuwave2": "sinc"}[name]
    for profile in ("quick", "smoke"):  # measured without them: their documented deviations
        other = load_method_class(name).config_for(profile)
        assert other.condition_upsampler is None
        assert not other.train.peak_normalize and other.train.random_gain is None


@pytest.mark.parametrize("resample", [False, True])
@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_nuwave2_training_condition_mixes_protocol_and_random_bandwidths(fraction, resample):
    from methods.api import Batch

    cls = load_method_class("nuwave2")
    method = cls(replace(cls.config_for("smoke"), protocol_fraction=fraction, resample_condition=resample), PROTO)
    torch.manual_seed(0)
    batch = Batch(lr=torch.randn(4, 1, 250) * 0.1, hr=torch.randn(4, 1, 1000) * 0.1)
    cond, band = method.training_condition(batch)
    n_proto = round(fraction * 4)
    assert cond.shape == batch.hr.shape and band.shape == (4, method.config.n_fft // 2 + 1)
    torch.testing.assert_close(cond[:n_proto], method.upsampled(batch.lr[:n_proto]))
    at_protocol = int(band.shape[1] / PROTO.scale)
    assert (band[:n_proto].sum(1) == at_protocol).all()
    assert (band[n_proto:].sum(1) >= int(method.config.min_cutoff * band.shape[1])).all()
    assert method.losses(batch)["loss"].isfinite()
