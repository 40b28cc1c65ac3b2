"""TFDFE-ASR blocks (methods/tfdfe/): framing, PixelShuffle, windowed attention, dual regression, Eq. 14, shapes."""
import math
from dataclasses import replace

import pytest
import torch

from bench.core.spec import Protocol
from methods.api import Batch
from methods.tfdfe.model import TFDFE, TFDFESSRM, TFDFESWSRM, TFDFETanh
from methods.tfdfe.ssrm import DualDownsampler, SSRMConfig, SSRMNet, pixel_shuffle_1d
from methods.tfdfe.swsrm import SWSRM, SWSRMConfig, frame_signal, overlap_add
from methods.tfdfe.tfdfm import TanhFusion, WindowedAttention, window_mask

ROWS = [TFDFE, TFDFETanh, TFDFESWSRM, TFDFESSRM]
PROTOCOLS = [Protocol(2, 16000), Protocol(4, 16000), Protocol(6, 24000)]


# --- SWSRM framing ---------------------------------------------------------------------------------------

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


def test_swsrm_with_the_vae_bypassed_is_the_identity():
    torch.manual_seed(0)
    module = SWSRM(SWSRMConfig(frame_ms=4.0, channels=(4, 8), kernels=(7, 5), latent=4), 16000).eval()
    torch.nn.init.zeros_(module.vae.out.weight)
    torch.nn.init.zeros_(module.vae.out.bias)
    x = torch.randn(2, 1, 777)
    y, mu, logvar = module(x)
    torch.testing.assert_close(y, x, rtol=0, atol=1e-6)
    assert mu.shape == logvar.shape and mu.shape[1] == 4 and mu.shape[2] == module.frame // 4


def test_swsrm_samples_in_training_and_uses_the_mean_at_inference():
    torch.manual_seed(0)
    module = SWSRM(SWSRMConfig(frame_ms=4.0, channels=(4,), kernels=(3,), latent=2), 16000)
    torch.nn.init.normal_(module.vae.out.weight, std=0.5)
    x = torch.randn(1, 1, 300)
    module.eval()
    torch.testing.assert_close(module(x)[0], module(x)[0])
    module.train()
    assert not torch.equal(module(x)[0], module(x)[0])


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
