"""`python -m bench COMMAND`: one small module per command, argument parsing only.

    run          plan cells, reuse finished ones, run the rest, rebuild the leaderboard   (run.py)
    downstream   recognition on a labelled corpus: does SR help a classifier?             (downstream.py)
    download     fetch a public real corpus (resumable, SHA-256 checked) and unpack it    (download.py)
    prepare      check real corpora and cache their pairs                                 (prepare.py)
    leaderboard  rebuild leaderboard/ from results/ alone                                 (leaderboard.py)
    enhance      super-resolve your own audio file with a finished cell                   (enhance.py)
    export       the LR test inputs and a manifest, for a model outside this suite        (export.py)
    score        score such a model's outputs (or a callable) into a leaderboard row      (score.py)
    list         registered methods or datasets                                           (listing.py)
    status       the SLURM jobs of earlier runs                                           (slurm_jobs.py)
    cancel       scancel those jobs                                                       (slurm_jobs.py)

A user error (bench.core.spec.SpecError: unknown name, impossible value, unusable file, unwritable
results folder) prints one line and exits 2; anything else is a bug and keeps its traceback.
Command modules import the library inside `main`, so parsing a command line (and --help) never
imports torch, Ray or submitit.
"""
from __future__ import annotations

import argparse
import shlex
import sys

from bench.cli import download, downstream, enhance, export, leaderboard, listing, prepare, run, score, slurm_jobs
from bench.core.spec import SpecError

COMMAND_MODULES = (run, downstream, download, prepare, leaderboard, enhance, export, score, listing, slurm_jobs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Audio super-resolution benchmark suite")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["python", "-m", "bench", *argv])  # kept in each record it plans
    try:
        return args.main(args)
    except SpecError as exc:  # also bench.core.store.StoreWriteError: results folder not writable, found up front
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before any cell ran (while planning); once cells run, the session says more
        print("interrupted before any cell ran; files already written are whole (every write is atomic)", file=sys.stderr)
        return 130
    except OSError as exc:  # the results folder filled up or turned read-only mid-run
        from bench.core.store import WRITE_ERRNOS, describe_write_error

        if exc.errno not in WRITE_ERRNOS:
            raise
        print(f"error: {describe_write_error(exc, getattr(args, 'results', '?'))}", file=sys.stderr)
        return 2
