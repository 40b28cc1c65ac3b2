"""TFDFE-ASR (Time-Frequency Domain Fusion Enhancement for Audio Super-Resolution) and its ablation rows.

One shared implementation, four registry rows (the shape of the paper's ablation, its Table 3):

    tfdfe        SWSRM + SSRM, mixed by the attention fusion TFDFM (section 3.3, Eqs. 6-13)
    tfdfe-tanh   SWSRM + SSRM, mixed by Eq. 14's closed form (section 4.6; learned temperature)
    tfdfe-swsrm  SWSRM alone (section 3.1, Eqs. 1-3)
    tfdfe-ssrm   SSRM alone (section 3.2, Eqs. 4-5)

Forward (B = batch, T_low LR samples, T = R T_low, K = HR STFT bins, N = HR STFT frames):

    lr (B, 1, T_low) --upsample (protocol.upsampler, spline by default)--> up (B, 1, T)
    SWSRM:  lr, up -> y_sw (B, 1, T)                     S_sw = STFT_HR(y_sw) (B, K, N)
    SSRM:   x = LR log-power of lr, up -> HR log-power; S_ss (B, K, N) = measured low band | predicted
            magnitude x phase
    fusion: w = TFDFM(log|S_sw|^2, log|S_ss|^2) or Eq. 14   (B, K, N)
            S = w S_sw + (1 - w) S_ss -> iSTFT_HR -> (B, 1, T)
    single-module rows return y_sw, or iSTFT_HR(S_ss).

Training (one Trainer, `train.steps` in all; the stage is a pure function of `opt.step_index`):

    stage 1, steps [0, round(module_fraction * steps)): each module on its own loss and optimiser
             ("swsrm": alpha RMSE + KL, Eq. 3; "ssrm": L1 + lambda L1 dual, Eq. 4), same batch; SWSRM
             only in the first `swsrm_share` of it (the paper trains it 150 epochs, SSRM 500)
    stage 2, the rest: the fusion alone ("fusion" optimiser) on waveform L1 + multi-resolution STFT
             loss, the modules frozen (eval mode, no gradients)
    Each stage has its own warm-up + cosine LR factor on top of the Trainer's schedule (set the
    Trainer's to "constant"). Single-module rows spend every step in stage 1.

Every reading of the paper is in methods/tfdfe/README.md.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import nn

from bench.signal.degrade import upsample
from methods.api import Batch, LearnedMethod, make_optimizer, phase_start
from methods.common.losses import log_magnitude_stft_loss
from methods.tfdfe.config import SMOKE, OptimConfig, TFDFEConfig, paper_single, quick_profile
from methods.tfdfe.ssrm import SSRM, DualDownsampler, bicubic_downsample, griffin_lim, grids, log_power, unit_phase
from methods.tfdfe.swsrm import build_swsrm
from methods.tfdfe.tfdfm import TFDFM, TanhFusion


class TFDFEBase(LearnedMethod):
    """Shared machinery of the four TFDFE rows; a row only sets `components` and `fusion_kind`."""

    components: ClassVar[tuple[str, ...]] = ("swsrm", "ssrm")
    fusion_kind: ClassVar[str | None] = None      # "attention" | "tanh" | None
    training_only: ClassVar[tuple[str, ...]] = ("ssrm_dual",)
    Config = TFDFEConfig

    # --- construction ---------------------------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        c, proto = self.config, self.protocol
        self.hr_grid = grids(c.ssrm, proto.scale, proto.low_sr)[1]
        nets: dict[str, nn.Module] = {}
        if "swsrm" in self.components:
            nets["swsrm"] = build_swsrm(c.swsrm, proto.scale, proto.low_sr, proto.target_sr)
        if "ssrm" in self.components:
            nets["ssrm"] = SSRM(c.ssrm, proto.scale, proto.low_sr)
            nets["ssrm_dual"] = DualDownsampler(proto.scale, c.ssrm.dual_channels)
        if self.fusion_kind == "attention":
            nets["fusion"] = TFDFM(self.hr_grid.bins, c.fusion)
        elif self.fusion_kind == "tanh":
            nets["fusion"] = TanhFusion(self.hr_grid.bins, c.fusion.tanh_temperature, c.fusion.learn_temperature)
        if c.ssrm.phase not in ("griffinlim", "input", "random") or c.fusion.ssrm_phase not in ("swsrm", "input", "random"):
            raise ValueError(f"unknown SSRM phase source {c.ssrm.phase!r} / {c.fusion.ssrm_phase!r}")
        if c.ssrm.pairs not in ("audio", "bicubic"):
            raise ValueError(f"unknown SSRM training pairs {c.ssrm.pairs!r}; choose audio or bicubic")
        return nets

    def _fusion_trainable(self) -> bool:
        net = self.networks.get("fusion")
        return net is not None and any(p.requires_grad for p in net.parameters())

    def _stage1_share(self) -> float:
        return self.config.module_fraction if self._fusion_trainable() else 1.0

    def _swsrm_share(self) -> float:
        """Share of all steps after which SWSRM stops training (the paper trains it fewer epochs than SSRM)."""
        return self.config.swsrm_share * self._stage1_share()

    def stage_bounds(self) -> tuple[int, int]:
        """(stage-1 steps, total steps) from the config's own budget."""
        total = self.config.train.steps
        return phase_start(self._stage1_share(), total), total

    def training_phases(self) -> dict[str, float]:
        """Stage 1 (each module on its own optimiser; SSRM alone once SWSRM has stopped) and, for
        fused rows, stage 2 (the fusion alone)."""
        phases = {"modules": 0.0}
        if {"swsrm", "ssrm"} <= set(self.networks) and self._swsrm_share() < self._stage1_share():
            phases["ssrm"] = self._swsrm_share()
        if self._fusion_trainable():
            phases["fusion"] = self.config.module_fraction
        return phases

    # --- optimisers and the staged step -----------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        def make(opt: OptimConfig, params) -> torch.optim.Optimizer:
            return make_optimizer(replace(self.config.train, optimizer=opt.optimizer, lr=opt.lr, betas=opt.betas,
                                          momentum=opt.momentum, weight_decay=opt.weight_decay), params)

        c = self.config
        optimizers = {}
        if "swsrm" in self.networks:
            optimizers["swsrm"] = make(c.swsrm_opt, self.networks["swsrm"].parameters())
        if "ssrm" in self.networks:
            optimizers["ssrm"] = make(c.ssrm_opt, [*self.networks["ssrm"].parameters(),
                                                   *self.networks["ssrm_dual"].parameters()])
        if self._fusion_trainable():
            optimizers["fusion"] = make(c.fusion_opt, [p for p in self.networks["fusion"].parameters()
                                                       if p.requires_grad])
        return optimizers

    def _stage_factor(self, step: int) -> float:
        """LR factor within the current stage: linear warm-up, then constant or cosine to 0."""
        c = self.config
        n1, total = self.stage_bounds()
        start, end = (0, n1) if step < n1 else (n1, total)
        span, pos = max(1, end - start), step - start
        warm = int(c.stage_warmup * span)
        if pos < warm:
            return (pos + 1) / warm
        if c.stage_schedule == "constant":
            return 1.0
        if c.stage_schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (pos - warm) / max(1, span - warm))))
        raise ValueError(f"unknown stage_schedule {c.stage_schedule!r}; choose constant or cosine")

    def training_step(self, batch: Batch, opt: Any) -> dict[str, torch.Tensor]:
        step = opt.step_index
        factor = self._stage_factor(step)
        for o in opt.optimizers.values():
            for group in o.param_groups:
                group["lr"] *= factor
        terms = {k: torch.zeros((), device=batch.lr.device) for k in self.loss_names()}
        n1, total_steps = self.stage_bounds()
        if step < n1:  # stage 1: each module on its own loss
            if isinstance(self.networks.get("fusion"), TanhFusion):
                self.networks["fusion"].accumulate(self.hr_grid.stft(batch.hr).abs().square())
            up = self.upsampled(batch.lr)
            total = torch.zeros((), device=batch.lr.device)
            swsrm_on = step < phase_start(self._swsrm_share(), total_steps)
            for name in ("swsrm", "ssrm") if swsrm_on else ("ssrm",):
                if name in self.networks:
                    module_terms = getattr(self, f"_{name}_losses")(batch, up)
                    opt.step(name, module_terms[name], terms=module_terms)
                    terms.update({k: v.detach() for k, v in module_terms.items()})
                    total = total + module_terms[name].detach()
        else:  # stage 2: the fusion on the frozen modules
            for name in ("swsrm", "ssrm", "ssrm_dual"):
                self.networks[name].eval()
            fusion_terms = self._fusion_losses(batch)
            opt.step("fusion", fusion_terms["fusion"], terms=fusion_terms)
            terms.update({k: v.detach() for k, v in fusion_terms.items()})
            total = fusion_terms["fusion"].detach()
        terms["loss"] = total
        return terms

    # --- losses ----------------------------------------------------------------------------------------
    def loss_names(self) -> list[str]:
        names = ["loss"]
        if "swsrm" in self.networks:
            names += ["swsrm", "swsrm_rmse", "swsrm_kl"] + (["swsrm_stft"] if self.config.swsrm.stft_weight else [])
        if "ssrm" in self.networks:
            names += ["ssrm", "ssrm_l1", "ssrm_dual"]
        if self._fusion_trainable():
            names += ["fusion", "fusion_wave", "fusion_stft"]
        return names

    def _swsrm_losses(self, batch: Batch, up: torch.Tensor) -> dict[str, torch.Tensor]:
        """Eq. 3: alpha * RMSE (Eq. 1) + KL (Eq. 2), in the module's domain (swsrm.py)."""
        c, net = self.config.swsrm, self.networks["swsrm"]
        out = net(batch.lr, up)
        err, kl = net.rmse(out, batch.hr), net.kl(out)
        terms = {"swsrm": c.alpha * err + kl, "swsrm_rmse": err, "swsrm_kl": kl}
        if c.stft_weight:
            spec = log_magnitude_stft_loss(out["y"], batch.hr, self._stft_sizes(c.stft_ms))
            terms["swsrm"] = terms["swsrm"] + c.stft_weight * spec
            terms["swsrm_stft"] = spec
        return terms

    def _stft_sizes(self, ms: tuple[float, ...]) -> tuple[int, ...]:
        """STFT sizes in samples at the target rate for durations in ms (at least 16)."""
        return tuple(max(16, int(round(m * 1e-3 * self.protocol.target_sr))) for m in ms)

    def _ssrm_losses(self, batch: Batch, up: torch.Tensor) -> dict[str, torch.Tensor]:
        """Eq. 4: L1(H(x), y) + lambda * L1(D(H(x)), x) on HR log10 power; x from the LR crop or,
        with bicubic pairs (section 4.2), the HR spectrogram y shrunk by bicubic interpolation."""
        ssrm = self.networks["ssrm"]
        target = log_power(self.hr_grid.stft(batch.hr)).unsqueeze(1)
        if self.config.ssrm.pairs == "bicubic":
            x = bicubic_downsample(target, self.protocol.scale)
        else:
            x = ssrm.lr_logpower(batch.lr)
        out = ssrm(x, up)
        l1 = (out["sr"] - target).abs().mean()
        dual = (self.networks["ssrm_dual"](out["sr"]) - out["lr_logp"]).abs().mean()
        return {"ssrm": l1 + self.config.ssrm.dual_weight * dual, "ssrm_l1": l1, "ssrm_dual": dual}

    def _fusion_losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Waveform L1 + multi-resolution STFT loss of the fused output (modules frozen)."""
        with torch.no_grad():
            parts = self._module_spectra(batch.lr)
        est = self._fuse(parts, batch.lr.shape[-1] * self.protocol.scale)
        wave = (est - batch.hr).abs().mean()
        spec = log_magnitude_stft_loss(est, batch.hr, self._stft_sizes(self.config.fusion.stft_ms))
        return {"fusion": wave + self.config.fusion.stft_weight * spec, "fusion_wave": wave, "fusion_stft": spec}

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Every active term at once (for evaluation): "loss" = the sum of the stage losses."""
        up = self.upsampled(batch.lr)
        terms: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=batch.lr.device)
        for name in ("swsrm", "ssrm"):
            if name in self.networks:
                part = getattr(self, f"_{name}_losses")(batch, up)
                terms.update(part)
                total = total + part[name]
        if self._fusion_trainable():
            part = self._fusion_losses(batch)
            terms.update(part)
            total = total + part["fusion"]
        terms["loss"] = total
        return terms

    # --- forward ---------------------------------------------------------------------------------------
    def upsampled(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) -> (B, 1, T_low R): the interpolated input both modules start from."""
        return upsample(lr, self.protocol.scale, self.protocol.upsampler)

    def _phase(self, source: str, up: torch.Tensor, s_sw: torch.Tensor | None) -> torch.Tensor:
        """Unit phasors (B, K, N) for SSRM's new band (README: "SSRM phase")."""
        if source == "swsrm":
            return unit_phase(s_sw)
        ref = self.hr_grid.stft(up)
        if source == "input":
            return unit_phase(ref)
        # "random" (also Griffin-Lim's start): a fixed draw, so enhance is deterministic
        gen = torch.Generator(device="cpu").manual_seed(0)
        angle = torch.rand(ref.shape, generator=gen, dtype=ref.real.dtype).to(ref.device) * (2 * math.pi)
        return torch.polar(torch.ones_like(angle), angle)

    def _module_spectra(self, lr: torch.Tensor) -> dict[str, torch.Tensor]:
        """The modules' outputs: y_sw (B, 1, T) and HR STFTs S_sw, S_ss (B, K, N) where present."""
        up = self.upsampled(lr)
        parts: dict[str, torch.Tensor] = {}
        s_sw = None
        if "swsrm" in self.networks:
            parts["y_sw"] = self.networks["swsrm"](lr, up)["y"]
            if "ssrm" in self.networks:
                s_sw = parts["S_sw"] = self.hr_grid.stft(parts["y_sw"])
        if "ssrm" in self.networks:
            source = self.config.fusion.ssrm_phase if s_sw is not None else self.config.ssrm.phase
            ssrm = self.networks["ssrm"]
            out = ssrm(ssrm.lr_logpower(lr), up)
            spec = ssrm.spectrum(out, self._phase("random" if source == "griffinlim" else source,
                                                                   up, s_sw))
            if source == "griffinlim":
                spec = griffin_lim(spec, out["low"].shape[1], self.hr_grid, up.shape[-1],
                                   self.config.ssrm.griffin_lim_iters)
            parts["S_ss"] = spec
        return parts

    def _fuse(self, parts: dict[str, torch.Tensor], length: int) -> torch.Tensor:
        """Module outputs -> (B, 1, T) the row's estimate."""
        if "S_ss" not in parts:
            return parts["y_sw"]
        if "S_sw" not in parts:
            return self.hr_grid.istft(parts["S_ss"], length)
        s_sw, s_ss = parts["S_sw"], parts["S_ss"]
        w = self.networks["fusion"](log_power(s_sw), log_power(s_ss)).float()
        return self.hr_grid.istft(w * s_sw + (1.0 - w) * s_ss, length)

    def fusion_weights(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, K, N) w_SWSRM the fused rows apply (for analysis)."""
        parts = self._module_spectra(lr)
        return self.networks["fusion"](log_power(parts["S_sw"]), log_power(parts["S_ss"]))

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) at protocol.low_sr -> (B, 1, T_low R) at protocol.target_sr."""
        return self._fuse(self._module_spectra(lr), lr.shape[-1] * self.protocol.scale)


