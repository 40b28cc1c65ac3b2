"""TFDFE-ASR (Time-Frequency Domain Fusion Enhancement for Audio Super-Resolution), the seed paper's model.

swsrm.py  SWSRM, the framed waveform VAE (Eqs. 1-3)
ssrm.py   SSRM, the log-spectrogram dual-regression U-Net (Eqs. 4-5)
tfdfm.py  TFDFM, the attentive-pyramid fusion and Eq. 14's closed form (Eqs. 7-14)
model.py  the four registry rows (tfdfe, tfdfe-tanh, tfdfe-swsrm, tfdfe-ssrm) and their profiles
README.md every reading of the paper, with its equation or section number, and the measurements
"""
