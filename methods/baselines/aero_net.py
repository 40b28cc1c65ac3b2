"""AERO's generator: an HDemucs-style encoder-decoder over the complex STFT (methods/baselines/aero.py has
the method, its recipe and what was read where in slp-rl/aero).

Shapes (B batch, T_low LR samples, R scale, n = n_fft, F = n / 2 bins (Nyquist dropped), N frames,
C_l = channels * growth^l):

    lr (B, 1, T_low) -> STFT at the LR rate: n-point, window n / R, hop h_low = hop // R, normalised
                     -> (B, F, N) complex -> (B, 2, F, N) real/imag channels, normalised by its mean and std
    encoder layer l (F_l -> F_l / s_l over frequency only):
        [l = 0: 1x1 conv 2 -> C_0]  [FTB frequency attention]  conv (k, 1) stride (s_l, 1)  [GroupNorm]  GELU
        DConv residual branch per frequency row over time (dilated convs, Snake, [BiLSTM, local attention])
        1x1 conv -> 2 C_l [GroupNorm] GLU                                       -> (B, C_l, F_l / s_l, N)
        after layer 0: + 0.2 x a learned frequency embedding (B, C_0, F_1, N)
    decoder layer l (from the deepest; its input starts as zeros, the encoder output reaches it as the skip):
        cat(x, skip) -> conv 3x3 -> 2 (2 C_l) [GroupNorm] GLU -> transposed conv (k, 1) stride (s_l, 1)
        [GroupNorm] -> crop (k - s_l) / 2 bins each side -> GELU (not after the last) -> (B, C_{l-1} or 2, F_l, N)
    de-normalise -> complex (B, F, N), zero Nyquist row appended -> iSTFT at the target rate: n-point,
    window n, hop h_low R -> (B, 1, T_low R). The LR and HR STFTs have the same N frames and F bins:
    bin k is k low_sr / n Hz at the input and k target_sr / n Hz at the output (the code's `spec_upsample`).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class Snake(nn.Module):
    """x + sin^2(a x) / a with one trainable a per entry of the last axis (size `features`)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.distributions.Exponential(torch.tensor(0.1)).sample((features,)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.sin(self.a * x).square() / self.a


class FTB(nn.Module):
    """Frequency transformation block: (B, C, F, N) -> (B, C, F, N).

    T-F attention: 1x1 conv C -> r, flatten (r F) per frame, conv k9 over time -> C gains per frame that
    scale the input; a bias-free Linear(F, F) mixes frequencies; 1x1 conv over [that, input] -> C."""

    def __init__(self, freqs: int, channels: int, reduced: int = 5) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(channels, reduced, 1), nn.BatchNorm2d(reduced), nn.ReLU())
        self.gains = nn.Sequential(nn.Conv1d(reduced * freqs, channels, 9, padding=4), nn.BatchNorm1d(channels),
                                   nn.ReLU())
        self.freq_fc = nn.Linear(freqs, freqs, bias=False)
        self.fuse = nn.Sequential(nn.Conv2d(2 * channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        b, r, f, n = s.shape
        att = self.gains(s.reshape(b, r * f, n)).unsqueeze(2) * x
        mixed = self.freq_fc(att.transpose(2, 3)).transpose(2, 3)
        return self.fuse(torch.cat([mixed, x], dim=1))


class BLSTM(nn.Module):
    """(M, C, N) -> (M, C, N): 2-layer bidirectional LSTM (hidden C), Linear(2C -> C), plus the input."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, num_layers=2, bidirectional=True, batch_first=True)
        self.linear = nn.Linear(2 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.linear(self.lstm(x.transpose(1, 2))[0]).transpose(1, 2)


class LocalState(nn.Module):
    """(M, C, N) -> (M, C, N): multi-head attention over time without positional embedding, with learned
    per-query decays (-d |t - s| / sqrt(D) for d = 1..D, weights sigmoid / 2) and no self attention."""

    def __init__(self, channels: int, heads: int = 4, ndecay: int = 4) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"LocalState: {channels} channels are not divisible by {heads} heads")
        self.heads, self.ndecay = heads, ndecay
        self.content, self.query, self.key = (nn.Conv1d(channels, channels, 1) for _ in range(3))
        self.query_decay = nn.Conv1d(channels, heads * ndecay, 1)
        with torch.no_grad():  # start with a near-zero decay (sigmoid(-2) / 2): the widest window
            self.query_decay.weight.mul_(0.01)
            self.query_decay.bias.fill_(-2.0)
        self.proj = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, c, n = x.shape
        h = self.heads
        idx = torch.arange(n, device=x.device, dtype=x.dtype)
        delta = idx[:, None] - idx[None, :]
        queries, keys = self.query(x).view(m, h, -1, n), self.key(x).view(m, h, -1, n)
        dots = torch.einsum("bhct,bhcs->bhts", keys, queries) / keys.shape[2] ** 0.5
        decays = torch.arange(1, self.ndecay + 1, device=x.device, dtype=x.dtype)
        decay_q = torch.sigmoid(self.query_decay(x).view(m, h, -1, n)) / 2
        decay_kernel = -decays.view(-1, 1, 1) * delta.abs() / self.ndecay ** 0.5
        dots = dots + torch.einsum("fts,bhfs->bhts", decay_kernel, decay_q)
        dots = dots.masked_fill(torch.eye(n, device=x.device, dtype=torch.bool), -100.0)
        weights = torch.softmax(dots, dim=2)
        result = torch.einsum("bhts,bhct->bhcs", weights, self.content(x).view(m, h, -1, n))
        return x + self.proj(result.reshape(m, -1, n))


class DConv(nn.Module):
    """Residual branch applied to each frequency row over time: (B, C, F, N) -> (B, C, F, N).

    depth x [dilated conv k3 C -> C/compress, GroupNorm(1), Snake(F), (BLSTM), (LocalState),
    1x1 conv -> 2C, GroupNorm(1), GLU, LayerScale(init)] each added to its input."""

    def __init__(self, channels: int, freqs: int, depth: int, compress: int, init: float, lstm: bool,
                 attention: bool) -> None:
        super().__init__()
        hidden = channels // compress
        self.hidden = hidden
        self.layers = nn.ModuleList()
        for d in range(depth):
            layer = nn.ModuleDict({
                "conv1": nn.Sequential(nn.Conv1d(channels, hidden, 3, dilation=2 ** d, padding=2 ** d),
                                       nn.GroupNorm(1, hidden)),
                "act": Snake(freqs),
                "conv2": nn.Sequential(nn.Conv1d(hidden, 2 * channels, 1), nn.GroupNorm(1, 2 * channels), nn.GLU(1)),
            })
            if lstm:
                layer["lstm"] = BLSTM(hidden)
            if attention:
                layer["attention"] = LocalState(hidden)
            self.layers.append(layer)
        self.scales = nn.ParameterList(nn.Parameter(torch.full((channels,), init)) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, f, n = x.shape
        x = x.permute(0, 2, 1, 3).reshape(b * f, c, n)
        for layer, scale in zip(self.layers, self.scales):
            h = layer["conv1"](x)
            # Snake has one parameter per frequency row: move the rows to the last axis for it
            h = layer["act"](h.view(b, f, self.hidden, n).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            h = h.reshape(b * f, self.hidden, n)
            if "lstm" in layer:
                h = layer["lstm"](h)
            if "attention" in layer:
                h = layer["attention"](h)
            x = x + scale[:, None] * layer["conv2"](h)
        return x.view(b, f, c, n).permute(0, 2, 1, 3)


def _group_norm(on: bool, groups: int, channels: int) -> nn.Module:
    return nn.GroupNorm(groups, channels) if on else nn.Identity()


class EncoderLayer(nn.Module):
    """(B, C_in, F, N) -> (B, C_out, F / stride, N); see the module docstring."""

    def __init__(self, c_in: int, c_out: int, freqs: int, kernel: int, stride: int, *, first: bool, ftb: bool,
                 norm: bool, groups: int, dconv: dict) -> None:
        super().__init__()
        kernel = min(kernel, freqs)
        self.pre = nn.Conv2d(c_in, c_out, 1) if first else nn.Identity()
        c_in = c_out if first else c_in
        self.ftb = FTB(freqs, c_in) if ftb else nn.Identity()
        self.conv = nn.Conv2d(c_in, c_out, (kernel, 1), (stride, 1), padding=((kernel - stride) // 2, 0))
        self.norm1 = _group_norm(norm, groups, c_out)
        self.dconv = DConv(c_out, freqs // stride, **dconv)
        self.rewrite = nn.Conv2d(c_out, 2 * c_out, 1)
        self.norm2 = _group_norm(norm, groups, 2 * c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.norm1(self.conv(self.ftb(self.pre(x)))))
        return F.glu(self.norm2(self.rewrite(self.dconv(x))), dim=1)


class DecoderLayer(nn.Module):
    """(B, C, F, N) and its skip (B, C, F, N) -> (B, C_out, F * stride, N); see the module docstring."""

    def __init__(self, c_in: int, c_out: int, freqs: int, kernel: int, stride: int, *, last: bool, norm: bool,
                 groups: int) -> None:
        super().__init__()
        kernel = min(kernel, freqs)
        self.crop = (kernel - stride) // 2
        self.last = last
        self.rewrite = nn.Conv2d(c_in, 2 * c_in, 3, padding=1)
        self.norm1 = _group_norm(norm, groups, 2 * c_in)
        self.conv_tr = nn.ConvTranspose2d(c_in, c_out, (kernel, 1), (stride, 1))
        self.norm2 = _group_norm(norm, groups, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        y = F.glu(self.norm1(self.rewrite(torch.cat([x, skip], dim=1))), dim=1)
        z = self.norm2(self.conv_tr(y))
        if self.crop:
            z = z[:, :, self.crop:-self.crop]
        return z if self.last else F.gelu(z)


class AeroNet(nn.Module):
    """The generator: normalised LR spectrogram channels (B, 2, F, N) -> HR spectrogram channels (B, 2, F, N)."""

    def __init__(self, c: Any) -> None:  # AERO.Config (methods/baselines/aero.py)
        super().__init__()
        freqs = c.n_fft // 2
        self.encoder, self.decoder = nn.ModuleList(), nn.ModuleList()
        c_in, c_out = 2, c.channels
        for i, stride in enumerate(c.strides):
            norm = i >= c.norm_starts
            dconv = {"depth": c.dconv_depth, "compress": c.dconv_compress, "init": c.dconv_init,
                     "lstm": i >= c.dconv_lstm_from, "attention": i >= c.dconv_attention_from}
            self.encoder.append(EncoderLayer(c_in, c_out, freqs, c.kernel, stride, first=i == 0,
                                             ftb=i >= c.ftb_from, norm=norm, groups=c.norm_groups, dconv=dconv))
            self.decoder.insert(0, DecoderLayer(2 * c_out, 2 if i == 0 else c_in, freqs, c.kernel, stride,
                                                last=i == 0, norm=norm, groups=c.norm_groups))
            freqs //= stride
            if i == 0:
                # Frequency embedding after the first layer (ScaledEmbedding): smooth init, x emb_scale.
                table = torch.randn(freqs, c_out).cumsum(0) / torch.arange(1, freqs + 1).sqrt()[:, None]
                self.freq_emb = nn.Parameter(table / c.emb_scale)
            c_in, c_out = c_out, int(c.growth * c_out)
        self.emb_scale, self.emb_weight = c.emb_scale, c.freq_emb
        _rescale_conv1d(self, c.rescale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i == 0 and self.emb_weight:
                x = x + self.emb_weight * (self.freq_emb * self.emb_scale).t()[None, :, :, None]
            skips.append(x)
        x = torch.zeros_like(x)
        for layer in self.decoder:
            x = layer(x, skips.pop())
        return x


def _rescale_conv1d(module: nn.Module, reference: float) -> None:
    """HDemucs' `rescale_module`: divide each Conv1d's weight and bias by sqrt(std(weight) / reference)."""
    if not reference:
        return
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, (nn.Conv1d, nn.ConvTranspose1d)):
                scale = (sub.weight.std() / reference) ** 0.5
                sub.weight.div_(scale)
                if sub.bias is not None:
                    sub.bias.div_(scale)
