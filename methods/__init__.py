"""The method registry: name -> "module:Class", with the one-liners `bench list methods` shows.

Lazy on purpose: listing methods or validating a command line never imports a model module.
Adding a method is one module under methods/ plus one row here (CONTRIBUTING.md). Methods kept outside this repository
can be added without editing it: BENCH_EXTRA_METHODS="name=package.module:Class,..." (the module must
be importable by every worker, e.g. through PYTHONPATH).
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

from bench.core.spec import SpecError


# Where a method's `paper` configuration comes from, shown by `bench list methods` and on every page.
PUBLISHED = "published recipe"                                 # architecture and training from the official code
ADAPTED = "published architecture, adapted training"           # official model, training changed (named fields)
REBUILT = "rebuilt from the paper's description (no official code)"
CLASSICAL = "classical signal processing (nothing trained)"
EXTERNAL = "registered through BENCH_EXTRA_METHODS"


@dataclass(frozen=True)
class MethodEntry:
    name: str
    target: str  # "package.module:Class"
    summary: str
    trainable: bool
    provenance: str  # one of the labels above; the module docstring lists every deviation

    def provenance_for(self, profile: str) -> str:
        """The label of this method's rows of `profile`: smoke and quick train every learned method on the
        suite's budget, so a published recipe is adapted training there."""
        if profile != "paper" and self.provenance == PUBLISHED:
            return f"{ADAPTED} (`{profile}` budget)"
        return self.provenance


REGISTRY: dict[str, MethodEntry] = {e.name: e for e in [
    MethodEntry("spline", "methods.baselines.interp:Spline",
                "cubic-spline interpolation of the LR signal (the unprocessed input of the seed paper)", False, CLASSICAL),
    MethodEntry("sinc", "methods.baselines.interp:Sinc",
                "windowed-sinc (polyphase Kaiser) interpolation", False, CLASSICAL),
    MethodEntry("linear", "methods.baselines.interp:Linear",
                "linear interpolation", False, CLASSICAL),
    MethodEntry("noisefill", "methods.baselines.dsp:NoiseFill",
                "spline input plus low-level white noise high-passed into the empty band", False, CLASSICAL),
    MethodEntry("sbr", "methods.baselines.dsp:SpectralBandReplication",
                "HE-AAC-style spectral band replication: upper LR band copied up under a decaying envelope", False, CLASSICAL),
    MethodEntry("audiounet", "methods.baselines.audiounet:AudioUNet",
                "AudioUNet (Kuleshov et al. 2017): 1-D U-Net, subpixel upsampling, additive skip from spline", True, PUBLISHED),
    MethodEntry("tfilm", "methods.baselines.tfilm:TFiLMNet",
                "TFiLM (Birnbaum et al. 2019): AudioUNet with temporal FiLM (block max-pool, LSTM, scale/shift)", True, PUBLISHED),
    MethodEntry("nuwave", "methods.baselines.nuwave:NuWave",
                "NU-Wave (Lee & Han 2021): conditional waveform diffusion, DiffWave-style residual stack "
                "(quick, not published: diffuses 30 x (HR - LR) and keeps the LR band in every step)", True, PUBLISHED),
    MethodEntry("nuwave2", "methods.baselines.nuwave2:NuWave2",
                "NU-Wave 2 (Han & Lee 2022): diffusion with STFC + bandwidth-conditioned BSFT, any input rate "
                "(quick, not published: residual diffusion with the LR band kept, as NU-Wave)", True, PUBLISHED),
    MethodEntry("tfdfe", "methods.tfdfe.model:TFDFE",
                "TFDFE-ASR (seed paper): frame-spectrum VAE (SWSRM) + spectrogram U-Net (SSRM) fused by windowed attention", True, REBUILT),
    MethodEntry("tfdfe-tanh", "methods.tfdfe.model:TFDFETanh",
                "TFDFE-ASR with the closed-form Eq. 14 tanh fusion of the two modules", True, REBUILT),
    MethodEntry("tfdfe-swsrm", "methods.tfdfe.model:TFDFESWSRM",
                "TFDFE-ASR ablation: the sound-wave module (SWSRM, a VAE on windowed-frame spectra) alone", True, REBUILT),
    MethodEntry("tfdfe-ssrm", "methods.tfdfe.model:TFDFESSRM",
                "TFDFE-ASR ablation: the spectrogram dual-regression U-Net (SSRM) alone", True, REBUILT),
    MethodEntry("rfdnet", "methods.baselines.rfdnet:RFDNet",
                "RFD-Net (Jiang et al. 2022), rebuilt: recursive shared-weight up/down back-projection, fused steps", True, REBUILT),
    MethodEntry("sfsrnet", "methods.baselines.sfsrnet:SFSRNet",
                "SFSRNet SR net (Rixen & Renz 2022): 2-D CNN adds upper-band STFT magnitudes, input phase kept", True, REBUILT),
    MethodEntry("aero", "methods.baselines.aero:AERO",
                "AERO (Mandel et al. 2023): complex-as-channels STFT encoder-decoder, MR-STFT + MelGAN MSD GAN", True, PUBLISHED),
    MethodEntry("apbwe", "methods.baselines.apbwe:APBWE",
                "AP-BWE (Lu et al. 2024): parallel ConvNeXt amplitude/phase streams on the STFT, MPD + MRAD + MRPD GAN",
                True, PUBLISHED),
]}


