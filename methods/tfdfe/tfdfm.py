"""TFDFM, the time-frequency domain fusion module of TFDFE-ASR (the TFDFE-ASR paper, section 3.3,
Eqs. 6-13, and Eq. 14 of section 4.6).

An attentive feature pyramid after MM-Pyramid (Yu et al. 2022) over two token sequences, one per
domain, at the HR STFT frame rate; it predicts per-frame, per-frequency weights that mix the two
modules' HR STFTs before the inverse STFT.

Shapes (B = batch, N = frames, K = HR STFT bins, E = model width, P = pyramid units):

    a = log-power of the SWSRM output's HR STFT (B, K, N), b = the same for SSRM
    embed:  LayerNorm(Linear(K -> E)) per domain (separate weights)       -> A, B (B, N, E)
    unit p (window d_p), for each domain X with the other domain Y:
        C = [SA_d(X), DFA_d(X <- Y)]  (B, N, 2E)       SA: q, k, v from X; DFA: q from X, k, v from Y;
                                                       W_q, W_k, W_v shared by SA, DFA and both domains
        g = sigmoid(Linear(mean_t C))  (B, 1, 2E)      channel attention on the concatenation
        X' = LN(X + (g C)[:E] + (g C)[E:])             refined single- and cross-domain features summed
        X'' = LN(X' + FFN(X'))
        attention restricted to the interaction window S_t(x, d) = [x_{t-d} .. x_{t+d}] (Eq. 13)
    units are stacked (the windows grow, d_1 < d_2 < ...), each unit's A'' + B'' is one pyramid level
    adaptive fusion: g = sigmoid(Linear(mean_t [level_1 .. level_P]))     channel attention (B, P E)
                     H = Linear(g * [level_1 .. level_P]) (P E -> E)      (B, N, E)
    head: Linear(E -> K) + sigmoid = w_SWSRM(t, k); w_SSRM = 1 - w_SWSRM   (B, K, N)
    mixed STFT = w_SWSRM * S_SWSRM + w_SSRM * S_SSRM

`TanhFusion` is Eq. 14's closed form: w_SWSRM(k) = (1 + tanh((omega_k - omega_bar) / tau)) / 2 with
omega normalised by the target Nyquist (see its docstring); both weights sum to one by construction.

What was read where (section 3.3; decisions in README "TFDFM"): scaled dot-product attention Eq. 6;
SA Eqs. 7, 10; DFA Eqs. 8-9, 11-12 (query from one domain, key/value from the other, the DFA
projections shared); the interaction window Eq. 13; feed-forward layer, layer norm and residuals;
SA and DFA outputs concatenated along channels, refined by a channel attention of linear layers and a
sigmoid, and the refined single- and cross-domain features summed; units with growing windows form
the pyramid (after MM-Pyramid, which section 3.3 cites); an adaptive fusion layer selects among them.
The window is a dense (N, N) boolean mask: O(N^2) work, fine for the few thousand frames of a chunk.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class FusionConfig:
    width: int = 256                       # E
    heads: int = 4
    windows: tuple[int, ...] = (1, 2, 4, 8)  # d of each pyramid unit, in frames (Eq. 13)
    ffn_mult: int = 2
    dropout: float = 0.0
    # Eq. 14 variant: temperature of the tanh on frequency normalised by the target Nyquist
    # (1.0 = the paper's formula read on normalised frequency), learned in the fusion stage or fixed.
    tanh_temperature: float = 1.0
    learn_temperature: bool = True
    # Phase of SSRM's new band inside the fusion: "swsrm" (the SWSRM output's phase) | "input"
    ssrm_phase: str = "swsrm"
    # Fusion-stage loss: waveform L1 + multi-resolution STFT loss at these sizes (in ms at the target rate)
    stft_ms: tuple[float, ...] = (16.0, 32.0, 64.0, 128.0)
    stft_weight: float = 1.0


def window_mask(n: int, d: int, device=None) -> torch.Tensor:
    """(N, N) bool, True where attention is allowed: position t sees exactly s in [t - d, t + d]."""
    t = torch.arange(n, device=device)
    return (t.view(-1, 1) - t.view(1, -1)).abs() <= d


class WindowedAttention(nn.Module):
    """Multi-head attention restricted to the interaction window; the projections are shared by
    every call (self-attention: q and kv from the same tokens; fusion attention: from two domains)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"fusion width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.q, self.k, self.v = nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.o = nn.Linear(width, width)

    def forward(self, query: torch.Tensor, source: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """query (B, N, E) attends to source (B, N, E) where mask (N, N) -> (B, N, E)."""
        b, n, e = query.shape
        split = lambda x: x.view(b, n, self.heads, e // self.heads).transpose(1, 2)  # noqa: E731
        out = F.scaled_dot_product_attention(split(self.q(query)), split(self.k(source)), split(self.v(source)),
                                             attn_mask=mask)
        return self.o(out.transpose(1, 2).reshape(b, n, e))


class PyramidUnit(nn.Module):
    """One pyramid unit at window d: (A, B) (B, N, E) each -> (A'', B'') (Eqs. 7-12)."""

    def __init__(self, width: int, heads: int, window: int, ffn_mult: int, dropout: float) -> None:
        super().__init__()
        self.window = window
        self.attn = WindowedAttention(width, heads)
        self.gate = nn.Linear(2 * width, 2 * width)
        nn.init.zeros_(self.gate.weight)  # start with g = 0.5: half of SA + DFA
        nn.init.zeros_(self.gate.bias)
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.ffn = nn.Sequential(nn.Linear(width, ffn_mult * width), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(ffn_mult * width, width))
        self.drop = nn.Dropout(dropout)

    def _update(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """X (B, N, E) updated from itself (SA) and from the other domain Y (DFA) -> X'' (B, N, E)."""
        both = torch.cat([self.attn(x, x, mask), self.attn(x, y, mask)], dim=-1)          # (B, N, 2E)
        refined = torch.sigmoid(self.gate(both.mean(dim=1, keepdim=True))) * both
        sa, dfa = refined.chunk(2, dim=-1)
        h = self.norm1(x + self.drop(sa + dfa))
        return self.norm2(h + self.drop(self.ffn(h)))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = window_mask(a.shape[1], self.window, a.device)
        return self._update(a, b, mask), self._update(b, a, mask)


class TFDFM(nn.Module):
    """Attention fusion: log-powers a, b (B, K, N) -> w_SWSRM (B, K, N) in (0, 1)."""

    def __init__(self, bins: int, cfg: FusionConfig) -> None:
        super().__init__()
        e = cfg.width
        self.embed_a = nn.Sequential(nn.Linear(bins, e), nn.LayerNorm(e))
        self.embed_b = nn.Sequential(nn.Linear(bins, e), nn.LayerNorm(e))
        self.units = nn.ModuleList(PyramidUnit(e, cfg.heads, d, cfg.ffn_mult, cfg.dropout) for d in cfg.windows)
        levels = len(cfg.windows)
        self.gate = nn.Linear(levels * e, levels * e)
        self.combine = nn.Linear(levels * e, e)
        self.head = nn.Linear(e, bins)
        nn.init.zeros_(self.head.weight)  # start at w = 0.5 everywhere
        nn.init.zeros_(self.head.bias)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # log10 power is roughly in [-8, 4]: centre and scale it before the embedding
        xa, xb = self.embed_a((a.transpose(1, 2) + 3.0) / 3.0), self.embed_b((b.transpose(1, 2) + 3.0) / 3.0)
        levels = []
        for unit in self.units:
            xa, xb = unit(xa, xb)
            levels.append(xa + xb)            # single-domain and cross-domain features summed
        stacked = torch.cat(levels, dim=-1)   # (B, N, P E)
        gate = torch.sigmoid(self.gate(stacked.mean(dim=1, keepdim=True)))
        fused = self.combine(gate * stacked)
        return torch.sigmoid(self.head(fused)).transpose(1, 2)


class TanhFusion(nn.Module):
    """Eq. 14: w_SWSRM(omega) = (1 + tanh((omega - omega_bar) / tau)) / 2, w_SSRM = 1 - w_SWSRM.

    omega: bin centre frequency divided by the target Nyquist (0..1); omega_bar: the training data's
    mean frequency (power-weighted spectral centroid, accumulated over the HR crops seen in stage 1,
    same normalisation); tau: temperature (1.0 reads the paper's formula on normalised frequency),
    positive, learned in the fusion stage when `learn` (log-parametrised) or fixed.
    """

    def __init__(self, bins: int, temperature: float, learn: bool) -> None:
        super().__init__()
        self.log_tau = nn.Parameter(torch.tensor(math.log(temperature)), requires_grad=learn)
        self.register_buffer("power_sum", torch.zeros((), dtype=torch.float64))
        self.register_buffer("weighted_sum", torch.zeros((), dtype=torch.float64))
        self.register_buffer("omega", torch.linspace(0.0, 1.0, bins))

    @property
    def omega_bar(self) -> torch.Tensor:
        """The mean normalised frequency seen so far (0.5 before any data)."""
        if float(self.power_sum) <= 0:
            return torch.tensor(0.5, device=self.omega.device)
        return (self.weighted_sum / self.power_sum).float()

    @torch.no_grad()
    def accumulate(self, power: torch.Tensor) -> None:
        """Add HR power spectra (B, K, N) to the running mean-frequency sums."""
        p = power.double().sum(dim=(0, 2))
        self.power_sum += p.sum()
        self.weighted_sum += (p * self.omega.double()).sum()

    def weights(self) -> torch.Tensor:
        """(K,) w_SWSRM per bin."""
        return 0.5 * (1.0 + torch.tanh((self.omega - self.omega_bar) / self.log_tau.exp()))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.weights().view(1, -1, 1).expand_as(a)
