"""TFDFE-ASR blocks (methods/tfdfe/): framing, the spectral SWSRM and its von Mises phase, PixelShuffle, bicubic
pairs, windowed attention, dual regression, Eq. 14, the paper profile's settings, shapes."""
import math
from dataclasses import replace

import pytest
import torch

from bench.core.spec import Protocol
from methods.api import Batch
from methods.tfdfe.config import PAPER_SSRM_STEPS, PAPER_SWSRM_STEPS
from methods.tfdfe.model import TFDFE, TFDFESSRM, TFDFESWSRM, TFDFETanh
from methods.tfdfe.ssrm import DualDownsampler, SSRMConfig, SSRMNet, bicubic_downsample, log_power, pixel_shuffle_1d
from methods.tfdfe.swsrm import (SpectralSWSRM, SWSRMConfig, WaveformSWSRM, extrapolated_phase, frame_signal,
                                 kl_terms, overlap_add, von_mises_group_delay)
from methods.tfdfe.tfdfm import PyramidUnit, TanhFusion, WindowedAttention, window_mask

ROWS = [TFDFE, TFDFETanh, TFDFESWSRM, TFDFESSRM]
PROTOCOLS = [Protocol(2, 16000), Protocol(4, 16000), Protocol(6, 24000)]


# --- SWSRM, waveform reading: framing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [1, 7, 100, 1000, 1023])
@pytest.mark.parametrize("frame,hop", [(64, 32), (64, 16), (48, 36), (8, 6), (8, 1)])
def test_framing_and_overlap_add_reconstruct_exactly(length, frame, hop):
    x = torch.randn(3, 1, length, dtype=torch.float64)
    frames, left = frame_signal(x, frame, hop)
    assert frames.shape[-1] == frame
    torch.testing.assert_close(overlap_add(frames, hop, left, length), x, rtol=0, atol=1e-12)


def test_framing_needs_overlap():
    with pytest.raises(ValueError, match="overlap"):
        frame_signal(torch.zeros(1, 1, 10), 8, 8)


def _waveform_swsrm(**fields) -> WaveformSWSRM:
    return WaveformSWSRM(SWSRMConfig(domain="waveform", frame_ms=4.0, **fields), 16000)


