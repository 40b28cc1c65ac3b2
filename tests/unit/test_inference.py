import numpy as np
import torch

from bench.core.spec import Protocol
from bench.run.inference import _crossfade_weights, super_resolve_chunked
from methods.api import Method


class Repeat(Method):
    """sample-and-hold upsampling: local, so chunking must not change a single sample"""

    name = "repeat"

    def enhance(self, lr):
        return lr.repeat_interleave(self.protocol.scale, dim=-1)


class CountingRepeat(Repeat):
    def __init__(self, *args):
        super().__init__(*args)
        self.max_len = 0

    def enhance(self, lr):
        self.max_len = max(self.max_len, lr.shape[-1])
        return super().enhance(lr)


def test_chunked_equals_whole_for_a_local_method():
    method = CountingRepeat(None, Protocol(3, 24000))
    lr = np.random.default_rng(0).standard_normal(10_007).astype(np.float32)
    whole = method.enhance(torch.from_numpy(lr).view(1, 1, -1))[0, 0].numpy()
    chunked = super_resolve_chunked(method, lr, 3, chunk=1000, overlap=100, batch=3)
    assert chunked.shape == (30_021,) and chunked.dtype == np.float32
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-6)
    assert method.max_len == 10_007  # the whole call above; chunks were at most 1000 long


def test_chunks_bound_the_input_length():
    method = CountingRepeat(None, Protocol(2, 16000))
    super_resolve_chunked(method, np.zeros(50_000, np.float32), 2, chunk=4000, overlap=400)
    assert method.max_len == 4000


def test_crossfade_weights_sum_to_one_in_overlaps():
    fade, chunk = 10, 40
    a = _crossfade_weights(chunk, fade, first=True, last=False)
    b = _crossfade_weights(chunk, fade, first=False, last=True)
    np.testing.assert_allclose(a[-fade:] + b[:fade], 1.0)
    assert a[0] == 1.0 and b[-1] == 1.0
