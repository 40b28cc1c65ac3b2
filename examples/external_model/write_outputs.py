"""Run a model over an export's manifest and write its outputs where `bench score --outputs` reads them:

    python examples/external_model/write_outputs.py EXPORT/<dataset>/<protocol>/manifest.csv CHECKPOINT

writes EXPORT/<dataset>/<protocol>/sr/<id>.wav at the target rate (32-bit float, nothing clipped).
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tiny_sr import make


def main(manifest: Path, checkpoint: str) -> None:
    enhance = make(checkpoint)
    out = manifest.parent / "sr"
    out.mkdir(exist_ok=True)
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh):
            lr, low_sr = sf.read(manifest.parent / row["lr_path"], dtype="float32")
            sr = enhance(lr, low_sr, int(row["target_sr"]))
            sf.write(out / f"{row['id']}.wav", np.asarray(sr, np.float32), int(row["target_sr"]), subtype="FLOAT")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
