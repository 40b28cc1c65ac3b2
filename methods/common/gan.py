"""Adversarial training shared by the GAN-trained baselines (AERO, AP-BWE): discriminators, hinge
losses, feature matching, and the multi-optimiser `training_step` the shared Trainer drives.

Both papers' code uses the same objective family, so it lives here once:
- hinge GAN losses (slp-rl/aero src/solver.py `_get_melgan_discriminator_loss` / `_get_melgan_generator_loss`;
  yxlu-0102/AP-BWE models/model.py `discriminator_loss` / `generator_loss`):
      L_D = sum_k mean relu(1 - D_k(y)) + mean relu(1 + D_k(y_hat))      L_G^adv = sum_k mean relu(1 - D_k(y_hat))
- feature matching: sum over sub-discriminators k and layers l of mean |F_kl(y) - F_kl(y_hat)| (the real
  features detached); each paper's own scale is applied by the method (AERO: 100 * 4 / (n_layers + 1) / num_D).

Every discriminator here maps a waveform (B, 1, T) to a list, one entry per sub-discriminator, of
(score (B, S) logits, [feature maps the paper's code matches]).

Discriminators (what was read where):
- `MultiScaleDiscriminator`: MelGAN's (slp-rl/aero src/models/discriminators.py `Discriminator` /
  `NLayerDiscriminator`, the `msd_melgan` model of conf/experiment/aero_4-16_512_*.yaml: num_D 3, ndf 16,
  n_layers 4, downsampling_factor 4). Scales are separated by AvgPool1d(4, 2, padding 1). Features are all
  layers but the score (the solver's `range(len(...) - 1)`). The original builds the conv after the
  strided stack with the *second-to-last* width as input (equal to the last once the width saturates, as in
  every published config); here it takes the actual last width, identical for those configs. The
  discriminator's `apply(weights_init)` is omitted: the stored copy of src/models/utils.py has no
  `weights_init`, and MelGAN's (N(0, 0.02) written to `weight.data`) never reaches a forward under weight
  norm, which recomputes the weight from its direction and magnitude each call.
- `MultiPeriodDiscriminator`: HiFi-GAN's MPD as in AP-BWE models/model.py `DiscriminatorP` (periods
  2, 3, 5, 7, 11; widths 32, 128, 512, 1024, 1024; kernel 5, stride 3; weight norm). AP-BWE matches the
  features of every conv but the first, plus the score map (`if i > 0: fmap.append`), reproduced here.
- `MultiResolutionSpectralDiscriminator`: AP-BWE's MRAD (amplitude) and MRPD (phase): a 2-D conv stack over
  |STFT| or angle(STFT) at (n_fft, hop, win) = (512, 128, 512), (1024, 256, 1024), (2048, 512, 2048),
  rectangular window (the code's `window=None`), 64 channels; features = every conv and the score map.

Open choices: weight norm is torch's parametrization form (same function as the old hook form, different
state-dict keys); LeakyReLU slopes as the codes (0.2 MelGAN, 0.1 HiFi-GAN/AP-BWE).
"""
from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from methods.api import Batch, LearnedMethod, make_optimizer, phase_start

# One entry per sub-discriminator: (score logits (B, S), feature maps to match).
Judgement = list[tuple[torch.Tensor, list[torch.Tensor]]]


# --- losses -----------------------------------------------------------------------------------------------

def hinge_discriminator_loss(real: Judgement, fake: Judgement) -> torch.Tensor:
    """Sum over sub-discriminators of mean relu(1 - D(y)) + mean relu(1 + D(y_hat)) -> scalar."""
    return sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for (r, _), (f, _) in zip(real, fake))


def hinge_generator_loss(fake: Judgement) -> torch.Tensor:
    """Sum over sub-discriminators of mean relu(1 - D(y_hat)) -> scalar."""
    return sum(F.relu(1 - f).mean() for f, _ in fake)


