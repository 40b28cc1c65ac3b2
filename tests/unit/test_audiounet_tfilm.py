"""methods.baselines.audiounet and methods.baselines.tfilm: shapes, the additive skip, subpixel, TFiLM."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from bench.core.spec import Protocol
from bench.signal.degrade import upsample
from methods.api import Batch
from methods.baselines.audiounet import AudioUNet, SameConv1d, UNet1d, subpixel1d
from methods.baselines.tfilm import TFiLM, TFiLMNet, TFiLMUNet1d
from methods.common.losses import log_power_stft_loss

PROTOCOLS = [Protocol(2, 16000), Protocol(4, 16000), Protocol(6, 24000)]
CLASSES = [AudioUNet, TFiLMNet]


def _lr(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 1, length, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"R{p.scale}")
@pytest.mark.parametrize("length", [37, 64, 251])
def test_forward_shape_any_length(cls, protocol, length):
    method = cls(cls.config_for("smoke"), protocol)
    out = method.forward(_lr(2, length))
    assert out.shape == (2, 1, length * protocol.scale)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_quick_config_shapes(cls):
    method = cls(cls.config_for("quick"), PROTOCOLS[2])
    assert method.enhance(_lr(1, 333)).shape == (1, 1, 333 * 6)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"R{p.scale}")
def test_zeroed_last_layer_returns_exactly_the_spline_input(cls, protocol):
    method = cls(cls.config_for("smoke"), protocol)
    last = method.networks["unet"].last
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    lr = _lr(2, 45)
    assert torch.equal(method.enhance(lr), upsample(lr, protocol.scale, "spline"))


def test_last_layer_starts_near_zero_so_training_starts_at_the_spline():
    method = AudioUNet(AudioUNet.config_for("smoke"), PROTOCOLS[1])
    lr = _lr(1, 200)
    spline = upsample(lr, 4, "spline")
    assert (method.enhance(lr) - spline).abs().max() < 0.05 * spline.abs().max()


def test_subpixel_single_channel_interleaves_the_r_channels():
    x = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]])  # (1, r=2, 3)
    assert subpixel1d(x, 2).tolist() == [[[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]]]


def test_subpixel_multichannel_matches_tf_batch_to_space_ordering():
    # (1, 4, 2): channel k, position w holds 2k + w; r = 2 -> 2 output channels of length 4.
    # TF SubPixel1D (transpose + batch_to_space): out[c, 2w + i] = in[i*C + c, w], C = 2.
    x = torch.arange(8.0).view(1, 4, 2)
    assert subpixel1d(x, 2).tolist() == [[[0.0, 4.0, 1.0, 5.0], [2.0, 6.0, 3.0, 7.0]]]


def test_subpixel_r3_and_bad_channels():
    x = torch.arange(6.0).view(1, 3, 2)  # r = 3, C = 1
    assert subpixel1d(x, 3).tolist() == [[[0.0, 2.0, 4.0, 1.0, 3.0, 5.0]]]
    with pytest.raises(ValueError, match="not divisible"):
        subpixel1d(torch.zeros(1, 3, 2), 2)


def test_unet_skips_are_stacked_and_the_depth_follows_the_config():
    net = UNet1d((4, 8, 8), (9, 5, 3), dropout=0.0)
    assert net.length_multiple() == 16
    assert [b.body[0].in_channels for b in net.up] == [8, 16, 16]  # bottleneck 8, then 2 * C_l after concat
    assert net.last.in_channels == 8  # 2 * filters[0]


def test_tfilm_modulation_shapes_and_blockwise_affine():
    torch.manual_seed(0)
    layer = TFiLM(channels=6, block_size=8, mode="affine")
    x = torch.randn(2, 6, 32)
    scale, shift = layer.modulation(x)
    assert scale.shape == shift.shape == (2, 6, 4)
    y = layer(x)
    assert y.shape == x.shape
    for j in range(4):  # y = scale * x + shift, constant per block
        block = slice(8 * j, 8 * (j + 1))
        torch.testing.assert_close(y[..., block], scale[..., j:j + 1] * x[..., block] + shift[..., j:j + 1])


def test_tfilm_scale_mode_has_no_shift():
    layer = TFiLM(channels=3, block_size=4, mode="scale")
    assert layer.lstm.hidden_size == 3
    scale, shift = layer.modulation(torch.randn(1, 3, 16))
    assert scale.shape == (1, 3, 4) and torch.count_nonzero(shift) == 0
    with pytest.raises(ValueError, match="mode"):
        TFiLM(3, 4, mode="bogus")


def test_tfilm_modulation_depends_on_the_lstm_state():
    torch.manual_seed(0)
    layer = TFiLM(channels=5, block_size=4, mode="affine")
    pattern = torch.randn(1, 5, 4)
    x = pattern.repeat(1, 1, 6)  # six identical blocks: same pooled summary every block
    scale, shift = layer.modulation(x)
    # Only the recurrent state differs from block to block, and the modulation differs with it.
    assert not torch.allclose(scale[..., 0], scale[..., -1])
    assert not torch.allclose(shift[..., 0], shift[..., -1])
    # Causal over blocks: changing block 0 changes later blocks' modulation, changing the last does not
    # change earlier ones.
    x2 = x.clone()
    x2[..., :4] += 3.0
    scale2, _ = layer.modulation(x2)
    assert not torch.allclose(scale[..., 3], scale2[..., 3])
    x3 = x.clone()
    x3[..., -4:] += 3.0
    scale3, _ = layer.modulation(x3)
    torch.testing.assert_close(scale[..., :5], scale3[..., :5])


def test_tfilm_block_sizes_and_length_multiple():
    net = TFiLMUNet1d((4, 8, 8, 8), (9, 5, 3, 3), block0=128, film="scale", up_block="mirror", dropout=0.0)
    assert [net.block_size(l) for l in range(5)] == [128, 64, 32, 16, 8]
    assert net.length_multiple() == 256  # 32 blocks per level on an 8192-sample patch
    assert [m.block_size for m in net.down_mod] == [128, 64, 32, 16]
    assert [m.block_size for m in net.up_mod] == [16, 32, 64, 128]  # mirrors the down path
    assert net.bottleneck_mod.block_size == 8
    with pytest.raises(ValueError, match="multiple of the block size"):
        net.down_mod[0](torch.zeros(1, 4, 100))
    with pytest.raises(ValueError, match="up_block"):
        TFiLMUNet1d((4,), (3,), block0=8, film="scale", up_block="bogus")


def test_tfilm_up_path_reuses_the_bottleneck_block_size_as_the_original_code():
    # audiotfilm.py never resets `nb` after the bottleneck (128 / 2^L), so every up level uses it.
    net = TFiLMUNet1d((4, 8, 8, 8), (9, 5, 3, 3), block0=128, film="scale", up_block="bottleneck", dropout=0.0)
    assert [m.block_size for m in net.down_mod] == [128, 64, 32, 16]
    assert net.bottleneck_mod.block_size == 8
    assert [m.block_size for m in net.up_mod] == [8, 8, 8, 8]
    assert net.length_multiple() == 256  # the down path's constraint is the binding one
    out = net(torch.randn(1, 1, 512))
    assert out.shape == (1, 1, 512)


def test_tfilm_is_the_unet_plus_modulation():
    a = AudioUNet(AudioUNet.config_for("smoke"), PROTOCOLS[0]).networks["unet"]
    t = TFiLMNet(TFiLMNet.config_for("smoke"), PROTOCOLS[0]).networks["unet"]
    assert isinstance(t, UNet1d)
    assert all(isinstance(m, torch.nn.Identity) for m in a.down_mod)
    assert all(isinstance(m, TFiLM) for m in [*t.down_mod, t.bottleneck_mod, *t.up_mod])


@pytest.mark.parametrize("loss", ["rmse", "mse"])
def test_losses_match_the_definitions(loss):
    cfg = dataclasses.replace(AudioUNet.config_for("smoke"), loss=loss)
    method = AudioUNet(cfg, PROTOCOLS[0])
    method.train_mode(False)
    lr, hr = _lr(3, 32), _lr(3, 64, seed=1)
    value = method.losses(Batch(lr=lr, hr=hr))["loss"]
    per_item = (method.forward(lr) - hr).square().mean(dim=(1, 2))
    expected = (per_item + 1e-6).sqrt().mean() if loss == "rmse" else per_item.mean()
    torch.testing.assert_close(value, expected)


def test_unknown_loss_is_rejected():
    with pytest.raises(ValueError, match="loss"):
        AudioUNet(dataclasses.replace(AudioUNet.config_for("smoke"), loss="l1"), PROTOCOLS[0])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_smoke_profile_is_tiny_and_paper_is_published_size(cls):
    assert cls(cls.config_for("smoke"), PROTOCOLS[0]).num_parameters() < 10_000
    paper = cls.config_for("paper")
    assert paper.filters[:2] == ((128, 384) if cls is AudioUNet else (128, 256))
    assert paper.kernels == (65, 33, 17, 9)
    assert paper.train.optimizer == "adam"


def test_tfilm_scale_offset_shifts_only_the_scale():
    torch.manual_seed(0)
    plain = TFiLM(channels=4, block_size=4, mode="affine")
    offset = TFiLM(channels=4, block_size=4, mode="affine", scale_offset=1.0)
    offset.load_state_dict(plain.state_dict())
    x = torch.randn(1, 4, 16)
    (s0, b0), (s1, b1) = plain.modulation(x), offset.modulation(x)
    torch.testing.assert_close(s1, s0 + 1.0)
    torch.testing.assert_close(b1, b0)


def test_spectral_term_is_off_by_default_and_named_when_on():
    lr, hr = _lr(2, 600), _lr(2, 1200, seed=1)
    for cls in CLASSES:
        assert cls.config_for("paper").spectral_weight == 0.0  # the published objective
    cfg = dataclasses.replace(AudioUNet.config_for("smoke"), spectral_weight=0.5)
    method = AudioUNet(cfg, PROTOCOLS[0])
    method.train_mode(False)
    terms = method.losses(Batch(lr=lr, hr=hr))
    torch.testing.assert_close(terms["loss"], terms["l2"] + 0.5 * terms["spectral"])
    assert terms["spectral"] > 0


def test_log_power_stft_loss_is_zero_on_equal_signals():
    x = _lr(2, 3000)
    assert log_power_stft_loss(x, x, (256, 512)).item() == pytest.approx(0.0, abs=1e-6)
    assert log_power_stft_loss(0.5 * x, x, (256, 512)).item() > 0.1


# --- the paper profiles against kuleshov/audio-super-res --------------------------------------------------

def _keras_conv(kernel: int, c_in: int, c_out: int) -> int:
    """Parameters of a Keras Conv1D: a (kernel, c_in, c_out) kernel and a c_out bias."""
    return kernel * c_in * c_out + c_out


def _keras_lstm(c_in: int, units: int) -> int:
    """Parameters of a Keras LSTM: (c_in, 4u) kernel, (u, 4u) recurrent kernel, one 4u bias."""
    return c_in * 4 * units + units * 4 * units + 4 * units


def _official_unet_convs(filters: list[int], kernels: list[int]) -> int:
    """Conv parameters of src/models/audiounet.py or audiotfilm.py with --layers len(filters) (the
    TFiLM code's dilation and max-pooling change no weight shape)."""
    total, c_in = 0, 1
    for f, k in zip(filters, kernels):  # down blocks
        total += _keras_conv(k, c_in, f)
        c_in = f
    total += _keras_conv(kernels[-1], c_in, filters[-1])  # bottleneck
    c_in = filters[-1]
    for f, k in reversed(list(zip(filters, kernels))):  # up blocks: conv to 2f, subpixel to f, concat skip f
        total += _keras_conv(k, c_in, 2 * f)
        c_in = 2 * f
    return total + _keras_conv(9, c_in, 2)  # last conv


# kuleshov/audio-super-res, src/models/audiounet.py, --layers 4, by layer:
#   down   65*1*128+128 = 8,448     33*128*384+384 = 1,622,400   17*384*512+512 = 3,342,848
#          9*512*512+512 = 2,359,808            bottleneck 9*512*512+512 = 2,359,808
#   up     9*512*1024+1024 = 4,719,616          17*1024*1024+1024 = 17,826,816
#          33*1024*768+768 = 25,953,024         65*768*256+256 = 12,779,776
#   last   9*256*2+2 = 4,610                    total 70,977,154
OFFICIAL_AUDIOUNET = 70_977_154
# kuleshov/audio-super-res, src/models/audiotfilm.py, --layers 4, by layer:
#   down   65*1*128+128 = 8,448     33*128*256+256 = 1,081,600   17*256*512+512 = 2,228,736
#          9*512*512+512 = 2,359,808            bottleneck 9*512*512+512 = 2,359,808
#   up     9*512*1024+1024 = 4,719,616          17*1024*1024+1024 = 17,826,816
#          33*1024*512+512 = 17,302,016         65*512*256+256 = 8,519,936
#   last   9*256*2+2 = 4,610                    convolutions 56,411,394
#   LSTM(units = C) on C channels: 4*(C*C + C*C + C) = 131,584 (C=128), 525,312 (256), 2,099,200 (512);
#   nine of them (down 128, 256, 512, 512; bottleneck 512; up 512, 512, 256, 128):
#   2*131,584 + 2*525,312 + 5*2,099,200 = 11,809,792                total 68,221,186
OFFICIAL_TFILM = 68_221_186


def test_hand_counts_of_the_official_models():
    assert _official_unet_convs([128, 384, 512, 512], [65, 33, 17, 9]) == OFFICIAL_AUDIOUNET
    convs = _official_unet_convs([128, 256, 512, 512], [65, 33, 17, 9])
    lstms = sum(_keras_lstm(c, c) for c in [128, 256, 512, 512, 512, 512, 512, 256, 128])
    assert (convs, lstms) == (56_411_394, 11_809_792)
    assert convs + lstms == OFFICIAL_TFILM


@pytest.mark.parametrize("cls, official", [(AudioUNet, OFFICIAL_AUDIOUNET), (TFiLMNet, OFFICIAL_TFILM)],
                         ids=["audiounet", "tfilm"])
@pytest.mark.parametrize("scale", [2, 4])
def test_paper_parameter_count_equals_the_official_model(cls, official, scale):
    with torch.device("meta"):  # shapes only: no memory, no init cost
        method = cls(cls.config_for("paper"), Protocol(scale, 16000))
    assert method.num_parameters() == official


def test_paper_configs_follow_the_official_code_and_training_command():
    tfilm, unet = TFiLMNet.config_for("paper"), AudioUNet.config_for("paper")
    assert (tfilm.film, tfilm.scale_offset, tfilm.up_block, tfilm.tfilm_block) == ("scale", 0.0, "bottleneck", 128)
    assert (tfilm.downsample, tfilm.dilation, tfilm.dropout) == ("maxpool", 2, 0.5)
    assert (unet.downsample, unet.dilation, unet.dropout) == ("stride", 1, 0.5)
    for cfg in (tfilm, unet):  # README: --lr 3e-4 --batch-size 64 -e 120; run.py: b1 0.9, b2 0.999
        train = cfg.train
        assert (train.optimizer, train.lr, train.batch_size, train.betas) == ("adam", 3e-4, 64, (0.9, 0.999))
        assert (train.schedule, train.grad_clip, train.steps) == ("constant", None, 5000)
        assert train.crop_seconds * 16000 == 8192
        assert cfg.loss == "rmse" and cfg.spectral_weight == 0.0


def test_quick_and_smoke_tfilm_keep_the_mirrored_up_blocks():
    for profile in ("quick", "smoke"):
        cfg = TFiLMNet.config_for(profile)
        assert (cfg.film, cfg.up_block, cfg.scale_offset) == ("scale", "mirror", 1.0)


def test_tfilm_lstm_is_a_keras_lstm_with_one_bias():
    torch.manual_seed(0)
    c, steps = 3, 5
    layer = TFiLM(channels=c, block_size=2)
    lstm = layer.lstm
    assert sum(p.numel() for p in layer.parameters()) == _keras_lstm(c, c)
    kernel, bias = lstm.weight_ih_l0[:, :c].T, lstm.weight_ih_l0[:, c]  # Keras (C, 4H) kernel, (4H,) bias
    recurrent = lstm.weight_hh_l0.T                                    # Keras (H, 4H) recurrent kernel
    # Keras' initial values: zero bias but the forget gate's 1, Glorot bound sqrt(6 / (C + 4H)).
    assert bias.tolist() == [0.0] * c + [1.0] * c + [0.0] * (2 * c)
    assert kernel.abs().max() <= (6 / (c + 4 * c)) ** 0.5
    torch.testing.assert_close(recurrent @ recurrent.T, torch.eye(c))
    with torch.no_grad():
        lstm.weight_ih_l0[:, c].normal_()  # a trained, non-trivial bias
    x = torch.randn(1, c, 2 * steps)
    scale, _ = layer.modulation(x)
    # The Keras recurrence, gates (i, f, c, o): z = x_t K + h R + b.
    pooled = torch.nn.functional.max_pool1d(x, 2)[0].T  # (steps, C)
    h, cell, expected = torch.zeros(c), torch.zeros(c), []
    with torch.no_grad():
        for x_t in pooled:
            i, f, g, o = (x_t @ kernel + h @ recurrent + lstm.weight_ih_l0[:, c]).split(c)
            cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(cell)
            expected.append(h)
    torch.testing.assert_close(scale[0], torch.stack(expected, dim=1))


@pytest.mark.parametrize("stride, length, taken", [(1, 8, [0, 1, 2, 3, 4, 5, 6, 7]), (2, 8, [1, 3, 5, 7]),
                                                   (2, 7, [0, 2, 4, 6])])
def test_same_conv_pads_as_tensorflow(stride, length, taken):
    # A centre-tap kernel copies the input sample each output is centred on. TF 'same' pads
    # max((ceil(T/s) - 1) s + k - T, 0) in total, the smaller half on the left: with k = 5, s = 2 and
    # T = 8 that is 1 left, 2 right, so output i is centred on input 2i + 1; T = 7: 2 and 2, on 2i.
    conv = SameConv1d(1, 1, 5, stride=stride)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 2] = 1.0
        conv.bias.zero_()
    x = torch.arange(float(length)).view(1, 1, -1)
    assert conv(x)[0, 0].tolist() == [float(t) for t in taken]


def test_dilated_same_conv_is_symmetric():
    conv = SameConv1d(1, 1, 3, dilation=2)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
    x = torch.zeros(1, 1, 9)
    x[0, 0, 4] = 1.0
    assert conv(x)[0, 0].tolist() == [0, 0, 1, 0, 1, 0, 1, 0, 0]
