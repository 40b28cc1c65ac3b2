"""Every registered method honours the Method contract."""
import numpy as np
import pytest
import torch

from bench.core.profiles import PROFILES
from bench.core.spec import Protocol
from methods import REGISTRY, load_method_class, method_names

PROTOCOLS = [Protocol(2, 16000), Protocol(4, 16000), Protocol(6, 24000)]


def _lr_batch(protocol, batch=2, seconds=0.5):
    t = torch.arange(int(seconds * protocol.low_sr)) / protocol.low_sr
    tones = torch.sin(2 * torch.pi * 440 * t) + 0.3 * torch.sin(2 * torch.pi * 1234 * t)
    noise = 0.05 * torch.randn(batch, t.numel(), generator=torch.Generator().manual_seed(0))
    return (0.5 * tones + noise).unsqueeze(1).float()


@pytest.mark.parametrize("name", method_names())
def test_registry_row_matches_class(name):
    cls = load_method_class(name)
    assert cls.name == name
    assert cls.trainable == REGISTRY[name].trainable
    for profile in PROFILES:
        cls.config_for(profile)  # every profile has a valid config


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"R{p.scale}")
@pytest.mark.parametrize("name", method_names())
def test_enhance_shape_dtype_finite(name, protocol):
    cls = load_method_class(name)
    method = cls(cls.config_for("smoke"), protocol)
    lr = _lr_batch(protocol)
    out = method.enhance(lr)
    assert out.shape == (lr.shape[0], 1, lr.shape[-1] * protocol.scale)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    # The output must depend on its own input, not on the batch neighbours.
    single = method.enhance(lr[1:2])
    if not cls.trainable and name != "noisefill":  # noisefill draws fresh noise per call
        np.testing.assert_allclose(single[0].numpy(), out[1].numpy(), atol=1e-5)


@pytest.mark.parametrize("name", method_names())
def test_state_dict_round_trip(name):
    cls = load_method_class(name)
    protocol = PROTOCOLS[0]
    a = cls(cls.config_for("smoke"), protocol)
    b = cls(cls.config_for("smoke"), protocol)
    b.load_state_dict(a.state_dict())
    torch.manual_seed(0)
    out_a = a.enhance(_lr_batch(protocol))
    torch.manual_seed(0)
    out_b = b.enhance(_lr_batch(protocol))
    torch.testing.assert_close(out_a, out_b)