def feature_matching_loss(real: Judgement, fake: Judgement) -> torch.Tensor:
    """Sum over sub-discriminators and matched layers of mean |F(y) - F(y_hat)|, real features detached."""
    return sum((fr.detach() - ff).abs().mean() for (_, frs), (_, ffs) in zip(real, fake) for fr, ff in zip(frs, ffs))


# --- discriminators ---------------------------------------------------------------------------------------

def _wn_conv1d(*args: Any, **kwargs: Any) -> nn.Conv1d:
    return weight_norm(nn.Conv1d(*args, **kwargs))


def _wn_conv2d(*args: Any, **kwargs: Any) -> nn.Conv2d:
    return weight_norm(nn.Conv2d(*args, **kwargs))


class MelGANScaleDiscriminator(nn.Module):
    """One MelGAN scale: (B, 1, T) -> score (B, T / f^n) and the n + 2 hidden feature maps.

    conv k15 (ndf) -> n strided grouped convs (k = 10 f + 1, stride f, groups c_in / 4, width x f up to
    f^(n-1) ndf) -> conv k5 (width x 2, capped) -> conv k3 to one channel; LeakyReLU(0.2) between."""

    def __init__(self, ndf: int, n_layers: int, factor: int) -> None:
        super().__init__()
        max_width = factor ** (n_layers - 1) * ndf
        layers: list[nn.Module] = [nn.Sequential(nn.ReflectionPad1d(7), _wn_conv1d(1, ndf, 15), nn.LeakyReLU(0.2))]
        width = ndf
        for _ in range(n_layers):
            out = min(width * factor, max_width)
            layers.append(nn.Sequential(_wn_conv1d(width, out, factor * 10 + 1, stride=factor, padding=factor * 5,
                                                   groups=max(1, width // 4)), nn.LeakyReLU(0.2)))
            width = out
        out = min(width * 2, max_width)
        layers.append(nn.Sequential(_wn_conv1d(width, out, 5, padding=2), nn.LeakyReLU(0.2)))
        layers.append(_wn_conv1d(out, 1, 3, padding=1))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats[-1].flatten(1), feats[:-1]


class MultiScaleDiscriminator(nn.Module):
    """MelGAN multi-scale discriminator: `num_d` scales, each on the previous one average-pooled by 2."""

    def __init__(self, num_d: int = 3, ndf: int = 16, n_layers: int = 4, factor: int = 4) -> None:
        super().__init__()
        self.scales = nn.ModuleList(MelGANScaleDiscriminator(ndf, n_layers, factor) for _ in range(num_d))
        self.pool = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> Judgement:
        out = []
        for i, scale in enumerate(self.scales):
            if i:
                x = self.pool(x)
            out.append(scale(x))
        return out


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN period discriminator: (B, 1, T) -> reflect-pad to a multiple of p -> (B, 1, T/p, p) ->
    strided (k, 1) convs over the T/p axis -> score (B, S); features = convs 2.. and the score map."""

    def __init__(self, period: int, widths: tuple[int, ...], kernel: int = 5, stride: int = 3) -> None:
        super().__init__()
        self.period = period
        convs, c_in = [], 1
        for i, c in enumerate(widths):
            last = i == len(widths) - 1
            convs.append(_wn_conv2d(c_in, c, (kernel, 1), (1 if last else stride, 1), padding=(kernel // 2, 0)))
            c_in = c
        self.convs = nn.ModuleList(convs)
        self.post = _wn_conv2d(c_in, 1, (3, 1), padding=(1, 0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, c, t = x.shape
        pad = -t % self.period
        if pad:
            x = F.pad(x, (0, pad), mode="reflect" if pad < t else "replicate")
        x = x.view(b, c, -1, self.period)
        feats = []
        for i, conv in enumerate(self.convs):
            x = F.leaky_relu(conv(x), 0.1)
            if i > 0:
                feats.append(x)
        x = self.post(x)
        feats.append(x)
        return x.flatten(1), feats


class MultiPeriodDiscriminator(nn.Module):
    """HiFi-GAN MPD: one `PeriodDiscriminator` per period."""

    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11),
                 widths: tuple[int, ...] = (32, 128, 512, 1024, 1024)) -> None:
        super().__init__()
        self.periods = nn.ModuleList(PeriodDiscriminator(p, widths) for p in periods)

    def forward(self, x: torch.Tensor) -> Judgement:
        return [d(x) for d in self.periods]


class SpectralDiscriminator(nn.Module):
    """AP-BWE's amplitude (MRAD) / phase (MRPD) sub-discriminator at one STFT resolution:
    (B, 1, T) -> |STFT| or angle(STFT) (B, 1, n_fft/2+1, N) -> five strided 2-D convs -> score (B, S)."""

    def __init__(self, resolution: tuple[int, int, int], kind: str, channels: int = 64) -> None:
        super().__init__()
        if kind not in ("amplitude", "phase"):
            raise ValueError(f"unknown spectral discriminator kind {kind!r}; choose amplitude or phase")
        self.resolution, self.kind = resolution, kind
        c = channels
        self.convs = nn.ModuleList([
            _wn_conv2d(1, c, (7, 5), (2, 2), padding=(3, 2)),
            _wn_conv2d(c, c, (5, 3), (2, 1), padding=(2, 1)),
            _wn_conv2d(c, c, (5, 3), (2, 2), padding=(2, 1)),
            _wn_conv2d(c, c, 3, (2, 1), padding=1),
            _wn_conv2d(c, c, 3, (2, 2), padding=1),
        ])
        self.post = _wn_conv2d(c, 1, 3, padding=1)

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) -> (B, 1, n_fft / 2 + 1, frames): amplitude or phase, rectangular window."""
        n_fft, hop, win = self.resolution
        spec = torch.stft(x.flatten(0, 1).float(), n_fft, hop, win, window=torch.ones(win, device=x.device),
                          center=True, pad_mode="reflect" if x.shape[-1] > n_fft // 2 else "constant",
                          return_complex=True)
        return (spec.abs() if self.kind == "amplitude" else spec.angle()).unsqueeze(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self.spectrogram(x)
        feats = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.1)
            feats.append(h)
        h = self.post(h)
        feats.append(h)
        return h.flatten(1), feats


class MultiResolutionSpectralDiscriminator(nn.Module):
    """MRAD (kind "amplitude") or MRPD (kind "phase"): one `SpectralDiscriminator` per resolution."""

    def __init__(self, kind: str, resolutions: tuple[tuple[int, int, int], ...] = (
            (512, 128, 512), (1024, 256, 1024), (2048, 512, 2048)), channels: int = 64) -> None:
        super().__init__()
        self.resolutions = nn.ModuleList(SpectralDiscriminator(r, kind, channels) for r in resolutions)

    def forward(self, x: torch.Tensor) -> Judgement:
        return [d(x) for d in self.resolutions]


# --- the training step ------------------------------------------------------------------------------------

@contextlib.contextmanager
def frozen(nets: list[nn.Module]) -> Iterator[None]:
    """Parameters of `nets` stop requiring gradients inside the block (no wasted weight gradients when the
    generator's loss is back-propagated through the discriminators)."""
    params = [p for net in nets for p in net.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class GANMethod(LearnedMethod):
    """A generator trained with a reconstruction loss plus hinge-GAN and feature-matching terms.

    A subclass lists its discriminators in `training_only`, gives each a weight in `disc_weights`
    (applied to its discriminator loss, its adversarial loss and its feature-matching loss alike, as
    AP-BWE's 0.1 for MRAD/MRPD), sets `fm_scale`, and implements `reconstruction(batch) -> (estimate
    (B, 1, T), terms)` with terms["recon"] the paper's non-adversarial generator loss.

    Config fields read here: `adv_weight` (1.0 = the papers' objective; scales the adversarial and
    feature-matching terms of the generator together) and `gan_from` (the share of the training steps
    spent on reconstruction alone before the discriminators join; 0 = the papers).

    Optimisers: "gen" over the inference networks, and one per discriminator, named as the network. Both
    codes use one Adam(W) over all their discriminators; Adam(W) updates each parameter on its own, so one
    optimiser per discriminator with the same settings takes the same steps, and the Trainer's per-optimiser
    gradient clipping then clips each discriminator's norm on its own, as AP-BWE's train_16k.py does.

    One step (from the GAN phase on), with `discriminators_first` (AP-BWE's order, train/train_16k.py):
    discriminators on (y, y_hat.detach()), then the generator on recon + adv_weight (L_G^adv + fm_scale
    L_FM) against the just-updated discriminators. Without it (AERO's order, src/solver.py): the generator
    first, against the discriminators as they were, then the discriminators on the same detached output.
    """

    fm_scale: float = 1.0
    discriminators_first: ClassVar[bool] = True

    def disc_weights(self) -> dict[str, float]:
        raise NotImplementedError

    def reconstruction(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        train = self.config.train
        gen = [p for n in self.inference_networks().values() for p in n.parameters()]
        return {"gen": make_optimizer(train, gen),
                **{name: make_optimizer(train, self.networks[name].parameters()) for name in self.training_only}}

    def discriminator_losses(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """Weighted hinge discriminator loss of each discriminator, by network name; (B, 1, T) each."""
        return {n: w * hinge_discriminator_loss(self.networks[n](real), self.networks[n](fake))
                for n, w in self.disc_weights().items()}

    def step_discriminators(self, opt: Any, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """One optimiser step per discriminator on its own weighted loss ((B, 1, T) each, `fake` detached);
        returns their sum, detached. The discriminators share no parameters, so stepping each on its own
        term gives the gradients of the summed loss."""
        losses = self.discriminator_losses(real, fake)
        for name, loss in losses.items():
            opt.step(name, loss, terms={name: loss})
        return sum(loss.detach() for loss in losses.values())

    def generator_adversarial_loss(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"adv": weighted hinge generator loss, "fm": weighted fm_scale * feature matching}, (B, 1, T) each."""
        adv, fm = real.new_zeros(()), real.new_zeros(())
        for n, w in self.disc_weights().items():
            with torch.no_grad():
                judged_real = self.networks[n](real)
            judged_fake = self.networks[n](fake)
            adv = adv + w * hinge_generator_loss(judged_fake)
            fm = fm + w * self.fm_scale * feature_matching_loss(judged_real, judged_fake)
        return {"adv": adv, "fm": fm}

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """The reconstruction terms; "loss" = the paper's non-adversarial generator loss (what the
        contract test watches fall; the adversarial terms are tested in tests/unit/test_aero_apbwe.py)."""
        _, terms = self.reconstruction(batch)
        return {**terms, "loss": terms["recon"]}

    def training_phases(self) -> dict[str, float]:
        """Reconstruction-only steps, then steps that also train the discriminators (dearer)."""
        return {"reconstruction": 0.0, "gan": self.config.gan_from} if self.config.gan_from > 0 else {"gan": 0.0}

    def training_step(self, batch: Batch, opt: Any) -> dict[str, torch.Tensor]:
        c = self.config
        est, terms = self.reconstruction(batch)
        gen = terms["recon"]
        out = {k: v.detach() for k, v in terms.items()}
        if opt.step_index < phase_start(c.gan_from, c.train.steps):
            # a constant log layout: the disc / adv / fm columns read 0 before the GAN starts
            out.update(disc=gen.new_zeros(()), adv=gen.new_zeros(()), fm=gen.new_zeros(()))
            opt.step("gen", gen, terms=terms)
            out["loss"] = gen.detach()
            return out
        if self.discriminators_first:
            out["disc"] = self.step_discriminators(opt, batch.hr, est.detach())
        with frozen([self.networks[n] for n in self.training_only]):
            adversarial = self.generator_adversarial_loss(batch.hr, est)
        gen = gen + c.adv_weight * (adversarial["adv"] + adversarial["fm"])
        opt.step("gen", gen, terms=terms)
        if not self.discriminators_first:  # the generator's step leaves the discriminators as they were
            out["disc"] = self.step_discriminators(opt, batch.hr, est.detach())
        out.update({k: v.detach() for k, v in adversarial.items()}, loss=gen.detach())
        return out
