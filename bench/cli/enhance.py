"""`python -m bench enhance`: super-resolve your own audio file with a finished cell."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.cli import options


def add_parser(sub: Any) -> None:
    p = sub.add_parser("enhance", help="super-resolve your own audio file with a finished cell")
    p.add_argument("--input", required=True,
                   help="audio file to enhance: any rate, any format libsndfile reads (wav, flac, ogg, aiff, ...)")
    p.add_argument("--output", required=True,
                   help="where to write the result at the cell's target rate; the extension picks the format "
                        "(.wav: 32-bit float, .flac: 16-bit, any other libsndfile format)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --output when it exists (never the input file itself)")
    p.add_argument("--cell", default=None, help="cell key (see results/results.csv)")
    p.add_argument("--method", default=None, help="with --dataset and --scale: pick the finished cell")
    p.add_argument("--dataset", default=None)
    p.add_argument("--scale", type=int, default=None)
    options.add_profile(p, default=None, text="narrow --method/--dataset/--scale")
    options.add_results(p)
    options.add_device(p)
    p.set_defaults(main=main)


def main(args: argparse.Namespace) -> int:
    from bench.core.store import Store
    from bench.executors.session import resolve_device
    from bench.run.apply_cell import apply_to_file, find_cell

    store = Store(args.results)
    record = find_cell(store, args.cell, args.method, args.dataset, args.scale, args.profile)
    done = apply_to_file(store, record, Path(args.input), Path(args.output), resolve_device(args.device),
                        overwrite=args.overwrite)
    resampled = f" (input at {done['in_sr'] / 1000:g} kHz)" if done["in_sr"] != done["low_sr"] else ""
    print(f"enhanced {args.input}: {done['low_sr'] / 1000:g} kHz -> {done['out_sr'] / 1000:g} kHz{resampled} with "
          f"{done['method']} (cell {done['cell']}), {done['seconds']:.1f} s, RTF {done['rtf']:.3f}; wrote {args.output}")
    return 0
