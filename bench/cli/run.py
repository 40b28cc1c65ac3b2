"""`python -m bench run`: train and evaluate cells, then rebuild the leaderboard."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bench.cli import options
from bench.core.spec import LOWPASS_KINDS


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="train and evaluate cells, then rebuild the leaderboard")
    options.add_cell_run(p)
    p.add_argument("--datasets", default="synth-speech", help="comma list of datasets, or 'all' (default synth-speech)")
    p.add_argument("--lowpass", default="cheby1",
                   help=f"anti-alias filter(s) of the test pairs, comma list or 'all' ({', '.join(LOWPASS_KINDS)}; "
                        "default cheby1)")
    p.add_argument("--train-lowpass", default=None, choices=LOWPASS_KINDS,
                   help="train learned methods with this filter and test them with each --lowpass one "
                        "(filter-robustness table on the dataset page)")
    p.add_argument("--eval-repeats", type=int, default=None, metavar="K",
                   help="stochastic methods (diffusion): enhance the test set K times with different sampling "
                        "noise, pages show mean ± std over the K passes (default 1 in smoke/quick, 5 in paper)")
    p.set_defaults(main=main)


def main(args: argparse.Namespace) -> int:
    from bench.executors.session import check_folders, execute, interruptible, plan_run, report_unfinished
    from bench.report.pages import build_leaderboard

    if args.dry_run:
        from bench.core.store import Store
        from bench.executors.preview import dry_run

        return dry_run(args, plan_run(args, check_files=False), Store(args.results))
    store = check_folders(args)  # a clear error before any work when a folder cannot be written
    specs = plan_run(args)
    t0 = time.perf_counter()
    with interruptible([store.record_path(s.key) for s in specs], store.root):
        records = execute(args, specs, store)
        build_leaderboard(store, args.leaderboard, lsd=args.lsd)
    bad = [r for r in records if r["status"] != "ok"]
    print(f"done in {time.perf_counter() - t0:.1f} s: {len(records) - len(bad)} ok, {len(bad)} not ok; "
          f"results in {store.root}, leaderboard in {Path(args.leaderboard).resolve()}", file=sys.stderr)
    return 1 if report_unfinished(records) else 0
