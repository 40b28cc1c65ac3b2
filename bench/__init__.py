"""audio-sr-bench: the harness (`python -m bench`)."""
__version__ = "0.1.0"
