"""`python -m bench status` and `python -m bench cancel`: the SLURM jobs of earlier `run --executor slurm`."""
from __future__ import annotations

import argparse
from typing import Any

from bench.cli import options


def add_parser(sub: Any) -> None:
    for name, text, main in (
            ("status", "list the SLURM jobs of earlier `run --executor slurm` and their cells' states", status),
            ("cancel", "scancel the SLURM jobs of earlier runs; their unfinished cells become `cancelled`", cancel)):
        p = sub.add_parser(name, help=text)
        options.add_results(p)
        p.add_argument("--run", default=None, help="one run id (a folder under results/.slurm/); default: every run")
        p.set_defaults(main=main)


def status(args: argparse.Namespace) -> int:
    from bench.executors.slurm.status import show_status

    return show_status(args.results, args.run)


def cancel(args: argparse.Namespace) -> int:
    from bench.executors.slurm.status import cancel_jobs

    return cancel_jobs(args.results, args.run)