def test_waveform_swsrm_with_the_vae_bypassed_is_the_identity():
    torch.manual_seed(0)
    module = _waveform_swsrm(channels=(4, 8), kernels=(7, 5), latent=4).eval()
    torch.nn.init.zeros_(module.vae.out.weight)
    torch.nn.init.zeros_(module.vae.out.bias)
    x = torch.randn(2, 1, 777)
    out = module(None, x)
    torch.testing.assert_close(out["y"], x, rtol=0, atol=1e-6)
    assert out["mu"].shape == out["logvar"].shape and out["mu"].shape[1:] == (4, module.frame // 4)


def test_waveform_swsrm_samples_in_training_and_uses_the_mean_at_inference():
    torch.manual_seed(0)
    module = _waveform_swsrm(channels=(4,), kernels=(3,), latent=2)
    torch.nn.init.normal_(module.vae.out.weight, std=0.5)
    x = torch.randn(1, 1, 300)
    module.eval()
    torch.testing.assert_close(module(None, x)["y"], module(None, x)["y"])
    module.train()
    assert not torch.equal(module(None, x)["y"], module(None, x)["y"])


# --- SWSRM, spectrum reading (section 3.1): von Mises phase, frequency vectors -------------------------------

def test_von_mises_mean_group_delay_and_extrapolation_by_hand():
    # bins 1, 1, i: group delays angle(1 * conj(1)) = 0 and angle(i * conj(1)) = pi / 2, weights
    # |X_k||X_k-1| = 1 and 1 -> the ML von Mises mean direction is angle(1 + i) = pi / 4; the two bins
    # above the band continue from the top bin's phase pi / 2 in steps of pi / 4: 3 pi / 4, then pi.
    low = torch.tensor([1, 1, 1j], dtype=torch.complex64).view(1, 3, 1)
    assert math.isclose(float(von_mises_group_delay(low)), math.pi / 4, rel_tol=1e-6)
    phase = extrapolated_phase(low, 2)[0, :, 0]
    torch.testing.assert_close(phase, torch.tensor([(-1 + 1j) / math.sqrt(2), -1], dtype=torch.complex64))
    # weights: a loud pair pulls the mean towards its group delay (angle(4 + i) for weights 4 and 1)
    weighted = torch.tensor([2, 2, 2j], dtype=torch.complex64).view(1, 3, 1) * torch.tensor([1, 1, 0.25]).view(1, 3, 1)
    assert math.isclose(float(von_mises_group_delay(weighted)), math.atan2(1, 4), rel_tol=1e-6)


def test_von_mises_extrapolation_continues_a_pulse_exactly():
    # the DFT of a pulse at sample t0 is exp(-2 pi i k t0 / n): linear phase, constant group delay
    n, t0, f = 64, 5, 12
    spec = torch.fft.rfft(torch.nn.functional.one_hot(torch.tensor(t0), n).double()).view(1, -1, 1)
    phase = extrapolated_phase(spec[:, :f], spec.shape[1] - f)
    torch.testing.assert_close(phase, spec[:, f:] / spec[:, f:].abs())


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"R{p.scale}")
def test_spectral_swsrm_keeps_the_measured_band_and_sums_kl_over_the_latent(protocol):
    torch.manual_seed(0)
    cfg = SWSRMConfig(frame_ms=16.0, channels=(4, 8), kernels=(7, 5), latent=3)
    module = SpectralSWSRM(cfg, protocol.scale, protocol.low_sr).eval()
    lr = torch.randn(2, 1, 700) * 0.1
    up = torch.nn.functional.interpolate(lr, scale_factor=protocol.scale, mode="linear")
    out = module(lr, up)
    f = module.bins
    measured = module.hr_grid.stft(up)
    assert out["y"].shape == up.shape and out["logp"].shape == measured.shape
    assert module.hr_grid.n_fft == protocol.scale * module.lr_grid.n_fft and f % 4 == 0
    torch.testing.assert_close(out["logp"][:, :f], log_power(measured[:, :f]))
    assert torch.isfinite(out["y"]).all()
    assert out["mu"].shape == (2 * measured.shape[2], 3)
    torch.testing.assert_close(module.kl(out), kl_terms(out["mu"], out["logvar"]).sum(1).mean())


def test_kl_terms_closed_form_by_hand():
    # 0.5 (mu^2 + sigma^2 - 1 - log sigma^2): mu = 1, sigma^2 = 1 -> 0.5; mu = 0, sigma^2 = e -> 0.5 (e - 2)
    torch.testing.assert_close(kl_terms(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])),
                               torch.tensor([0.5, 0.5 * (math.e - 2)]))


# --- SSRM: 1-D PixelShuffle and dual regression ---------------------------------------------------------------

def test_pixel_shuffle_1d_hand_worked_example():
    # channels (c r + i) = (0, 0), (0, 1), (1, 0), (1, 1) for C = 2, r = 2; two frequency rows, one frame
    x = torch.tensor([[10., 11.], [20., 21.], [30., 31.], [40., 41.]]).view(1, 4, 2, 1)
    out = pixel_shuffle_1d(x, 2)
    assert out.shape == (1, 2, 4, 1)
    # out[c, f r + i] = x[c r + i, f]
    assert out[0, 0, :, 0].tolist() == [10., 20., 11., 21.]
    assert out[0, 1, :, 0].tolist() == [30., 40., 31., 41.]


@pytest.mark.parametrize("r", [2, 4, 6])
def test_pixel_shuffle_1d_shapes_and_inverse(r):
    x = torch.randn(2, 3 * r, 5, 7)
    out = pixel_shuffle_1d(x, r)
    assert out.shape == (2, 3, 5 * r, 7)
    back = out.view(2, 3, 5, r, 7).permute(0, 1, 3, 2, 4).reshape(2, 3 * r, 5, 7)
    assert torch.equal(back, x)
    with pytest.raises(ValueError):
        pixel_shuffle_1d(torch.randn(1, r + 1, 5, 7), r)


