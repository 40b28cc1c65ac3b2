"""methods.baselines.rfdnet and methods.baselines.sfsrnet: shapes, weight sharing, the kept LR band."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from bench.core.spec import Protocol
from bench.signal.degrade import upsample
from methods.baselines.rfdnet import DownProjection, RFDNet, UpProjection
from methods.baselines.sfsrnet import SFSRNet, band_energy_channel, si_snr

PROTOCOLS = [Protocol(2, 16000), Protocol(4, 16000), Protocol(6, 24000)]
CLASSES = [RFDNet, SFSRNet]


def _lr(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    return 0.1 * torch.randn(batch, 1, length, generator=torch.Generator().manual_seed(seed))


def _method(cls, protocol, **overrides):
    torch.manual_seed(0)
    return cls(dataclasses.replace(cls.config_for("smoke"), **overrides), protocol)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"R{p.scale}")
@pytest.mark.parametrize("length", [5, 37, 251])
def test_forward_shape_any_length(cls, protocol, length):
    out = _method(cls, protocol).forward(_lr(2, length))
    assert out.shape == (2, 1, length * protocol.scale)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_quick_config_shapes(cls):
    method = cls(cls.config_for("quick"), PROTOCOLS[2])
    assert method.enhance(_lr(1, 333)).shape == (1, 1, 333 * 6)


@pytest.mark.slow
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_paper_config_builds_and_runs(cls):
    method = cls(cls.config_for("paper"), PROTOCOLS[0])
    assert method.enhance(_lr(1, 200)).shape == (1, 1, 400)


# --- RFD-Net ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [2, 3, 6])
def test_projection_units_move_between_spaces(scale):
    low = torch.randn(2, 4, 11)
    high = UpProjection(4, scale, 3)(low)
    assert high.shape == (2, 4, 11 * scale)
    assert DownProjection(4, scale, 3)(high).shape == (2, 4, 11)


def test_recursions_share_weights():
    """More steps change the output but add only the wider final fusion (K C x C 1x1 conv)."""
    few, many = _method(RFDNet, PROTOCOLS[1], recursions=1), _method(RFDNet, PROTOCOLS[1], recursions=3)
    c = few.config.channels
    assert many.num_parameters() - few.num_parameters() == 2 * c * c
    assert sum(p.numel() for p in few.networks["rfd"].block.parameters()) == \
        sum(p.numel() for p in many.networks["rfd"].block.parameters())
    more_groups = _method(RFDNet, PROTOCOLS[1], recursions=1, groups=2)
    assert more_groups.num_parameters() > few.num_parameters()


def test_rfdnet_is_a_residual_on_the_spline_input():
    method = _method(RFDNet, PROTOCOLS[0])
    with torch.no_grad():
        for p in method.networks["rfd"].tail[-1].parameters():
            p.zero_()
    lr = _lr(1, 64)
    torch.testing.assert_close(method.enhance(lr), upsample(lr, 2, "spline"))


# --- SFSRNet ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"R{p.scale}")
def test_sfsrnet_keeps_the_measured_band(protocol):
    """Bins below the low-rate Nyquist of the SR spectrum are the spline input's, phase and magnitude."""
    method = _method(SFSRNet, protocol)
    with torch.no_grad():
        for p in method.networks["sr"].parameters():
            p.add_(0.5)  # a net that adds plenty everywhere
        spline_spec, sr_spec = method.spectra(_lr(2, 300))
    cut = method.cutoff
    torch.testing.assert_close(sr_spec[:, :cut], spline_spec[:, :cut])
    assert (sr_spec[:, cut:].abs() > spline_spec[:, cut:].abs() + 1e-3).any()
    torch.testing.assert_close(sr_spec.angle()[:, cut:][spline_spec[:, cut:].abs() > 1e-6],
                               spline_spec.angle()[:, cut:][spline_spec[:, cut:].abs() > 1e-6])


def test_sfsrnet_with_a_silent_net_returns_the_spline_input():
    method = _method(SFSRNet, PROTOCOLS[1])
    with torch.no_grad():
        last = method.networks["sr"].body[-2]
        last.weight.zero_()
        last.bias.fill_(-100.0)  # softplus(-100) ~ 4e-44: no correction anywhere
    lr = _lr(1, 500)
    torch.testing.assert_close(method.enhance(lr), upsample(lr, 4, "spline"), atol=1e-5, rtol=0)


def test_band_energy_channel_is_the_upper_half_band_level_above_the_cutoff():
    mag = torch.rand(2, 9, 5)
    channel = band_energy_channel(mag, 4)
    assert (channel[:, :4] == 0).all()
    torch.testing.assert_close(channel[:, 4:], mag[:, 2:4].mean(1, keepdim=True).expand(2, 5, 5))


def test_si_snr_is_scale_invariant_and_high_for_the_reference():
    ref = torch.randn(2, 1, 400)
    noisy = ref + 0.1 * torch.randn(2, 1, 400)
    torch.testing.assert_close(si_snr(3 * noisy, ref), si_snr(noisy, ref))
    assert (si_snr(ref, ref) > 60).all() and (si_snr(noisy, ref) < 30).all()