class TFDFE(TFDFEBase):
    """TFDFE-ASR: SWSRM (frame-spectrum VAE) + SSRM (spectrogram DRN) mixed per frame and frequency by TFDFM attention."""

    name = "tfdfe"
    components = ("swsrm", "ssrm")
    fusion_kind = "attention"
    profile_overrides: ClassVar[dict] = {"smoke": SMOKE, "quick": quick_profile(module_fraction=0.56), "paper": {}}


class TFDFETanh(TFDFEBase):
    """TFDFE-ASR with Eq. 14's closed-form fusion: w = (1 +- tanh((omega - omega_bar) / tau)) / 2, tau learned."""

    name = "tfdfe-tanh"
    components = ("swsrm", "ssrm")
    fusion_kind = "tanh"
    # One parameter: a larger fusion LR lets the temperature move within the short fusion stage of quick.
    profile_overrides: ClassVar[dict] = {"smoke": SMOKE, "paper": {},
                                         "quick": {**quick_profile(module_fraction=0.88), "fusion_opt": OptimConfig(lr=5e-2)}}


class TFDFESWSRM(TFDFEBase):
    """TFDFE-ASR ablation: SWSRM alone (a VAE over the frequency vectors of the LR frames, von Mises phase)."""

    name = "tfdfe-swsrm"
    components = ("swsrm",)
    profile_overrides: ClassVar[dict] = {"smoke": SMOKE, "quick": quick_profile(), "paper": paper_single("swsrm")}


class TFDFESSRM(TFDFEBase):
    """TFDFE-ASR ablation: SSRM alone (log-spectrogram DRN xR over frequency, measured low band kept)."""

    name = "tfdfe-ssrm"
    components = ("ssrm",)
    profile_overrides: ClassVar[dict] = {"smoke": SMOKE, "quick": quick_profile(), "paper": paper_single("ssrm")}
