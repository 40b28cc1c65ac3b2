"""Embedded synthetic corpora standing in for VCTK speech, piano recordings and ShipsEar.

Every item is a pure function of ``(kind, seed, seconds, sr, label)``. All randomness comes from
one ``np.random.default_rng([seed, kind index, class index])`` (separate streams per kind and ship
class, so equal seeds never give correlated items across classes), never from global state, and no
BLAS call (whose sums depend on its thread count) is on the path: the bytes are the same on every
call with the same numpy/scipy on the same machine. Output is a float32 ``(round(seconds * sr),)``
array peak-normalised to ``max|x| = 0.9``. Each model is wide-band: at 48 kHz every kind carries
well over 1e-4 of its power above 12 kHz, which is what an audio super-resolution benchmark needs
to have something to reconstruct. Frequencies are drawn in Hz and component levels are defined over
0 .. max(24 kHz, Nyquist), so at a lower ``sr`` whatever lies above Nyquist (tonals and partials:
above 0.95 Nyquist) is dropped, not folded in or renormalised.

Modules
-------
Each generator module's docstring details its model and parameter ranges.

``speech``
    Source-filter speech in the STFT domain: a syllable plan, a jittered Rosenberg glottal source
    with aspiration, a gliding five-formant filter bank, and shaped-noise fricatives /s/ /sh/ /f/.
``piano``
    Single notes and chords of inharmonic, frequency-dependently damped partials with a hammer
    transient; ``piano_note`` exposes the note synthesiser.
``ship``
    Underwater recordings of the ShipsEar-like classes A-E (``SHIP_CLASSES``): propeller
    cavitation, blade-rate and machinery tonals, a class-specific HF cavitation hump and HF lines,
    sea-state ambient and snapping-shrimp clicks; class E is natural ambient without a vessel.
``common``
    What the generators share: peak normalisation, the white floor, the reference band grid,
    log-Gaussian and high-pass magnitude shapes.

Speech and piano get a white floor 70 dB below the item's RMS, so that pauses and the time before
the first onset are never exact digital silence (log-spectral metrics would degenerate there).
"""
from __future__ import annotations

import math
import operator

import numpy as np

from bench.data.synthetic import piano, ship, speech
from bench.data.synthetic.common import PEAK, peak_normalise
from bench.data.synthetic.ship import SHIP_CLASS_NAMES, SHIP_CLASSES

__all__ = ["PEAK", "SHIP_CLASSES", "SHIP_CLASS_NAMES", "SYNTH_KINDS", "generate", "piano_note"]

SYNTH_KINDS: tuple[str, ...] = ("speech", "piano", "ship")
_MIN_SR = 8000
_MIN_GEN_SECONDS = 0.25  # shorter requests are generated at this length and cropped


def generate(kind: str, seed: int, seconds: float, sr: int = 48000,
             label: str | None = None) -> np.ndarray:
    """One synthetic item: float32 array of shape ``(round(seconds * sr),)``, ``max|x| = 0.9``.

    Deterministic: the same arguments give the same bytes on every call. ``label`` is the ShipsEar
    class for ``kind == "ship"`` (one of ``SHIP_CLASSES``) and must be None for the other kinds.
    """
    if kind not in SYNTH_KINDS:
        raise ValueError(f"unknown synthetic kind {kind!r}; valid kinds: {', '.join(SYNTH_KINDS)}")
    if kind == "ship":
        if label not in SHIP_CLASSES:
            raise ValueError(f"ship items need label= one of {', '.join(SHIP_CLASSES)} "
                             f"(ShipsEar classes), got {label!r}")
    elif label is not None:
        raise ValueError(f"label is only used for kind 'ship'; got label={label!r} for {kind!r}")
    seed = operator.index(seed)
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    sr = operator.index(sr)
    if sr < _MIN_SR:
        raise ValueError(f"sr must be an integer >= {_MIN_SR} Hz (the models span speech formants "
                         f"and ship tonals), got {sr}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be a positive finite number, got {seconds!r}")
    n = int(round(seconds * sr))
    if n < 1:
        raise ValueError(f"seconds={seconds} at sr={sr} gives no samples")

    class_index = SHIP_CLASSES.index(label) if kind == "ship" else 0
    rng = np.random.default_rng([seed, SYNTH_KINDS.index(kind), class_index])
    # The models need a few STFT frames / events to be meaningful: very short items are cropped.
    n_gen = max(n, int(round(_MIN_GEN_SECONDS * sr)))
    if kind == "speech":
        x = speech.render(rng, n_gen, sr)
    elif kind == "piano":
        x = piano.render(rng, n_gen, sr)
    else:
        x = ship.render(rng, n_gen, sr, label)
    return peak_normalise(x[:n])


def piano_note(midi: float, seed: int, seconds: float, sr: int = 48000,
               velocity: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """A single held piano note (the piano model's note synthesiser, exposed for inspection).

    Returns ``(audio, partials)``: float32 audio of shape ``(round(seconds * sr),)`` peak-normalised
    to 0.9, and the partial frequencies in Hz, shape ``(P,)``, that the note was built from.
    """
    # Last stream index 1: generate("piano", ...) uses 0, so the two never share draws.
    rng = np.random.default_rng([operator.index(seed), SYNTH_KINDS.index("piano"), 1])
    n = int(round(seconds * sr))
    note, partials = piano.render_note(rng, midi, velocity, hold=seconds, max_len=n, sr=sr)
    return peak_normalise(note), partials