@pytest.mark.parametrize("r", [2, 4, 6])
def test_ssrm_net_super_resolves_frequency_and_dual_maps_back(r):
    cfg = SSRMConfig(n_fft_low=32, hop_ms=2.0, channels=4, levels=2, n_rcab=1, reduction=2, dual_channels=2)
    f, n = cfg.n_fft_low // 2, 13
    sr = SSRMNet(r, cfg)(torch.randn(2, 3, f, n))
    assert sr.shape == (2, 1, r * f, n)
    dual = DualDownsampler(r, 3)
    assert dual(sr).shape == (2, 1, f, n)
    with_nyquist = torch.cat([sr, sr[:, :, -1:]], dim=2)          # R F + 1 bins, as the composed SR
    assert dual(with_nyquist).shape == (2, 1, f, n)


def test_bicubic_downsample_shrinks_frequency_only():
    r, f, n = 4, 16, 5
    # a linear ramp along frequency: bicubic (normalised, symmetric weights) keeps it, so away from the
    # edges LR pixel j (covering HR bins 4j .. 4j + 3) takes the ramp's value at its centre, 4j + 1.5
    ramp = torch.arange(r * f + 1, dtype=torch.float64).view(1, 1, -1, 1).expand(2, 1, -1, n)
    low = bicubic_downsample(ramp, r)                       # the trailing HR Nyquist bin is dropped
    assert low.shape == (2, 1, f, n)
    torch.testing.assert_close(low[0, 0, 2:-2, 0], 4.0 * torch.arange(2, f - 2, dtype=torch.float64) + 1.5)
    constant = torch.full((1, 1, r * f, n), -3.0)
    torch.testing.assert_close(bicubic_downsample(constant, r), torch.full((1, 1, f, n), -3.0))
    # the time axis is untouched: each frame is shrunk on its own
    frames = torch.randn(1, 1, r * f, n, dtype=torch.float64)
    torch.testing.assert_close(bicubic_downsample(frames, r)[..., 2], bicubic_downsample(frames[..., 2:3], r)[..., 0])


def test_ssrm_trains_on_bicubic_pairs_and_infers_from_the_lr_audio():
    torch.manual_seed(0)
    config = TFDFESSRM.config_for("smoke")
    method = TFDFESSRM(replace(config, ssrm=replace(config.ssrm, pairs="bicubic")), Protocol(4, 16000))
    batch = Batch(lr=torch.randn(2, 1, 400) * 0.1, hr=torch.randn(2, 1, 1600) * 0.1)
    seen = []
    method.networks["ssrm"].register_forward_hook(lambda module, args, out: seen.append(args[0]))
    terms = method.losses(batch)
    target = method.networks["ssrm"].hr_grid
    hr_logp = log_power(target.stft(batch.hr)).unsqueeze(1)
    torch.testing.assert_close(seen[0], bicubic_downsample(hr_logp, 4))
    assert torch.isfinite(terms["ssrm"])
    method.enhance(batch.lr)
    torch.testing.assert_close(seen[1], method.networks["ssrm"].lr_logpower(batch.lr))


def test_ssrm_keeps_the_measured_low_band():
    torch.manual_seed(0)
    method = TFDFESSRM(TFDFESSRM.config_for("smoke"), Protocol(4, 16000))
    lr = torch.randn(1, 1, 400)
    parts = method._module_spectra(lr)
    f = method.config.ssrm.n_fft_low // 2
    measured = method.hr_grid.stft(method.upsampled(lr))
    torch.testing.assert_close(parts["S_ss"][:, :f], measured[:, :f])
    assert parts["S_ss"].shape == measured.shape


# --- TFDFM: the interaction window (Eq. 13) ---------------------------------------------------------------

@pytest.mark.parametrize("d", [0, 1, 3])
def test_window_mask_lets_t_see_exactly_its_window(d):
    n = 12
    mask = window_mask(n, d)
    for t in range(n):
        assert set(torch.nonzero(mask[t]).flatten().tolist()) == set(range(max(0, t - d), min(n, t + d + 1)))


