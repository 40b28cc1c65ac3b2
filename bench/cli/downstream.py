"""`python -m bench downstream`: recognition on a labelled corpus: does SR help a classifier?"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.cli import options
from bench.core.spec import SpecError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("downstream", help="recognition on a labelled corpus: does SR help a classifier?")
    p.add_argument("--dataset", default="synth-ship", help="a labelled corpus (default synth-ship; or shipsear)")
    options.add_cell_run(p)
    p.set_defaults(main=main)


def main(args: argparse.Namespace) -> int:
    from bench.core.store import Store
    from bench.downstream.cells import (check_labelled, downstream_dir, plan_downstream, read_downstream,
                                        run_downstream)
    from bench.executors.preview import dry_run
    from bench.downstream.page import write_page
    from bench.executors.session import check_folders, execute, interruptible, plan_run, resolve_device
    from bench.report.pages import build_leaderboard

    args.datasets, args.lowpass, args.train_lowpass = args.dataset, "cheby1", None  # one corpus, the default filter
    store = Store(args.results) if args.dry_run else check_folders(args)  # unwritable folders: an error up front
    specs = plan_run(args, check_files=not args.dry_run)
    if len({s.dataset for s in specs}) != 1:
        raise SpecError(f"--dataset names one labelled corpus, got {args.dataset!r}")
    check_labelled(specs[0].dataset)  # before any SR cell is trained for it
    if len({s.seed for s in specs}) > 1:
        raise SpecError("downstream pages compare one seed of each condition: pass --seed N, not --seeds")
    t0 = time.perf_counter()
    down = plan_downstream(specs, args.profile, specs[0].seed)
    if args.dry_run:
        done = sum(read_downstream(store, d.key) is not None for d in down)
        print(f"then {len(down)} downstream classifier cells ({done} finished before), one at a time in this process")
        return dry_run(args, specs, store)
    record_files = ([store.record_path(s.key) for s in specs]
                    + [downstream_dir(store, d.key) / "record.json" for d in down])
    with interruptible(record_files, store.root):
        sr_records = execute(args, specs, store)  # reuses finished SR cells; trains only the missing ones
        records = run_downstream(down, store, args.retry_failed, num_threads=args.num_cpus or os.cpu_count() or 1,
                                 device=resolve_device(args.device), say=lambda m: print(m, file=sys.stderr))
        page = write_page(specs[0].dataset, down, {r["key"]: r for r in records}, Path(args.leaderboard),
                          args.command_line)
        build_leaderboard(store, args.leaderboard, lsd=args.lsd)
    bad = [r for r in [*sr_records, *records] if r["status"] != "ok"]
    print(f"done in {time.perf_counter() - t0:.1f} s: {len(bad)} cells not ok; page {page.resolve()}", file=sys.stderr)
    return 1 if bad else 0
