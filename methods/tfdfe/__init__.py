"""TFDFE-ASR (Time-Frequency Domain Fusion Enhancement for Audio Super-Resolution), the seed paper's model.

swsrm.py  SWSRM, the VAE over the LR frames' frequency vectors, von Mises phase (section 3.1, Eqs. 1-3)
ssrm.py   SSRM, the log-spectrogram dual-regression U-Net (section 3.2, Eqs. 4-5)
tfdfm.py  TFDFM, the attentive-pyramid fusion (section 3.3, Eqs. 6-13) and Eq. 14's closed form
model.py  the four registry rows (tfdfe, tfdfe-tanh, tfdfe-swsrm, tfdfe-ssrm)
config.py the profiles; `paper` follows section 4.2, and its docstring names what the paper leaves open
README.md every reading of the paper, with its section and equation, and the measurements
"""