@pytest.mark.parametrize("d", [1, 2])
def test_windowed_attention_output_depends_only_on_the_window(d):
    torch.manual_seed(0)
    attn = WindowedAttention(8, 2)
    n, t = 10, 5
    query, source = torch.randn(1, n, 8), torch.randn(1, n, 8)
    mask = window_mask(n, d)
    base = attn(query, source, mask)[0, t]
    for s in range(n):
        moved = source.clone()
        moved[0, s] += 3.0
        changed = not torch.allclose(attn(query, moved, mask)[0, t], base, atol=1e-6)
        assert changed == (abs(s - t) <= d), s


def test_pyramid_unit_starts_with_half_of_sa_plus_dfa():
    # section 3.3: SA and DFA concatenated, refined by a sigmoid channel attention, then summed; the
    # gate starts at 0 -> sigmoid 0.5, so the unit starts from LN(X + (SA + DFA) / 2)
    torch.manual_seed(0)
    unit = PyramidUnit(8, 2, window=1, ffn_mult=2, dropout=0.0)
    a, b = torch.randn(1, 6, 8), torch.randn(1, 6, 8)
    mask = window_mask(6, 1)
    h = unit.norm1(a + 0.5 * (unit.attn(a, a, mask) + unit.attn(a, b, mask)))
    torch.testing.assert_close(unit(a, b)[0], unit.norm2(h + unit.ffn(h)))


# --- Eq. 14 ---------------------------------------------------------------------------------------------------

def test_eq14_weights_sum_to_one_and_follow_the_formula():
    fusion = TanhFusion(bins=65, temperature=0.25, learn=True)
    power = torch.zeros(1, 65, 4)
    power[:, 16] = 1.0                      # all the power at bin 16: omega_bar = 16 / 64
    fusion.accumulate(power)
    assert math.isclose(float(fusion.omega_bar), 0.25, rel_tol=1e-6)
    a = torch.zeros(2, 65, 3)
    with torch.no_grad():
        w_sw = fusion(a, a)
    w_ss = 1 - w_sw
    omega = torch.linspace(0, 1, 65)
    torch.testing.assert_close(w_sw[0, :, 0], (1 + torch.tanh((omega - 0.25) / 0.25)) / 2)
    torch.testing.assert_close(w_ss[0, :, 0], (1 - torch.tanh((omega - 0.25) / 0.25)) / 2)
    torch.testing.assert_close(w_sw + w_ss, torch.ones_like(w_sw))
    assert math.isclose(float(w_sw[0, 16, 0]), 0.5, abs_tol=1e-6)      # equal weights at omega_bar
    assert bool((w_sw[0, 1:, 0] > w_sw[0, :-1, 0]).all())               # SWSRM takes over upwards
    steeper = TanhFusion(bins=65, temperature=0.05, learn=False)
    steeper.accumulate(power)
    with torch.no_grad():
        assert float(steeper(a, a)[0, 20, 0]) > float(w_sw[0, 20, 0])       # a lower temperature is steeper


def test_eq14_temperature_is_learned_only_when_asked():
    assert TanhFusion(9, 1.0, learn=True).log_tau.requires_grad
    assert not TanhFusion(9, 1.0, learn=False).log_tau.requires_grad


# --- the four rows ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"R{p.scale}")
@pytest.mark.parametrize("cls", ROWS, ids=lambda c: c.name)
def test_rows_map_any_length_to_r_times_it(cls, protocol):
    torch.manual_seed(0)
    method = cls(cls.config_for("smoke"), protocol)
    for length in (37, 501):
        out = method.enhance(torch.randn(2, 1, length) * 0.1)
        assert out.shape == (2, 1, length * protocol.scale) and out.dtype == torch.float32
        assert torch.isfinite(out).all()


class _Opt:
    """The part of bench.run.train.OptimizerSet that training_step uses."""

    def __init__(self, optimizers):
        self.optimizers, self.step_index, self.stepped = optimizers, 0, []

    def step(self, name, loss, terms=None):
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        self.stepped.append(name)


def _smoke_with_steps(cls, protocol: Protocol, steps: int = 20):
    """The smoke config with a step count set, as the Trainer sets it from the budget."""
    config = cls.config_for("smoke")
    return cls(replace(config, train=replace(config.train, steps=steps)), protocol)


