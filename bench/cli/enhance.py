"""`python -m bench enhance`: super-resolve your own audio file with a finished cell."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.cli import options


def add_parser(sub: Any) -> None:
    p = sub.add_parser("enhance", help="super-resolve your own audio file with a finished cell")
    p.add_argument("--input", required=True, help="audio file to enhance (any rate/format soundfile reads)")
    p.add_argument("--output", required=True, help="where to write the result (.wav or .flac), at the cell's target rate")
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
    print(f"wrote {args.output}: {done['seconds']:.2f} s at {done['out_sr']} Hz "
          f"({done['method']}, cell {done['cell']}, input {done['in_sr']} Hz -> {done['low_sr']} Hz)")
    return 0
