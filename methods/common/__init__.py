"""Building blocks several methods share: GAN and diffusion bases (gan.py, diffusion.py) and the
multi-resolution STFT losses (losses.py)."""