@pytest.mark.parametrize("cls", [TFDFE, TFDFETanh])
def test_staged_training_trains_modules_then_only_the_fusion(cls):
    torch.manual_seed(0)
    method = _smoke_with_steps(cls, Protocol(4, 16000))
    n1, total = method.stage_bounds()
    assert 0 < n1 < total == method.config.train.steps
    opt = _Opt(method.configure_optimizers())
    batch = Batch(lr=torch.randn(2, 1, 400) * 0.1, hr=torch.randn(2, 1, 1600) * 0.1)
    method.train_mode(True)
    opt.step_index = 0
    keys = list(method.training_step(batch, opt))
    assert opt.stepped == ["swsrm", "ssrm"]
    frozen = {k: v.clone() for k, v in method.state_dict().items() if not k.startswith("fusion.")}
    opt.stepped, opt.step_index = [], n1
    method.train_mode(True)
    assert list(method.training_step(batch, opt)) == keys           # the same loss columns every step
    assert opt.stepped == ["fusion"]
    for k, v in frozen.items():
        assert torch.equal(method.state_dict()[k], v), k


def test_single_module_rows_spend_every_step_on_their_module():
    for cls, name in ((TFDFESWSRM, "swsrm"), (TFDFESSRM, "ssrm")):
        method = _smoke_with_steps(cls, Protocol(2, 16000))
        assert method.stage_bounds() == (method.config.train.steps,) * 2
        assert list(method.configure_optimizers()) == [name]


def test_swsrm_stops_after_its_share_of_stage_one():
    torch.manual_seed(0)
    config = TFDFE.config_for("smoke")
    method = TFDFE(replace(config, swsrm_share=0.5, train=replace(config.train, steps=20)), Protocol(2, 16000))
    n1, _ = method.stage_bounds()
    assert method.training_phases() == {"modules": 0.0, "ssrm": 0.25, "fusion": 0.5} and n1 == 10
    opt = _Opt(method.configure_optimizers())
    batch = Batch(lr=torch.randn(2, 1, 400) * 0.1, hr=torch.randn(2, 1, 800) * 0.1)
    for step, expected in ((4, ["swsrm", "ssrm"]), (5, ["ssrm"]), (9, ["ssrm"]), (10, ["fusion"])):
        opt.stepped, opt.step_index = [], step
        method.train_mode(True)
        method.training_step(batch, opt)
        assert opt.stepped == expected, step


# --- the paper profile (section 4.2) ------------------------------------------------------------------------

def test_paper_profile_follows_section_4_2():
    protocol = Protocol(2, 16000)
    method = TFDFE(TFDFE.config_for("paper"), protocol)
    c = method.config
    assert c.train.batch_size == 32 and c.swsrm.domain == "spectrum" and c.ssrm.pairs == "bicubic"
    assert c.swsrm.stft_weight == 0                                             # Eq. 3 exactly
    opts = method.configure_optimizers()
    sgd, adam = opts["swsrm"], opts["ssrm"]
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["lr"] == 1e-5 and sgd.defaults["momentum"] == 0
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["lr"] == 1e-4 and adam.defaults["betas"] == (0.9, 0.999)
    assert isinstance(opts["fusion"], torch.optim.Adam) and opts["fusion"].defaults["lr"] == 1e-4
    # 150 (SWSRM) and 500 (SSRM) epochs of 800 crops at batch 32, then the fusion
    assert (PAPER_SWSRM_STEPS, PAPER_SSRM_STEPS) == (3750, 12500)
    n1, total = method.stage_bounds()
    assert (n1, total) == (12500, 15000)
    assert method.training_phases() == {"modules": 0.0, "ssrm": 0.25, "fusion": c.module_fraction}
    assert round(method._swsrm_share() * total) == 3750
    for cls, steps in ((TFDFESWSRM, 3750), (TFDFESSRM, 12500)):
        single = cls(cls.config_for("paper"), protocol)
        assert single.stage_bounds() == (steps, steps) and single.config.train.batch_size == 32
