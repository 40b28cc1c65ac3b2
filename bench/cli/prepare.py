"""`python -m bench prepare`: check real corpora and cache their LR/HR pairs before any run."""
from __future__ import annotations

import argparse
from typing import Any

from bench.cli import options


def add_parser(sub: Any) -> None:
    p = sub.add_parser("prepare", help="check real corpora and cache their LR/HR pairs before any run")
    p.add_argument("--datasets", required=True, help="comma list of datasets (folder:PATH too), or 'all' present")
    options.add_scales(p)
    options.add_target_sr(p)
    p.add_argument("--lowpass", default="cheby1", help="comma list of anti-alias filters, or 'all' (default cheby1)")
    options.add_profile(p, text="how many items to cache")
    options.add_results(p, "results folder; the cache is <results>/.cache")
    options.add_data(p)
    p.set_defaults(main=main)


def main(args: argparse.Namespace) -> int:
    from bench.run.prepare import prepare

    return prepare(args)
