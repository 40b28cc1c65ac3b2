"""Signals: audio I/O and resampling (audio.py), the degradation that makes LR inputs and the
upsamplers (degrade.py)."""