def _extra_class(item: str, target: str) -> type:
    """The class a BENCH_EXTRA_METHODS entry names, checked to be a Method (SpecError naming the entry if not)."""
    from methods.api import Method

    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure to import the user's module is that entry's error
        raise SpecError(f"BENCH_EXTRA_METHODS entry {item!r}: cannot import {module_name!r} ({type(exc).__name__}: "
                        f"{exc}): make the module importable here and on every worker (e.g. through PYTHONPATH)") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        found = "nothing" if cls is None else f"a {type(cls).__name__}"
        raise SpecError(f"BENCH_EXTRA_METHODS entry {item!r}: {target} is {found}, not a method class: it must name "
                        "a subclass of methods.api.Method (see CONTRIBUTING.md)")
    return cls


def _extra_entries(value: str) -> list[MethodEntry]:
    """Entries from BENCH_EXTRA_METHODS; their class is imported to read its docstring and flag."""
    entries = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, target = item.partition("=")
        if not sep or not name.strip() or target.count(":") != 1:
            raise SpecError(f"BENCH_EXTRA_METHODS entry {item!r} is malformed: write name=package.module:Class")
        cls = _extra_class(item, target)
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else target
        entries.append(MethodEntry(name.strip(), target, summary, bool(cls.trainable), EXTERNAL))
    return entries


_extras_loaded = False


def _load_extras() -> None:
    """Add the BENCH_EXTRA_METHODS entries to REGISTRY, once, on first use rather than at import: a bad
    entry is then a SpecError inside the command (exit 2 with its message), not an import-time crash."""
    global _extras_loaded
    if not _extras_loaded:
        _extras_loaded = True
        REGISTRY.update({e.name: e for e in _extra_entries(os.environ.get("BENCH_EXTRA_METHODS", ""))})


class UnknownMethodError(SpecError):
    pass


def method_names() -> list[str]:
    _load_extras()
    return list(REGISTRY)


def get_entry(name: str) -> MethodEntry:
    _load_extras()
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownMethodError(
            f"unknown method {name!r}; registered methods: {', '.join(REGISTRY)} "
            "(see `python -m bench list methods`)"
        ) from None


def method_module(name: str) -> str:
    """The dotted module that defines method `name` (its code hash covers that module's import closure)."""
    return get_entry(name).target.split(":")[0]


def load_method_class(name: str) -> type:
    module_name, class_name = get_entry(name).target.split(":")
    return getattr(importlib.import_module(module_name), class_name)
