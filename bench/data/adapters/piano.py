"""Piano: a folder of Beethoven piano sonata recordings (the SampleRNN set), cut into 12 s segments.

Give it the full recordings (one file per sonata or movement, any format soundfile reads, at any
rate of at least the protocol's target rate), not SampleRNN's pre-cut 8 s chunks: those overlap by
7 s, so a random chunk split puts the same audio in train and test. Here the split is made by
source file first (a seeded permutation of the sorted relative paths, cut 88 / 6 / 6 % as in
SampleRNN and the seed paper, at least one file per split), then every file is cut into
non-overlapping `segment_seconds` (12 s) segments; a tail shorter than a segment is dropped. No
audio is ever shared across splits.
"""
from __future__ import annotations

from pathlib import Path

from bench.data.cards import DatasetCard
from bench.data.sources import Scan, scan_by_file

DEFAULT_FRACTIONS = {"train": 0.88, "valid": 0.06, "test": 0.06}


def scan(card: DatasetCard, root: Path) -> Scan:
    return scan_by_file(card, root, DEFAULT_FRACTIONS, "piano recordings, split by source file")
