"""The method registry: name -> "module:Class", with the one-liners `bench list methods` shows.

Lazy on purpose: listing methods or validating a command line never imports a model module.
Adding a method is one module under methods/ plus one row here. Methods kept outside this repository
can be added without editing it: BENCH_EXTRA_METHODS="name=package.module:Class,..." (the module must
be importable by every worker, e.g. through PYTHONPATH).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import os
from dataclasses import dataclass
from pathlib import Path

from bench.spec import SpecError, source_hash


@dataclass(frozen=True)
class MethodEntry:
    name: str
    target: str  # "package.module:Class"
    summary: str
    trainable: bool


REGISTRY: dict[str, MethodEntry] = {e.name: e for e in [
    MethodEntry("spline", "methods.baselines.interp:Spline",
                "cubic-spline interpolation of the LR signal (the unprocessed input of the seed paper)", False),
    MethodEntry("sinc", "methods.baselines.interp:Sinc",
                "windowed-sinc (polyphase Kaiser) interpolation", False),
    MethodEntry("linear", "methods.baselines.interp:Linear",
                "linear interpolation", False),
    MethodEntry("noisefill", "methods.baselines.dsp:NoiseFill",
                "spline input plus low-level white noise high-passed into the empty band", False),
    MethodEntry("sbr", "methods.baselines.dsp:SpectralBandReplication",
                "HE-AAC-style spectral band replication: upper LR band copied up under a decaying envelope", False),
    MethodEntry("audiounet", "methods.baselines.audiounet:AudioUNet",
                "AudioUNet (Kuleshov et al. 2017): 1-D U-Net, subpixel upsampling, additive skip from spline", True),
    MethodEntry("tfilm", "methods.baselines.tfilm:TFiLMNet",
                "TFiLM (Birnbaum et al. 2019): AudioUNet with temporal FiLM (block max-pool, LSTM, scale/shift)", True),
    MethodEntry("nuwave", "methods.baselines.nuwave:NuWave",
                "NU-Wave (Lee & Han 2021): conditional waveform diffusion, DiffWave-style residual stack "
                "(quick, not published: diffuses 30 x (HR - LR) and keeps the LR band in every step)", True),
    MethodEntry("nuwave2", "methods.baselines.nuwave2:NuWave2",
                "NU-Wave 2 (Han & Lee 2022): diffusion with STFC + bandwidth-conditioned BSFT, any input rate "
                "(quick, not published: residual diffusion with the LR band kept, as NU-Wave)", True),
    MethodEntry("tfdfe", "methods.tfdfe.model:TFDFE",
                "TFDFE-ASR (seed paper): waveform VAE + spectrogram U-Net fused by windowed attention", True),
    MethodEntry("tfdfe-tanh", "methods.tfdfe.model:TFDFETanh",
                "TFDFE-ASR with the closed-form Eq. 14 tanh fusion of the two modules", True),
    MethodEntry("tfdfe-swsrm", "methods.tfdfe.model:TFDFESWSRM",
                "TFDFE-ASR ablation: the sound-wave VAE module (SWSRM) alone", True),
    MethodEntry("tfdfe-ssrm", "methods.tfdfe.model:TFDFESSRM",
                "TFDFE-ASR ablation: the spectrogram dual-regression U-Net (SSRM) alone", True),
    MethodEntry("rfdnet", "methods.baselines.rfdnet:RFDNet",
                "RFD-Net (Jiang et al. 2022), rebuilt: recursive shared-weight up/down back-projection, fused steps", True),
    MethodEntry("sfsrnet", "methods.baselines.sfsrnet:SFSRNet",
                "SFSRNet SR net (Rixen & Renz 2022): 2-D CNN adds upper-band STFT magnitudes, input phase kept", True),
    MethodEntry("aero", "methods.baselines.aero:AERO",
                "AERO (Mandel et al. 2023): complex-as-channels STFT encoder-decoder, MR-STFT + MelGAN MSD GAN", True),
    MethodEntry("apbwe", "methods.baselines.apbwe:APBWE",
                "AP-BWE (Lu et al. 2024): parallel ConvNeXt amplitude/phase streams on the STFT, MPD + MRAD + MRPD GAN",
                True),
]}


def _extra_entries(value: str) -> list[MethodEntry]:
    """Entries from BENCH_EXTRA_METHODS; their class is imported to read its docstring and flag."""
    entries = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, target = item.partition("=")
        if not sep or ":" not in target:
            raise SpecError(f"BENCH_EXTRA_METHODS entry {item!r} is malformed: write name=package.module:Class")
        module_name, class_name = target.split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else target
        entries.append(MethodEntry(name, target, summary, bool(cls.trainable)))
    return entries


REGISTRY.update({e.name: e for e in _extra_entries(os.environ.get("BENCH_EXTRA_METHODS", ""))})

_PACKAGE_ROOT = Path(__file__).resolve().parent


class UnknownMethodError(SpecError):
    pass


def method_names() -> list[str]:
    return list(REGISTRY)


def get_entry(name: str) -> MethodEntry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownMethodError(
            f"unknown method {name!r}; registered methods: {', '.join(REGISTRY)} "
            "(see `python -m bench list methods`)"
        ) from None


def load_method_class(name: str) -> type:
    module_name, class_name = get_entry(name).target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def _local_imports(path: Path) -> set[Path]:
    """Files of this package that the module at `path` imports (absolute `methods.x` or relative)."""
    package = path.parent.relative_to(_PACKAGE_ROOT.parent).parts  # e.g. ("methods", "baselines")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            names = [[*base, *(node.module or "").split(".")]] if node.module else [[*base, a.name] for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names]
        else:
            continue
        for parts in names:
            parts = [p for p in parts if p]
            if parts[:1] != ["methods"]:
                continue
            target = _PACKAGE_ROOT.parent.joinpath(*parts)
            for candidate in (target.with_suffix(".py"), target / "__init__.py"):
                if candidate.is_file():
                    found.add(candidate.resolve())
    return found


def method_source_files(cls: type) -> list[Path]:
    """The files whose edit must invalidate a cell: the method's module, every module of this package
    it imports, transitively (shared GAN, diffusion or U-Net code, a method's own sub-modules), and the
    shared base. Found by reading the imports (ast), so nothing is imported to compute a key."""
    todo, seen = [Path(inspect.getfile(cls)).resolve()], set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += _local_imports(path) - seen
    seen.discard((_PACKAGE_ROOT / "__init__.py").resolve())  # the registry: listing a new method is no edit of this one
    return sorted(seen | {(_PACKAGE_ROOT / "base.py").resolve()})


def method_code_hash(cls: type) -> str:
    return source_hash(method_source_files(cls))
